import { describe, expect, it } from 'vitest';
import { tryLock } from '../../src/adapters/memory/row-lock.ts';
import { fail } from '../../src/adapters/memory/failure.ts';
import { abort, canGoOn, commit, deadlockVictim, nextWoken, overtakes, releaseRow, waitFor } from '../../src/adapters/memory/wakeups.ts';
import type { Xact } from '../../src/adapters/memory/xact.ts';
import type { Run } from '../../src/adapters/memory/run.ts';
import type { RowChain } from '../../src/adapters/memory/mvcc.ts';
import { chainOf, open, runAt, writeVersion } from './run-fixture.ts';

/** `xact` queues for `chain`'s exclusive lock the way a locking statement does when it must wait (its tuple lock at the current version). */
function queueFor(chain: RowChain, xact: Xact): void {
  xact.wait = { kind: 'row', chain, mode: 'exclusive' };
  xact.queuedAt = chain.versions[chain.versions.length - 1];
  chain.queue.push(xact);
}

/** A pending statement, so that a woken transaction can go on. */
function pending(xact: Xact): void {
  xact.pending = { statement: { kind: 'select', table: 'accounts', where: {} }, snapshot: 0, candidates: [], next: 0, out: [] };
}

describe('memory engine: ends, wake-ups, races and deadlock victims', () => {
  it('a commit takes the next commit number, releases its row locks and wakes the first waiter, granting it the row', () => {
    const run = runAt('read-committed');
    const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
    const row = chainOf(run, 'accounts', 1);
    expect(tryLock(row, t1, 'exclusive')).toBe(true);
    queueFor(row, t2);
    queueFor(row, t3);
    commit(run, t1);
    expect(t1).toMatchObject({ status: 'committed', commitSeq: 1, locks: [] });
    expect(run.commitSeq).toBe(1);
    expect(row.exclusive).toBe(t2);
    expect(row.queue).toEqual([t3]);
    expect(run.woken).toEqual([t2]);
    expect(t2.grantedOnWake).toBe(row);
    // t3 now sleeps on t2, which it did not before: a new wait, checked for deadlock when the step settles.
    expect(run.rewaited).toEqual([t3]);
    expect(t3.waitSince).toBe(1);
  });

  it('an abort undoes its writes, leaves the queue it waited in, and wakes the transactions waiting for it to end', () => {
    const run = runAt('read-committed');
    const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
    const row = chainOf(run, 'accounts', 2);
    const other = chainOf(run, 'accounts', 3);
    tryLock(row, t1, 'exclusive');
    writeVersion(row, t1, { id: 2, balance: 0 });
    tryLock(other, t3, 'exclusive');
    queueFor(other, t1);
    expect(waitFor(t2, t1)).toBe('blocked');
    expect(t1.endWaiters).toEqual([t2]);
    abort(run, t1);
    expect(t1.status).toBe('aborted');
    expect(row.versions.map((v) => [v.data.balance, v.xmax])).toEqual([[500, null]]);
    expect(other.queue).toEqual([]);
    expect(t1.wait).toBeNull();
    expect(row.exclusive).toBeNull();
    expect(run.woken).toEqual([t2]);
    expect(t2.wait).toBeNull();
  });

  it('an aborted waiter for a transaction leaves that transaction’s waiters', () => {
    const run = runAt('read-committed');
    const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
    waitFor(t2, t1);
    waitFor(t3, t1);
    abort(run, t2);
    expect(t1.endWaiters).toEqual([t3]);
  });

  it('a failed statement aborts its transaction and is its result', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    pending(t1);
    fail(run, t1, { code: '22003', message: 'integer out of range' });
    expect(t1.pending).toBeNull();
    expect(t1.status).toBe('aborted');
    expect(run.events).toEqual([{ tx: 1, kind: 'completed', result: { error: { code: '22003', message: 'integer out of range' } } }]);
  });

  it('releasing a row with nobody queued wakes nobody', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    const row = chainOf(run, 'accounts', 1);
    tryLock(row, t1, 'share');
    releaseRow(run, row, t1);
    expect(row.shared).toEqual([]);
    expect(run.woken).toEqual([]);
    expect(run.rewaited).toEqual([]);
  });

  it('the deadlock victim is the member that has waited longest, unless every member began waiting during this step: then a race', () => {
    const run = runAt('read-committed', { resolveRace: () => 3 });
    const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
    t1.waitSince = 5;
    t2.waitSince = 2;
    t3.waitSince = 7;
    run.stepStart = 4;
    expect(deadlockVictim(run, [t1, t2, t3])).toBe(t2);
    expect(run.races).toEqual([]);
    run.stepStart = 1;
    expect(deadlockVictim(run, [t1, t2, t3])).toBe(t3);
    expect(run.races).toEqual([{ ordinal: 0, candidates: [2, 1, 3], chosen: 3, deadlock: { step: 0 } }]);
  });

  it('the next woken to go on: the first, unless several can go on and the resolver picks another, who jumps ahead of those before it', () => {
    const run = runAt('read-committed', { resolveRace: (ordinal) => (ordinal === 0 ? 3 : undefined) });
    const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
    run.woken.push(t1);
    expect(nextWoken(run)).toBe(t1);
    expect(run.races).toEqual([]);
    run.woken.push(t2, t3);
    // t1 has no statement to go on with: only t2 and t3 race.
    pending(t2);
    pending(t3);
    expect(canGoOn(t1)).toBe(false);
    expect(canGoOn(t2)).toBe(true);
    expect(nextWoken(run)).toBe(t3);
    expect(run.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 3 }]);
    expect(run.jumpedAhead).toEqual([t2]);
    expect(nextWoken(run)).toBe(t2);
    expect(run.jumpedAhead).toEqual([]);
  });

  it('a transaction overtakes a woken waiter at the row granted to it only if it wins the race; the waiter queues again first', () => {
    const setUp = (resolveRace?: (ordinal: number, candidates: readonly number[]) => number | undefined): [Run, Xact, Xact, RowChain] => {
      const run = runAt('read-committed', { resolveRace });
      const [t1, t2, t3] = [open(run, 1), open(run, 2), open(run, 3)];
      const row = chainOf(run, 'accounts', 1);
      tryLock(row, t1, 'exclusive');
      queueFor(row, t2);
      commit(run, t1);
      return [run, t2, t3, row];
    };
    const [kept, waiter, other, row] = setUp();
    expect(overtakes(kept, other, row, 'exclusive')).toBe(false);
    expect(row.exclusive).toBe(waiter);
    expect(kept.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);

    const [lost, waiter2, other2, row2] = setUp(() => 3);
    expect(overtakes(lost, other2, row2, 'exclusive')).toBe(true);
    expect(row2.exclusive).toBe(other2);
    expect(row2.queue).toEqual([waiter2]);
    expect(waiter2).toMatchObject({ locks: [], grantedOnWake: null, wait: { kind: 'row', chain: row2, mode: 'exclusive' } });

    // Picked ahead of the waiter in this settle: it takes the row without another race.
    const [ahead, waiter3, other3, row3] = setUp();
    ahead.jumpedAhead.push(waiter3);
    expect(overtakes(ahead, other3, row3, 'exclusive')).toBe(true);
    expect(ahead.races).toEqual([]);
  });
});
