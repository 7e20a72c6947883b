import { leaveAdvisoryQueue, releaseAdvisoryLocks } from './advisory-locks.ts';
import { undoWrites, type RowChain, type Version } from './mvcc.ts';
import { conflictingHolders, dropLock, firstConflictingHolder, holderMode, leaveQueue, modeOf, release, sleeping, tryLock, type RowLockMode } from './row-lock.ts';
import type { Run } from './run.ts';
import { afterAbort, afterCommit } from './ssi.ts';
import type { Xact } from './xact.ts';

/*
 * How transactions end and who goes on after: a COMMIT or ROLLBACK (or an
 * error) releases the row locks and wakes the waiters granted them and those
 * waiting for the transaction to end; woken transactions race with each
 * other (`nextWoken`, `overtakes`); a waiter whose new wait closes a
 * wait-for cycle makes a deadlock victim (`deadlockVictim`). Every race goes
 * through `Run.pickWaiter`, so a resolver can decide it and it is logged.
 */

/** Commits `xact`: visible to new snapshots, its locks released and its waiters woken; then SSI records it (see `recordSsiEnd`). */
export function commit(run: Run, xact: Xact): void {
  xact.status = 'committed';
  xact.commitSeq = ++run.commitSeq;
  end(run, xact);
  if (xact.ssi) recordSsiEnd(run, xact);
}

/** Aborts `xact`: its writes undone, its locks released and its waiters woken; then SSI records it (see `recordSsiEnd`). */
export function abort(run: Run, xact: Xact): void {
  xact.status = 'aborted';
  for (const chain of xact.writes) undoWrites(chain, xact);
  leaveWait(xact);
  end(run, xact);
  if (xact.ssi) recordSsiEnd(run, xact);
}

/**
 * SSI's record of a serializable transaction's end (`afterCommit`,
 * `afterAbort`). PostgreSQL releases the transaction's locks and wakes its
 * waiters (ProcReleaseLocks) before it records the end for SSI
 * (ReleasePredicateLocks): until then SSI takes the transaction for running,
 * with its SIREAD locks and edges, and a committer that wrote nothing for
 * not yet READ ONLY. A woken serializable statement may meet it there: which
 * comes first is timing. By default the end is recorded first; a resolver
 * may let a woken statement go first (the race's candidates are the ending
 * transaction, then the woken ones), and the end is recorded once that
 * statement has gone on (`Run.lateSsiEnds`, `recordLateSsiEnds`).
 */
function recordSsiEnd(run: Run, xact: Xact): void {
  const rivals = run.woken.filter((x) => x.ssi !== null && canGoOn(x));
  const first = rivals.length === 0 ? xact : run.pickWaiter([xact, ...rivals]);
  if (first === xact) ssiEnd(run, xact);
  else run.lateSsiEnds.push({ xact, after: first });
}

function ssiEnd(run: Run, xact: Xact): void {
  if (xact.status === 'committed') afterCommit(xact, run.ssiClock);
  else afterAbort(xact);
}

/** Records the ends SSI has not recorded yet that waited for `after`'s statement, or, without `after`, every one left (the step has settled). */
export function recordLateSsiEnds(run: Run, after?: Xact): void {
  const late = run.lateSsiEnds;
  for (let i = 0; i < late.length; ) {
    if (after !== undefined && late[i].after !== after) i++;
    else ssiEnd(run, late.splice(i, 1)[0].xact);
  }
}

/** `xact` stops waiting, if it was (it failed). */
export function leaveWait(xact: Xact): void {
  if (xact.wait !== null) {
    if (xact.wait.kind === 'row') leaveQueue(xact.wait.chain, xact);
    else if (xact.wait.kind === 'advisory') leaveAdvisoryQueue(xact.wait.lock, xact);
    else {
      const waiters = xact.wait.xact.endWaiters;
      waiters.splice(waiters.indexOf(xact), 1);
    }
    xact.wait = null;
  }
}

/** `xact` waits for `other` to end (a unique-index check found `other`'s row version). */
export function waitFor(xact: Xact, other: Xact, version?: Version, by?: 'xmin' | 'xmax'): 'blocked' {
  xact.wait = version === undefined ? { kind: 'xact', xact: other } : { kind: 'xact', xact: other, version, by };
  other.endWaiters.push(xact);
  return 'blocked';
}

/** Releases the row locks of a finished transaction and wakes whoever waited for it (see `row-lock.ts` for who gets a row). */
function end(run: Run, xact: Xact): void {
  for (const chain of xact.locks) releaseRow(run, chain, xact);
  xact.locks.length = 0;
  if (xact.advisory !== undefined) releaseAdvisoryLocks(run, xact);
  if (xact.endWaiters.length > 0) {
    for (const x of xact.endWaiters.splice(0)) run.wakeOne(x);
  }
}

/**
 * Releases `xact`'s lock on `chain` and wakes the waiters granted it. A
 * waiter that now sleeps on a holder of the row, and did not before or
 * slept on another (it has just taken PostgreSQL's tuple lock from the
 * one granted, its holder ended while another holder remains, it lost a
 * race to the winner), starts a new wait and deadlock timer. Those new
 * waits may close a cycle, which `settle` checks once nothing else moves
 * (`Run.rewaited`).
 */
export function releaseRow(run: Run, chain: RowChain, xact: Xact, keep: RowLockMode | null = null): void {
  const queue = chain.queue;
  if (queue.length === 0) {
    release(chain, xact, run, keep);
    return;
  }
  for (const w of queue) w.awaited = sleeping(chain, w) ? firstConflictingHolder(chain, w, modeOf(w)) : null;
  release(chain, xact, run, keep);
  for (const w of queue) {
    if (!sleeping(chain, w)) continue;
    const holder = firstConflictingHolder(chain, w, modeOf(w));
    if (holder !== null && holder !== w.awaited) {
      w.waitSince = ++run.waitClock;
      run.rewaited.push(w);
    }
  }
}

/**
 * The deadlock victim when a transaction released from a wait closes a
 * cycle: PostgreSQL's choice stands (the statement is already running), the
 * member whose deadlock timer fires first, the one that has waited longest.
 * When every member began its current wait during this step, their timers
 * started in an order left to timing: a race, which the resolver may decide
 * otherwise.
 */
export function deadlockVictim(run: Run, cycle: readonly Xact[]): Xact {
  const victim = longestWaiting(cycle);
  if (victim.waitSince <= run.stepStart) return victim;
  return run.pickWaiter([...cycle].sort((a, b) => a.waitSince - b.waitSince), true);
}

/**
 * Transactions woken by the same commit or rollback run at once in
 * PostgreSQL. A waiter granted a row lock has not taken it yet when it
 * wakes: it must still come back and mark the row, and another woken
 * transaction moving on through its scan may mark that row first. So when
 * `xact`, running in this settle, finds a row held only by a waiter woken
 * for that row who has not run yet, which of the two takes it is a race:
 * first come, first served (the waiter keeps it) unless the resolver says
 * otherwise. If `xact` overtakes, it gets the lock and the waiter queues
 * again at the head of the row's queue.
 */
export function overtakes(run: Run, xact: Xact, chain: RowChain, mode: RowLockMode): boolean {
  const holders = conflictingHolders(chain, xact, mode);
  if (holders.length !== 1 || holders[0].grantedOnWake !== chain) return false;
  const waiter = holders[0];
  // A waiter that `xact` was already picked ahead of in this settle has not come back for its row: `xact` takes it first.
  if (!run.jumpedAhead.includes(waiter) && run.pickWaiter([waiter, xact]) !== xact) return false;
  const waiterMode: RowLockMode = holderMode(chain, waiter);
  dropLock(chain, waiter);
  waiter.locks.splice(waiter.locks.indexOf(chain), 1);
  waiter.grantedOnWake = null;
  waiter.wait = { kind: 'row', chain, mode: waiterMode };
  chain.queue.unshift(waiter);
  return tryLock(chain, xact, mode);
}

/**
 * The woken transaction to go on next: the first woken, unless several can
 * go on and the resolver picks another. Those it is picked ahead of have not
 * run yet, so it may overtake them at the rows granted to them (`jumpedAhead`,
 * see `overtakes`).
 */
export function nextWoken(run: Run): Xact {
  if (run.jumpedAhead.length > 0) run.jumpedAhead.length = 0;
  if (run.woken.length === 1) return run.woken[0];
  const ready = run.woken.filter(canGoOn);
  if (ready.length <= 1) return run.woken[0];
  const xact = run.pickWaiter(ready);
  for (const x of ready) {
    if (x === xact) break;
    run.jumpedAhead.push(x);
  }
  return xact;
}

/** True when a woken transaction still has a statement to go on with. */
export function canGoOn(x: Xact): boolean {
  return x.status === 'active' && x.pending !== null && x.wait === null;
}

/** The member of a wait-for cycle whose deadlock timer fires first: the one that has waited longest. */
function longestWaiting(cycle: readonly Xact[]): Xact {
  return cycle.reduce((a, b) => (b.waitSince < a.waitSince ? b : a));
}
