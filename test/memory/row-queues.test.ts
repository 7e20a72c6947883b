import { describe, expect, it } from 'vitest';
import type { Event, TxId } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import type { Statement } from '../../src/model/statement.ts';
import { bank, blocked, commit, completed, remove, rollback, seed, select, update } from './fixture.ts';

/*
 * Which waiter gets a row lock when three to five transactions wait for one
 * row (issue #17). Every case below was run step by step on PostgreSQL 15
 * and 17 (20 runs each, one connection per transaction, each step settled
 * with pg_blocking_pids as lockstep's backend does; the tuple and
 * transaction locks read from pg_locks): where PostgreSQL always did the
 * same, the model does exactly that; where it did one thing or another
 * (the counts are in each test's name, 15 then 17), the model logs a race,
 * takes the first come by default, and a resolver picks the others.
 */

const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });
const forShare = select('accounts', { id: 1 }, { lock: 'share' });
const set = (balance: number) => update('accounts', { id: 1 }, { balance });
const removeRow = remove('accounts', { id: 1 });
const row = (balance: number) => [{ id: 1, balance }];

type Script = readonly (readonly [TxId, Statement, readonly Event[]])[];

/** Runs `script` step by step, checking each step's events; the resolver picks the `choices` in order, then first come. */
function run(script: Script, choices: readonly TxId[] = []): MemoryEngine {
  const engine = new MemoryEngine(bank, (ordinal) => choices[ordinal]);
  engine.reset(seed(), 'read-committed');
  script.forEach(([tx, statement, events], i) => {
    expect(engine.step(tx, statement), `step ${i + 1}: T${tx}`).toEqual(events);
  });
  return engine;
}

describe('row lock queues: the holder only locked the row, or rolled back: strictly in order', () => {
  it('three FOR UPDATE waiters behind FOR UPDATE, the holder commits (20/20 and 20/20)', () => {
    const engine = run([
      [1, forUpdate, [completed(1, row(3000))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, commit, [completed(1, []), completed(2, row(3000))]],
      [2, commit, [completed(2, []), completed(3, row(3000))]],
      [3, commit, [completed(3, []), completed(4, row(3000))]],
    ]);
    expect(engine.races).toEqual([]);
  });

  it('the same queue when the holder and each waiter roll back (20/20 and 20/20)', () => {
    const engine = run([
      [1, forUpdate, [completed(1, row(3000))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, rollback, [completed(1, []), completed(2, row(3000))]],
      [2, rollback, [completed(2, []), completed(3, row(3000))]],
      [3, rollback, [completed(3, []), completed(4, row(3000))]],
    ]);
    expect(engine.races).toEqual([]);
  });

  it('UPDATE, FOR SHARE, FOR UPDATE and DELETE waiters mixed (20/20 and 20/20)', () => {
    const engine = run([
      [1, forUpdate, [completed(1, row(3000))]],
      [2, set(1), [blocked(2, [1])]],
      [3, forShare, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [5, removeRow, [blocked(5, [2, 3, 4])]],
      [1, rollback, [completed(1, []), completed(2, row(1))]],
      [2, rollback, [completed(2, []), completed(3, row(3000))]],
      [3, commit, [completed(3, []), completed(4, row(3000))]],
      [4, commit, [completed(4, []), completed(5, row(3000))]],
    ]);
    expect(engine.races).toEqual([]);
  });

  it('FOR SHARE waiters side by side hold the tuple lock together and lock the row together; a FOR SHARE behind a FOR UPDATE waits its turn (20/20 and 20/20)', () => {
    const engine = run([
      [1, forUpdate, [completed(1, row(3000))]],
      [2, forShare, [blocked(2, [1])]],
      [3, forShare, [blocked(3, [1])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [5, forShare, [blocked(5, [4])]],
      [6, set(5), [blocked(6, [2, 3, 4, 5])]],
      [1, commit, [completed(1, []), completed(2, row(3000)), completed(3, row(3000))]],
      [2, commit, [completed(2, [])]],
      [3, commit, [completed(3, []), completed(4, row(3000))]],
      [4, commit, [completed(4, []), completed(5, row(3000))]],
      [5, commit, [completed(5, []), completed(6, row(5))]],
    ]);
    // No race for the row; the one logged is which of T2 and T3, woken together, goes on first (`settle`), which changes nothing here.
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
  });

  it('behind an UPDATE that rolls back, UPDATE waiters go in order (20/20 and 20/20)', () => {
    const engine = run([
      [1, set(7), [completed(1, row(7))]],
      [2, set(1), [blocked(2, [1])]],
      [3, set(2), [blocked(3, [2])]],
      [4, set(3), [blocked(4, [2, 3])]],
      [1, rollback, [completed(1, []), completed(2, row(1))]],
      [2, rollback, [completed(2, []), completed(3, row(2))]],
      [3, rollback, [completed(3, []), completed(4, row(3))]],
    ]);
    expect(engine.races).toEqual([]);
  });
});

describe('row lock queues: the holder replaced the row and committed', () => {
  it('FOR UPDATE waiters: the first follows the update chain holding the old version\'s tuple lock, so the others keep their order (20/20 and 20/20)', () => {
    const engine = run([
      [1, set(7), [completed(1, row(7))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, commit, [completed(1, []), completed(2, row(7))]],
      [2, commit, [completed(2, []), completed(3, row(7))]],
      [3, rollback, [completed(3, []), completed(4, row(7))]],
    ]);
    expect(engine.races).toEqual([]);
  });

  it('FOR UPDATE waiters that went to sleep while the holder had only locked the row do not walk the chain: they let go of the tuple lock and race (18/2 and 17/3, then 18/2 and 17/2)', () => {
    const script: Script = [
      [1, forUpdate, [completed(1, row(3000))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, set(7), [completed(1, row(7))]],
    ];
    const engine = run([...script, [1, commit, [completed(1, []), completed(2, row(7))]], [2, commit, [completed(2, []), completed(3, row(7))]]]);
    expect(engine.races).toEqual([
      { ordinal: 0, candidates: [2, 3, 4], chosen: 2 },
      { ordinal: 1, candidates: [3, 4], chosen: 3 },
    ]);
    run([...script, [1, commit, [completed(1, []), completed(3, row(7))]]], [3]);
    run([...script, [1, commit, [completed(1, []), completed(2, row(7))]], [2, commit, [completed(2, []), completed(4, row(7))]]], [2, 4]);
  });

  it('… while those that came after the update walk it: the first of them races with the one ahead, the one behind it keeps its place (20/20 and 20/20)', () => {
    const engine = run([
      [1, forUpdate, [completed(1, row(3000))]],
      [2, forUpdate, [blocked(2, [1])]],
      [1, set(7), [completed(1, row(7))]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, commit, [completed(1, []), completed(2, row(7))]],
      [2, commit, [completed(2, []), completed(3, row(7))]],
      [3, commit, [completed(3, []), completed(4, row(7))]],
    ]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
  });

  it('an UPDATE ahead of FOR UPDATE waiters that walk the chain: when its own update commits, their walk meets it and they race too (19/1 and 17/2)', () => {
    const script: Script = [
      [1, forUpdate, [completed(1, row(3000))]],
      [2, set(1), [blocked(2, [1])]],
      [1, set(7), [completed(1, row(7))]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
    ];
    const engine = run([...script, [1, commit, [completed(1, []), completed(2, row(1))]], [2, commit, [completed(2, []), completed(3, row(1))]]]);
    expect(engine.races).toEqual([
      { ordinal: 0, candidates: [2, 3], chosen: 2 },
      { ordinal: 1, candidates: [3, 4], chosen: 3 },
    ]);
    run([...script, [1, commit, [completed(1, []), completed(3, row(7))]]], [3]);
    run([...script, [1, commit, [completed(1, []), completed(2, row(1))]], [2, commit, [completed(2, []), completed(4, row(1))]]], [2, 4]);
  });

  /** T1 replaces the row; T2, T3, T4 queue to update it. */
  const updatesBehindAnUpdate: Script = [
    [1, set(7), [completed(1, row(7))]],
    [2, set(1), [blocked(2, [1])]],
    [3, set(2), [blocked(3, [2])]],
    [4, set(3), [blocked(4, [2, 3])]],
  ];

  it('UPDATE waiters all let go of the tuple lock and race to the new version: the first in line usually wins (19/20 and 20/20)', () => {
    const engine = run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(2, row(1))]]]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3, 4], chosen: 2 }]);
  });

  it('… or another (1/20 on 15)', () => {
    run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(3, row(2))]]], [3]);
  });

  it('the losers sleep on the winner without a tuple lock, and race again when it replaces the row and commits (12/8 and 11/9)', () => {
    run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(2, row(1))]], [2, commit, [completed(2, []), completed(3, row(2))]]]);
    run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(2, row(1))]], [2, commit, [completed(2, []), completed(4, row(3))]]], [2, 4]);
  });

  it('… and also when it rolls back, though that replaces nothing (7/12 and 9/10)', () => {
    const engine = run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(2, row(1))]], [2, rollback, [completed(2, []), completed(3, row(2))]]]);
    expect(engine.races).toEqual([
      { ordinal: 0, candidates: [2, 3, 4], chosen: 2 },
      { ordinal: 1, candidates: [3, 4], chosen: 3 },
    ]);
    run([...updatesBehindAnUpdate, [1, commit, [completed(1, []), completed(2, row(1))]], [2, rollback, [completed(2, []), completed(4, row(3))]]], [2, 4]);
  });

  /** T1 replaces the row; T2 (FOR UPDATE), T3 (UPDATE), T4 (FOR SHARE), T5 (UPDATE) queue for it. */
  const mixedBehindAnUpdate: Script = [
    [1, set(7), [completed(1, row(7))]],
    [2, forUpdate, [blocked(2, [1])]],
    [3, set(2), [blocked(3, [2])]],
    [4, forShare, [blocked(4, [2, 3])]],
    [5, set(4), [blocked(5, [2, 3, 4])]],
    // T2 walks the chain first and locks the new version; T3 lets go of the old version's tuple lock and queues at the new one; T4 walks the chain holding the old one's, T5 stays behind it.
    [1, commit, [completed(1, []), completed(2, row(7))]],
  ];

  it('mixed waiters: the FOR UPDATE waiter first in line gets the new version; when it ends, the UPDATE that moved to the new version and the FOR SHARE still holding the old one race (10/10 and 7/13)', () => {
    const engine = run([
      ...mixedBehindAnUpdate,
      [2, commit, [completed(2, []), completed(3, row(2))]],
      [3, commit, [completed(3, []), completed(4, row(2))]],
      [4, commit, [completed(4, []), completed(5, row(4))]],
    ]);
    // When T3 commits its update, T4's walk meets it (TM_Updated): T4 lets go of the old version's tuple lock and T5 follows; both race to the
    // newest version, T4 with a head start (it won in all 17 runs that got there).
    expect(engine.races).toEqual([
      { ordinal: 0, candidates: [3, 4], chosen: 3 },
      { ordinal: 1, candidates: [4, 5], chosen: 4 },
    ]);
    expect(run([...mixedBehindAnUpdate, [2, commit, [completed(2, []), completed(4, row(7))]]], [4]).isBlocked(3)).toBe(true);
  });

  it('a DELETE that let go of the tuple lock and a FOR SHARE walking the chain race for the new version (20/0 and 17/3)', () => {
    const script: Script = [
      [1, set(7), [completed(1, row(7))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, set(2), [blocked(3, [2])]],
      [4, removeRow, [blocked(4, [2, 3])]],
      [5, forShare, [blocked(5, [2, 3, 4])]],
      [1, rollback, [completed(1, []), completed(2, row(3000))]],
      [2, rollback, [completed(2, []), completed(3, row(2))]],
    ];
    const engine = run([...script, [3, commit, [completed(3, []), completed(4, row(2))]]]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [4, 5], chosen: 4 }]);
    run([...script, [3, commit, [completed(3, []), completed(5, row(2))]]], [5]);
  });
});

describe('row lock queues: a waiter that followed the update chain and one that came later race, also at a ROLLBACK', () => {
  /** T1 replaces the row and commits; T2 (FOR UPDATE) gets the new version, T3 waits behind it; T4 comes to the new version later. */
  const laterArrival: Script = [
    [1, set(7), [completed(1, row(7))]],
    [2, forUpdate, [blocked(2, [1])]],
    [3, forUpdate, [blocked(3, [2])]],
    [1, commit, [completed(1, []), completed(2, row(7))]],
    [4, forUpdate, [blocked(4, [2])]],
  ];

  it('FOR UPDATE: T3 walks the chain holding the old version\'s tuple lock, T4 holds the new one\'s; when T2 rolls back either gets the row (9/11 and 15/5)', () => {
    const engine = run([...laterArrival, [2, rollback, [completed(2, []), completed(3, row(7))]], [3, commit, [completed(3, []), completed(4, row(7))]]]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [3, 4], chosen: 3 }]);
    expect(run([...laterArrival, [2, rollback, [completed(2, []), completed(4, row(7))]]], [4]).isBlocked(3)).toBe(true);
  });

  it('… and when T2 commits having only locked it (12/8 and 15/5)', () => {
    run([...laterArrival, [2, commit, [completed(2, []), completed(3, row(7))]]]);
    run([...laterArrival, [2, commit, [completed(2, []), completed(4, row(7))]]], [4]);
  });

  it('UPDATE: T3 sleeps on T2 without a tuple lock, T4 holds the new version\'s; when T2 rolls back either gets the row (8/8 and 12/8)', () => {
    const script: Script = [
      [1, set(7), [completed(1, row(7))]],
      [2, set(1), [blocked(2, [1])]],
      [3, set(2), [blocked(3, [2])]],
      [1, commit, [completed(1, []), completed(2, row(1))]],
      [4, set(9), [blocked(4, [2])]],
    ];
    const engine = run([...script, [2, rollback, [completed(2, []), completed(3, row(2))]]]);
    expect(engine.races.at(-1)).toEqual({ ordinal: 1, candidates: [3, 4], chosen: 3 });
    run([...script, [2, rollback, [completed(2, []), completed(4, row(9))]]], [2, 4]);
    // When T2 commits its update instead, the row is replaced again and they race again (10/8 and 14/5).
    run([...script, [2, commit, [completed(2, []), completed(3, row(2))]]]);
    run([...script, [2, commit, [completed(2, []), completed(4, row(9))]]], [2, 4]);
  });

  it('five transactions: a waiter queued behind the one walking the chain, and one queued behind the later arrival, never take part (S11: 6+11/3 and 5+9/6)', () => {
    const script: Script = [
      [1, set(7), [completed(1, row(7))]],
      [2, forUpdate, [blocked(2, [1])]],
      [3, forUpdate, [blocked(3, [2])]],
      [4, forUpdate, [blocked(4, [2, 3])]],
      [1, commit, [completed(1, []), completed(2, row(7))]],
      [5, forUpdate, [blocked(5, [2])]],
      [6, forUpdate, [blocked(6, [5])]],
    ];
    const engine = run([...script, [2, rollback, [completed(2, []), completed(3, row(7))]], [3, rollback, [completed(3, []), completed(4, row(7))]]]);
    expect(engine.races).toEqual([
      { ordinal: 0, candidates: [3, 5], chosen: 3 },
      { ordinal: 1, candidates: [4, 5], chosen: 4 },
    ]);
    run([...script, [2, rollback, [completed(2, []), completed(3, row(7))]], [3, rollback, [completed(3, []), completed(5, row(7))]]], [3, 5]);
    expect(run([...script, [2, rollback, [completed(2, []), completed(5, row(7))]]], [5]).isBlocked(3)).toBe(true);
  });
});
