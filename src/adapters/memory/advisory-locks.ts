import type { AdvisoryLockStatement } from '../../model/statement.ts';
import type { Progress, Run } from './run.ts';
import type { PendingStatement, Xact } from './xact.ts';

/*
 * Transaction-level advisory locks, as PostgreSQL's `pg_advisory_xact_lock`
 * and `pg_try_advisory_xact_lock` take them: an exclusive heavyweight lock
 * on a bigint key in the lock manager, held until the transaction ends
 * (taking it again while holding it succeeds at once). A transaction that
 * finds the key held joins the lock's wait queue, first come first served;
 * when the holder ends, the lock manager grants the lock to the first waiter
 * itself (ProcLockWakeup), so there is no race among waiters, and the
 * waiters behind it go on sleeping (their deadlock timers are not started
 * again). The try form never waits: it answers `{ locked: false }` when
 * another transaction holds the key.
 *
 * The statement is a SELECT: it takes a snapshot before it may wait, so
 * under repeatable read and serializable an advisory lock as a
 * transaction's first statement fixes the snapshot of what it reads after
 * the wait (what PostgreSQL does, and why the lock alone does not make a
 * read-modify-write safe there).
 */

/** One advisory lock key during a run: its holder and its waiters in arrival order. */
export interface AdvisoryLock {
  readonly key: number;
  holder: Xact | null;
  readonly queue: Xact[];
}

/** Runs an advisory lock statement: takes the lock, waits for it, or (try) answers whether it got it. */
export function advisoryLock(run: Run, xact: Xact, p: PendingStatement, s: AdvisoryLockStatement): Progress {
  const locks = (run.advisory ??= new Map());
  let lock = locks.get(s.key);
  if (lock === undefined) locks.set(s.key, (lock = { key: s.key, holder: null, queue: [] }));
  if (lock.holder === xact) return done(p, s, true);
  if (lock.holder === null) {
    grantAdvisory(lock, xact);
    return done(p, s, true);
  }
  if (s.try === true) return done(p, s, false);
  xact.wait = { kind: 'advisory', lock };
  lock.queue.push(xact);
  return 'blocked';
}

function done(p: PendingStatement, s: AdvisoryLockStatement, locked: boolean): 'done' {
  if (s.try === true) p.out.push({ locked });
  return 'done';
}

/** Gives `xact` the lock (logged for ROLLBACK TO while it has a savepoint). */
export function grantAdvisory(lock: AdvisoryLock, xact: Xact): void {
  lock.holder = xact;
  (xact.advisory ??= []).push(lock);
  if (xact.undo) xact.undo.push({ kind: 'advisory', lock });
}

/** Releases the advisory locks of a transaction that ended; each goes to its first waiter, which is woken. */
export function releaseAdvisoryLocks(run: Run, xact: Xact): void {
  for (const lock of xact.advisory!) {
    lock.holder = null;
    const next = lock.queue.shift();
    if (next !== undefined) {
      grantAdvisory(lock, next);
      run.wakeOne(next);
    }
  }
  xact.advisory!.length = 0;
}

/** Removes a waiter from the lock's queue (its transaction was aborted while waiting). */
export function leaveAdvisoryQueue(lock: AdvisoryLock, xact: Xact): void {
  const i = lock.queue.indexOf(xact);
  if (i >= 0) lock.queue.splice(i, 1);
}

/**
 * The transactions `pg_blocking_pids` names for an advisory lock waiter: the
 * holder, and the waiters queued before it (they want the same exclusive
 * lock), by transaction.
 */
export function advisoryBlockers(lock: AdvisoryLock, xact: Xact): Xact[] {
  const out: Xact[] = lock.holder !== null ? [lock.holder] : [];
  for (const x of lock.queue) {
    if (x === xact) break;
    out.push(x);
  }
  return out.sort((a, b) => a.tx - b.tx);
}
