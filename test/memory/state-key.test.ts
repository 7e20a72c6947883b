import { describe, expect, it } from 'vitest';
import type { IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import type { EngineStateKey } from '../../src/adapters/engine.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import type { Statement } from '../../src/model/statement.ts';
import { bank, commit, insert, seed, select, update } from './fixture.ts';
import { parentChildSchema } from '../../properties/foreign-key-programs.ts';

/*
 * The engine's name for a run's state between steps (`MemoryEngine.stateKey`,
 * `state-key.ts`), which exhaustive search caches: equal exactly where no
 * continuation can tell the two runs apart.
 */

const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });

/** The engine's state key after running `steps` from the seed. */
function engineAfter(steps: readonly (readonly [TxId, Statement])[], isolation: IsolationLevel = 'read-committed'): EngineStateKey | null {
  const engine = new MemoryEngine(bank);
  engine.reset(seed(), isolation);
  for (const [tx, statement] of steps) engine.step(tx, statement);
  return engine.stateKey();
}

/** The name alone. */
function keyAfter(steps: readonly (readonly [TxId, Statement])[], isolation: IsolationLevel = 'read-committed'): string | null {
  return engineAfter(steps, isolation)?.key ?? null;
}

describe('the engine state key', () => {
  it('names transactions in the order it meets them, and says which workload transaction each name is', () => {
    // Two transactions swapped: the same name, the transactions listed the other way round.
    const a = engineAfter([[1, forUpdate], [2, forUpdate], [3, select('accounts', { id: 2 })]]);
    const b = engineAfter([[2, forUpdate], [1, forUpdate], [3, select('accounts', { id: 2 })]]);
    expect(a?.key).toBe(b?.key);
    expect(a?.txs).toEqual([1, 2, 3]);
    expect(b?.txs).toEqual([2, 1, 3]);
    expect(a?.key).toContain('x:T1 s: q:T2,');
  });

  it('names open transactions that hold nothing in the order of what they do, whatever their workload positions', () => {
    const a = engineAfter([[1, select('accounts', { id: 2 })], [2, forUpdate], [3, forUpdate]]);
    const b = engineAfter([[3, select('accounts', { id: 2 })], [1, forUpdate], [2, forUpdate]]);
    expect(a?.key).toBe(b?.key);
    expect(a?.txs).toEqual([2, 3, 1]);
    expect(b?.txs).toEqual([1, 2, 3]);
  });

  it('names transactions by workload position, not by the order their database transactions began', () => {
    // T1 locks account 1 while T2 reads account 2: either order leaves the same versions, locks and open transactions.
    const a = keyAfter([[1, forUpdate], [2, select('accounts', { id: 2 })]]);
    const b = keyAfter([[2, select('accounts', { id: 2 })], [1, forUpdate]]);
    expect(a).not.toBeNull();
    expect(a).toBe(b);
  });

  it('keeps the order in which transactions first locked a row (PostgreSQL orders the lockers of a row by transaction id)', () => {
    const a = keyAfter([[1, forUpdate], [2, update('accounts', { id: 2 }, { balance: 0 })]]);
    const b = keyAfter([[2, update('accounts', { id: 2 }, { balance: 0 })], [1, forUpdate]]);
    expect(a).toContain('T1 active - l:accounts.0, w: f0');
    expect(b).toContain('T1 active - l:accounts.0, w: f1');
  });

  it('forgets the order of two commits that no open snapshot tells apart', () => {
    const t1 = update('accounts', { id: 2 }, { balance: 0 });
    const t2 = update('accounts', { id: 3 }, { balance: 0 });
    const open: [TxId, Statement] = [3, forUpdate];
    expect(keyAfter([[1, t1], [2, t2], [1, commit], [2, commit], open])).toBe(keyAfter([[1, t1], [2, t2], [2, commit], [1, commit], open]));
  });

  it('keeps that order where a repeatable-read snapshot taken between the commits sees one and not the other', () => {
    const t1 = update('accounts', { id: 2 }, { balance: 0 });
    const t2 = update('accounts', { id: 3 }, { balance: 0 });
    const snapshot: [TxId, Statement] = [3, select('accounts', { id: 1 })];
    const a = keyAfter([[1, t1], [2, t2], [1, commit], snapshot, [2, commit]], 'repeatable-read');
    const b = keyAfter([[1, t1], [2, t2], [2, commit], snapshot, [1, commit]], 'repeatable-read');
    expect(a).not.toBeNull();
    expect(a).not.toBe(b);
  });

  it('keeps the order rows were stored in (the heap order PostgreSQL reads them in)', () => {
    const a = keyAfter([[1, insert('users', [{ id: 2, email: 'bo@example.com' }])], [2, insert('users', [{ id: 3, email: 'cy@example.com' }])], [1, commit], [2, commit]]);
    const b = keyAfter([[2, insert('users', [{ id: 3, email: 'cy@example.com' }])], [1, insert('users', [{ id: 2, email: 'bo@example.com' }])], [1, commit], [2, commit]]);
    expect(a).not.toBe(b);
  });

  it('tells apart the order two rows were updated in (their new versions\' line pointers, which a multi-row UPDATE meets them in)', () => {
    const a = keyAfter([[1, update('accounts', { id: 1 }, { balance: 0 })], [2, update('accounts', { id: 2 }, { balance: 0 })]]);
    const b = keyAfter([[2, update('accounts', { id: 2 }, { balance: 0 })], [1, update('accounts', { id: 1 }, { balance: 0 })]]);
    expect(a).toContain('heap accounts.0.0,accounts.1.0,accounts.2.0,accounts.0.1,accounts.1.1 roots accounts.0.0,accounts.0.1,accounts.1.0,accounts.1.1,accounts.2.0');
    expect(b).toContain('heap accounts.0.0,accounts.1.0,accounts.2.0,accounts.1.1,accounts.0.1 roots accounts.0.0,accounts.0.1,accounts.1.0,accounts.1.1,accounts.2.0');
  });

  it('tells a waiter that came after the holder replaced the row from one that came before: the holder\'s UPDATE and the wait do not commute', () => {
    // A FOR UPDATE that sleeps on a holder that had already updated the row walks the update chain holding its tuple lock (heap_lock_updated_tuple).
    const set = update('accounts', { id: 1 }, { balance: 2700 });
    const after = keyAfter([[1, forUpdate], [1, set], [2, forUpdate]]);
    const before = keyAfter([[1, forUpdate], [2, forUpdate], [1, set]]);
    expect(after).toContain('q:accounts.0.0 walks');
    expect(before).not.toContain('walks');
    expect(after).not.toBe(before);
  });

  it('is null under serializable (SSI bookkeeping outlives commits) and with a race resolver', () => {
    expect(keyAfter([[1, forUpdate]], 'serializable')).toBeNull();
    const engine = new MemoryEngine(bank, () => undefined);
    engine.reset(seed(), 'read-committed');
    expect(engine.stateKey()).toBeNull();
  });
  it('names a statement blocked in its foreign key check by the events it queued, how far they fired and the check waiting', () => {
    const engine = new MemoryEngine(parentChildSchema);
    engine.reset({ parents: [{ id: 1, k: 10, v: 100 }], children: [], notes: [] }, 'read-committed');
    engine.step(1, { kind: 'select', table: 'parents', where: { id: 1 }, lock: 'update' });
    expect(engine.step(2, { kind: 'insert', table: 'children', rows: [{ id: 3, parent: 1 }] })).toMatchObject([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(engine.stateKey()?.key).toContain(' fk:0!:[["check","children_parent_fkey",{"id":1}]] {{"kind":"select","table":"parents","where":{"id":1},"lock":"key-share"}');
  });
});
