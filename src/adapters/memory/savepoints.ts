import { SqlState, type DbError, type SavepointControl } from '../../model/statement.ts';
import { grantAdvisory, type AdvisoryLock } from './advisory-locks.ts';
import type { RowChain, Version } from './mvcc.ts';
import type { RowLockMode } from './row-lock.ts';
import { messages, type Run } from './run.ts';
import { leaveWait, releaseRow } from './wakeups.ts';
import type { Xact } from './xact.ts';

/*
 * Savepoints, as PostgreSQL's subtransactions behave: `SAVEPOINT name`
 * marks the transaction's undo log (`Xact.undo`, kept only while a
 * savepoint exists, so transactions without one log nothing); `ROLLBACK TO
 * name` undoes, newest first, what was done since: the row versions it
 * created are gone and those it deleted or replaced live again, the row
 * locks it took are released (or fall back to the mode held before), and so
 * are the advisory locks; waiters for those locks, and unique-index
 * waiters for those versions, go on (in PostgreSQL they sleep on the
 * subtransaction's id, which ends then). The savepoint stays. `RELEASE
 * name` forgets it and those after it, keeping the work.
 *
 * An error inside a savepoint (a failed statement, a deadlock victim)
 * aborts only the work since the innermost savepoint, at once, and leaves
 * the transaction failed (25P02) until ROLLBACK TO, ROLLBACK or COMMIT
 * (which rolls back); the locks taken before the savepoint stay held. An
 * unknown name is 3B001, an error like any other.
 */

/** A savepoint: its name and where the undo log stood when it was set. */
export interface Savepoint {
  readonly name: string;
  readonly mark: number;
  /** The subtransaction id its locks and writes are made under, assigned at the first (see `row-lock.ts`); a ROLLBACK TO starts a new subtransaction. */
  xid?: number;
}

/** One thing done while a savepoint exists, as `ROLLBACK TO` undoes it. */
export type UndoEntry =
  | { readonly kind: 'created'; readonly chain: RowChain; readonly version: Version }
  | { readonly kind: 'deleted'; readonly version: Version }
  | { readonly kind: 'lock'; readonly chain: RowChain; readonly before: RowLockMode | null }
  | { readonly kind: 'advisory'; readonly lock: AdvisoryLock };

const noSuchSavepoint = (name: string): DbError => ({ code: SqlState.noSuchSavepoint, message: `savepoint "${name}" does not exist` });

/** Runs `SAVEPOINT`, `ROLLBACK TO SAVEPOINT` or `RELEASE SAVEPOINT` for `xact` and reports its result; returns the error that fails the statement (an unknown savepoint), for the caller to `fail` it with. */
export function savepointStep(run: Run, xact: Xact, s: SavepointControl): DbError | null {
  if (xact.status === 'aborted' || xact.subFailed === true) {
    // In a failed transaction only ROLLBACK TO is taken, and only a savepoint that exists (an error at the top level left none).
    if (s.kind !== 'rollback-to') run.complete(xact.tx, { error: { code: SqlState.inFailedTransaction, message: messages.inFailedTransaction } });
    else if (xact.status === 'aborted' || find(xact, s.name) < 0) run.complete(xact.tx, { error: noSuchSavepoint(s.name) });
    else rollbackTo(run, xact, find(xact, s.name));
    return null;
  }
  if (s.kind === 'savepoint') {
    (xact.savepoints ??= []).push({ name: s.name, mark: (xact.undo ??= []).length });
    run.complete(xact.tx, { rows: [] });
    return null;
  }
  const i = find(xact, s.name);
  if (i < 0) return noSuchSavepoint(s.name);
  if (s.kind === 'rollback-to') {
    rollbackTo(run, xact, i);
    return null;
  }
  const savepoints = xact.savepoints!;
  savepoints.length = i;
  if (savepoints.length === 0) {
    xact.savepoints = undefined;
    xact.undo = undefined;
  }
  run.complete(xact.tx, { rows: [] });
  return null;
}

/** The innermost savepoint named `name`, or -1. */
function find(xact: Xact, name: string): number {
  const savepoints = xact.savepoints;
  if (savepoints === undefined) return -1;
  for (let i = savepoints.length - 1; i >= 0; i--) if (savepoints[i].name === name) return i;
  return -1;
}

function rollbackTo(run: Run, xact: Xact, i: number): void {
  const savepoints = xact.savepoints!;
  undoTo(run, xact, savepoints[i].mark);
  savepoints.length = i + 1;
  savepoints[i].xid = undefined;
  xact.subFailed = undefined;
  run.complete(xact.tx, { rows: [] });
}

/**
 * An error inside a savepoint: the statement's work and everything since the
 * innermost savepoint is undone at once and the transaction is failed until
 * ROLLBACK TO; it stops waiting, if it was (a deadlock victim).
 */
export function subAbort(run: Run, xact: Xact): void {
  xact.pending = null;
  leaveWait(xact);
  const savepoints = xact.savepoints!;
  undoTo(run, xact, savepoints[savepoints.length - 1].mark);
  xact.subFailed = true;
}

/** Undoes the entries of `xact.undo` from `mark` on, newest first. */
function undoTo(run: Run, xact: Xact, mark: number): void {
  const undo = xact.undo!;
  // Restoring a lock logs nothing.
  xact.undo = undefined;
  for (let i = undo.length - 1; i >= mark; i--) {
    const entry = undo[i];
    switch (entry.kind) {
      case 'created': {
        const versions = entry.chain.versions;
        const at = versions.indexOf(entry.version);
        if (at >= 0) versions.splice(at, 1);
        wakeUniqueWaiters(run, xact, entry.version, 'xmin');
        break;
      }
      case 'deleted':
        entry.version.xmax = null;
        wakeUniqueWaiters(run, xact, entry.version, 'xmax');
        break;
      case 'lock': {
        const chain = entry.chain;
        // A lock the statement let go of since (a row deleted under read committed) is not there to give back.
        if (chain.exclusive !== xact && !chain.shared.includes(xact)) break;
        releaseRow(run, chain, xact, entry.before);
        if (entry.before === null) xact.locks.splice(xact.locks.indexOf(chain), 1);
        break;
      }
      case 'advisory':
        releaseAdvisoryLock(run, xact, entry.lock);
        break;
    }
  }
  undo.length = mark;
  xact.undo = undo;
}

/** Wakes the transactions whose unique-index check waits for `xact` because of `version` (its creation or its deletion). */
export function wakeUniqueWaiters(run: Run, xact: Xact, version: Version, by: 'xmin' | 'xmax'): void {
  const waiters = xact.endWaiters;
  for (let i = 0; i < waiters.length; ) {
    const w = waiters[i];
    const wait = w.wait;
    if (wait?.kind === 'xact' && wait.version === version && wait.by === by) {
      waiters.splice(i, 1);
      run.wakeOne(w);
    } else i++;
  }
}

/** Releases one advisory lock of `xact` (taken since the savepoint) to its first waiter. */
function releaseAdvisoryLock(run: Run, xact: Xact, lock: AdvisoryLock): void {
  const held = xact.advisory!;
  const at = held.indexOf(lock);
  if (at < 0) return;
  held.splice(at, 1);
  lock.holder = null;
  const next = lock.queue.shift();
  if (next !== undefined) {
    grantAdvisory(lock, next);
    run.wakeOne(next);
  }
}
