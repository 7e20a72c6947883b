import type { IsolationLevel, TxId } from '../backend.ts';
import type { Statement } from '../../model/statement.ts';
import type { Row } from '../../model/schema.ts';
import type { RowChain, Version } from './mvcc.ts';
import type { SsiState } from './ssi.ts';
import type { Observations } from './dependency-graph.ts';
import type { AdvisoryLock } from './advisory-locks.ts';
import type { Savepoint, UndoEntry } from './savepoints.ts';
import type { ForeignKeyEvents } from './foreign-keys.ts';

/** Status of one database transaction (one attempt of a workload transaction). */
export type XactStatus = 'active' | 'committed' | 'aborted';

/** A statement that has started and may be blocked part-way, with everything needed to resume it. */
export interface PendingStatement {
  readonly statement: Statement;
  /** Commit sequence number the statement reads at. */
  readonly snapshot: number;
  /** Rows a select, update or delete processes, in order (empty for an insert, which walks its statement's rows). */
  readonly candidates: readonly RowChain[];
  /** Index of the next candidate (or inserted row) to process: where a blocked statement resumes. */
  next: number;
  readonly out: Row[];
  /** `ON CONFLICT DO NOTHING`: the unique index (position) whose pre-check of the row at `next` waits; the pre-check resumes there. */
  arbiterFrom?: number;
  /** The candidate (index) whose row lock the statement waited for, once it has: FOR KEY SHARE then rechecks like the other locks. */
  waitedAt?: number;
  /** The row version written at `next` whose unique-index entries are still being made (the statement waits between two of them). */
  writing?: { readonly chain: RowChain; readonly version: Version; readonly old?: Row };
  /** An upsert waiting for the row lock of the conflicting `version` of the row at `next` (`before`: the mode it held before, or null); see `upsert.ts`. */
  locking?: { readonly chain: RowChain; readonly version: Version; readonly before: 'key-share' | 'share' | 'no-key-update' | 'exclusive' | null };
  /** An upsert's arbiter index: the unique index whose entry its speculative insertion checks without waiting or failing. */
  arbiter?: readonly string[];
  /** The row versions an upsert has written so far: a second proposed row with the key of one is 21000. */
  upserted?: Version[];
  /** The foreign key trigger events the statement queued, fired at its end (`foreign-keys.ts`); absent when it queued none. */
  foreignKeys?: ForeignKeyEvents;
  /** A cascaded DELETE under repeatable read or serializable: the transaction's snapshot, which every row it deletes must be visible in (else 40001). */
  crosscheck?: number;
}

/** What a blocked transaction waits for. */
export type Wait =
  | { readonly kind: 'row'; readonly chain: RowChain; readonly mode: 'key-share' | 'share' | 'no-key-update' | 'exclusive' }
  | { readonly kind: 'xact'; readonly xact: Xact; /** The version whose creation (`xmin`) or deletion (`xmax`) by `xact` the unique-index check waits on. */ readonly version?: Version; readonly by?: 'xmin' | 'xmax' }
  | { readonly kind: 'advisory'; readonly lock: AdvisoryLock };

/** One database transaction of the memory engine. */
export interface Xact {
  readonly xid: number;
  readonly tx: TxId;
  readonly isolation: IsolationLevel;
  status: XactStatus;
  /** Commit sequence number once committed. */
  commitSeq: number;
  /** Transaction snapshot under repeatable read; -1 until the first statement. */
  snapshot: number;
  /** Rows this transaction holds a lock on, in acquisition order. */
  readonly locks: RowChain[];
  /** Rows this transaction created or deleted versions of. */
  readonly writes: RowChain[];
  /** Transactions waiting for this one to end (unique-index waits), in arrival order. */
  readonly endWaiters: Xact[];
  pending: PendingStatement | null;
  wait: Wait | null;
  /** When the current wait began, on the engine's wait clock (a counter, never wall time). */
  waitSince: number;
  /**
   * While it waits for a row lock: the row version whose heavyweight tuple
   * lock it holds or queues for (PostgreSQL's LockTuple, taken before it
   * sleeps on the holder's transaction), or null when it sleeps on the holder
   * without one, as a statement that followed the row's update chain to a
   * version being replaced does (see `row-lock.ts`).
   */
  queuedAt: Version | null;
  /**
   * For a locking SELECT that went to sleep on a holder that had replaced
   * (not just locked) the version it queues at: that holder. Once it
   * commits, PostgreSQL walks the update chain holding the tuple lock
   * (heap_lock_updated_tuple), so the waiters behind keep their order.
   */
  walksFrom: Xact | null;
  /** Scratch for `MemoryEngine.releaseRow`: the holder it slept on before a release, null if it queued for a tuple lock. */
  awaited: Xact | null;
  /** The row whose lock a commit or rollback just granted it, until it runs again: another woken transaction may still overtake it there. */
  grantedOnWake: RowChain | null;
  /**
   * When it first locked or wrote a row (a run-wide sequence): PostgreSQL
   * assigns a transaction id then, and orders the lockers of a row by it
   * (the members of a multixact), so it waits for the one assigned first.
   */
  firstLock?: number;
  /** Its savepoints, outermost first (`savepoints.ts`); absent when it has none. */
  savepoints?: Savepoint[];
  /** What it did since its first savepoint, for ROLLBACK TO; absent when it has no savepoint. */
  undo?: UndoEntry[];
  /** An error inside a savepoint left it failed until ROLLBACK TO (statements get 25P02; COMMIT rolls back). */
  subFailed?: true;
  /** Advisory locks it holds (`advisory-locks.ts`); absent until it takes one. */
  advisory?: AdvisoryLock[];
  /** SSI bookkeeping; present only under SERIALIZABLE. */
  readonly ssi: SsiState | null;
  /** What it read, when the engine records a history for anomaly classification. */
  readonly observations: Observations | null;
}
