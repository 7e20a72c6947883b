import type { RowChain } from './mvcc.ts';
import type { Xact } from './xact.ts';

/**
 * PostgreSQL's serializable snapshot isolation (SSI), as the memory engine
 * models it: SIREAD locks recorded by reads, rw-antidependency edges between
 * concurrent serializable transactions, and the dangerous-structure checks
 * PostgreSQL makes when an edge is added and at commit (Cahill's algorithm
 * with PostgreSQL's commit-order refinements, predicate.c).
 *
 * SIREAD locks have PostgreSQL's granularity on small tables (see
 * `SireadLock`): which rows a read conflicts with depends on the plan
 * PostgreSQL would pick, which the engine assumes from the WHERE clause.
 */

/**
 * The SIREAD locks one serializable statement left, at the granularity
 * PostgreSQL uses on small tables: a sequential scan locks the whole
 * relation; an index scan locks the index's page (a small index has one leaf
 * page, so any new entry in it conflicts) and the heap tuples it fetched.
 */
export type SireadLock = (
  | { readonly kind: 'relation'; readonly table: string }
  | { readonly kind: 'index'; readonly table: string; readonly index: string; readonly tuples: ReadonlySet<RowChain> }
) & {
  /** When it was taken, in the run's order of SIREAD locks: PostgreSQL lists a target's locks in that order. */
  readonly seq: number;
};

/** What a write touches, for the writer-side check: the row, and the indexes that get a new entry. */
export interface WriteTarget {
  readonly table: string;
  readonly chain: RowChain;
  /** A heap write (insert, update, delete), checked against relation and tuple locks; false for a unique check, which only reads the index. */
  readonly heap: boolean;
  /** Updates and deletes write an existing tuple (tuple and page locks apply); inserts write a new one. */
  readonly existing: boolean;
  /** Indexes receiving an entry: every index for an insert or an update that changes an indexed column, none for a HOT update or a delete. */
  readonly indexes: readonly string[];
}

/** Per-transaction SSI state (SERIALIZABLEXACT). */
export interface SsiState {
  /** Readers R with an edge R -rw-> this transaction. */
  readonly inConflicts: Xact[];
  /** Writers W with an edge this -rw-> W. */
  readonly outConflicts: Xact[];
  readonly reads: SireadLock[];
  /** Marked for death by another transaction's check: fails at its next read, write or commit. */
  doomed: boolean;
  didWrite: boolean;
  /** Committed without writing (PostgreSQL then treats it as READ ONLY). */
  readOnly: boolean;
  /** Committed with an edge out to a transaction that committed before it. */
  conflictOut: boolean;
  /** SSI's own sequence (`clock`) at PreCommit, at commit, and when the snapshot was taken: PostgreSQL's prepareSeqNo, commitSeqNo, lastCommitBeforeSnapshot. */
  prepareSeq: number;
  commitSeq: number;
  lastCommitBeforeSnapshot: number;
  /** `prepareSeq` of the earliest such transaction. */
  earliestOutConflictCommit: number;
}

/** The run's SSI sequence (PostgreSQL's LastSxactCommitSeqNo): each commit takes two numbers, one when it prepares, one when it commits. */
export interface SsiClock {
  last: number;
}

export function newSsiState(): SsiState {
  return {
    inConflicts: [],
    outConflicts: [],
    reads: [],
    doomed: false,
    didWrite: false,
    readOnly: false,
    conflictOut: false,
    prepareSeq: 0,
    commitSeq: 0,
    lastCommitBeforeSnapshot: 0,
    earliestOutConflictCommit: 0,
  };
}

/** A serialization failure PostgreSQL raises for a dangerous structure, with its reason. */
export class SerializationFailure {
  constructor(readonly reason: string) {}
}

export const ssiMessage = 'could not serialize access due to read/write dependencies among transactions';

/** Committed as SSI knows it: once `afterCommit` recorded it (PostgreSQL's SXACT_FLAG_COMMITTED, set after the waiters are woken). */
const committed = (x: Xact): boolean => x.status === 'committed' && ssi(x).commitSeq > 0;
/** Past the check before COMMIT (PostgreSQL's SXACT_FLAG_PREPARED): committed, or committing and not yet recorded by `afterCommit`. */
const prepared = (x: Xact): boolean => ssi(x).prepareSeq > 0;
const ssi = (x: Xact): SsiState => x.ssi!;

/** True when `writer`'s work is not in `reader`'s snapshot: it was still running, or committed after the snapshot. */
export function concurrent(reader: Xact, writer: Xact): boolean {
  return writer.status === 'active' || (writer.status === 'committed' && writer.commitSeq > reader.snapshot);
}

/**
 * The reader side (CheckForSerializableConflictOut): `reader` is reading a
 * row version that `writer` created or replaced and that its snapshot does
 * not reflect. Throws a `SerializationFailure` when the reader must fail now.
 */
export function conflictOut(reader: Xact, writer: Xact): void {
  if (writer === reader || writer.status === 'aborted' || ssi(writer).doomed) return;
  if (!concurrent(reader, writer)) return;
  if (ssi(reader).outConflicts.includes(writer)) return;
  flagConflict(reader, writer, reader);
}

/**
 * The writer side (CheckForSerializableConflictIn): `writer` is writing
 * `target`; every concurrent serializable transaction holding a SIREAD lock
 * that covers it gets an edge to the writer; a doomed writer fails at once
 * (it throws a `SerializationFailure`). A transaction holding tuple
 * locks on more than two rows of a table holds its page instead (PostgreSQL's
 * max_pred_locks_per_page; a small table is one page). `others` are the
 * run's serializable transactions.
 *
 * The holders get their edges in PostgreSQL's order, which decides who a
 * later COMMIT dooms: target by target (tuple, then page, then relation),
 * and on each target in the order the locks were taken.
 */
export function conflictIn(writer: Xact, target: WriteTarget, others: readonly Xact[]): void {
  // A writer doomed by another transaction's check (for example while it waited) fails at its next write check.
  if (ssi(writer).doomed) throw new SerializationFailure('Canceled on identification as a pivot, during conflict in checking.');
  if (target.heap) ssi(writer).didWrite = true;
  // Most writes are covered by no lock or by one: no list to build or sort then.
  let first: Xact | null = null;
  let firstOrder = 0;
  let more: { holder: Xact; order: number }[] | null = null;
  for (const holder of others) {
    // An aborted holder counts until SSI records its end (`afterAbort` dooms it and drops its locks), as in PostgreSQL.
    if (holder === writer) continue;
    const state = ssi(holder);
    if (state.doomed || state.reads.length === 0) continue;
    if (committed(holder) && holder.commitSeq <= writer.snapshot) continue;
    if (state.outConflicts.includes(writer)) continue;
    const order = coveringLock(state.reads, target);
    if (order === undefined) continue;
    if (first === null) {
      first = holder;
      firstOrder = order;
    } else {
      more ??= [{ holder: first, order: firstOrder }];
      more.push({ holder, order });
    }
  }
  if (more === null) {
    if (first !== null) flagConflict(first, writer, writer);
    return;
  }
  more.sort((a, b) => a.order - b.order);
  for (const { holder } of more) flagConflict(holder, writer, writer);
}

const tupleTarget = 0;
const pageTarget = 1;
const relationTarget = 2;

/**
 * Where the lock covering `target` sits in PostgreSQL's order of checks
 * (target class, then when the lock was taken), or undefined when none
 * covers it. Tuple locks promoted to the page count as a page lock taken
 * when the third tuple was locked.
 */
function coveringLock(reads: readonly SireadLock[], target: WriteTarget): number | undefined {
  let best = -1;
  // Only a heap write of an existing row is checked against tuple locks, and against tuple locks promoted to the page.
  const tupleChecks = target.heap && target.existing;
  let tupleSeq = -1;
  let promotedSeq = -1;
  // The table's distinct locked tuples so far, counted up to three (more than two are promoted).
  let distinct = 0;
  let seen0: RowChain | undefined;
  let seen1: RowChain | undefined;
  let relation = false;
  for (const lock of reads) {
    if (lock.table !== target.table) continue;
    if (lock.kind === 'relation') {
      relation = true;
      if (target.heap) best = earlier(best, relationTarget, lock.seq);
      continue;
    }
    if (target.indexes.includes(lock.index)) best = earlier(best, pageTarget, lock.seq);
    if (!tupleChecks) continue;
    if (distinct <= 2) {
      for (const t of lock.tuples) {
        if (t === seen0 || t === seen1) continue;
        if (distinct === 0) seen0 = t;
        else if (distinct === 1) seen1 = t;
        if (++distinct > 2) break;
      }
      if (promotedSeq < 0 && distinct > 2) promotedSeq = lock.seq;
    }
    if (tupleSeq < 0 && lock.tuples.has(target.chain)) tupleSeq = lock.seq;
  }
  // A transaction holding the relation lock holds no tuple or page lock of its heap: PostgreSQL takes none under it and drops those taken before (DeleteChildTargetLocks).
  if (tupleChecks && !relation) {
    if (promotedSeq >= 0) best = earlier(best, pageTarget, promotedSeq);
    else if (tupleSeq >= 0) best = earlier(best, tupleTarget, tupleSeq);
  }
  return best < 0 ? undefined : best;
}

/** The earlier in PostgreSQL's order of checks of `best` (-1 for none yet) and a lock on a target of `targetClass` taken at `seq`. */
function earlier(best: number, targetClass: number, seq: number): number {
  const order = targetClass * 2 ** 32 + seq;
  return best < 0 || order < best ? order : best;
}

/** Adds reader -rw-> writer after checking that it completes no dangerous structure (OnConflict_CheckForSerializationFailure). */
function flagConflict(reader: Xact, writer: Xact, me: Xact): void {
  const r = ssi(reader);
  const w = ssi(writer);
  let failure = committed(writer) && w.conflictOut;
  if (!failure) {
    // reader -> writer -> t2, with t2 committed (or past its check before COMMIT) first.
    // (t2 may be the reader itself: a committed reader's own prepare precedes its commit.)
    for (const t2 of w.outConflicts) {
      if (!prepared(t2)) continue;
      const t = ssi(t2);
      if (
        (!committed(reader) || t.prepareSeq <= r.commitSeq) &&
        (!committed(writer) || t.prepareSeq <= w.commitSeq) &&
        (!r.readOnly || t.prepareSeq <= r.lastCommitBeforeSnapshot)
      ) {
        failure = true;
        break;
      }
    }
  }
  if (!failure && prepared(writer) && !r.readOnly) {
    // t0 -> reader -> writer, with the writer committed (or past its check before COMMIT) first.
    for (const t0 of r.inConflicts) {
      const t = ssi(t0);
      if (!t.doomed && (!committed(t0) || t.commitSeq >= w.prepareSeq) && (!t.readOnly || t.lastCommitBeforeSnapshot >= w.prepareSeq)) {
        failure = true;
        break;
      }
    }
  }
  if (failure) {
    if (me === writer) throw new SerializationFailure('Canceled on identification as a pivot, during write.');
    if (prepared(writer)) throw new SerializationFailure(`Canceled on conflict out to pivot, during read.`);
    w.doomed = true;
  }
  r.outConflicts.push(writer);
  w.inConflicts.push(reader);
}

/**
 * The check at COMMIT (PreCommit_CheckForSerializationFailure): a doomed
 * transaction fails; a pivot with an edge in from this transaction or from
 * another running one is doomed, so that this one, which is committing
 * writes, makes progress.
 */
export function preCommit(xact: Xact, clock: SsiClock): void {
  const me = ssi(xact);
  if (me.doomed) throw new SerializationFailure('Canceled on identification as a pivot, during commit attempt.');
  for (const near of me.inConflicts) {
    const n = ssi(near);
    if (committed(near) || n.doomed) continue;
    for (const far of n.inConflicts) {
      if (far === xact || (!committed(far) && far.status !== 'aborted' && !ssi(far).readOnly && !ssi(far).doomed)) {
        n.doomed = true;
        break;
      }
    }
  }
  me.prepareSeq = ++clock.last;
}

/** After COMMIT (ReleasePredicateLocks): read-only detection, the conflict-out flag, and edges to and from committed transactions dropped. */
export function afterCommit(xact: Xact, clock: SsiClock): void {
  const me = ssi(xact);
  me.commitSeq = ++clock.last;
  if (!me.didWrite) me.readOnly = true;
  // Edges are dropped from the end, so the lists need no copy; what is left keeps its order.
  for (let i = me.outConflicts.length - 1; i >= 0; i--) {
    const writer = me.outConflicts[i];
    if (!committed(writer)) continue;
    if (!me.readOnly) {
      const prepared = ssi(writer).prepareSeq;
      if (!me.conflictOut || prepared < me.earliestOutConflictCommit) me.earliestOutConflictCommit = prepared;
      me.conflictOut = true;
    }
    removeEdge(xact, writer);
  }
  for (let i = me.inConflicts.length - 1; i >= 0; i--) {
    const reader = me.inConflicts[i];
    if (committed(reader) || ssi(reader).readOnly) removeEdge(reader, xact);
  }
}

/** After a rollback: the transaction drops out of the graph and its SIREAD locks go. */
export function afterAbort(xact: Xact): void {
  const me = ssi(xact);
  me.doomed = true;
  for (let i = me.outConflicts.length - 1; i >= 0; i--) removeEdge(xact, me.outConflicts[i]);
  for (let i = me.inConflicts.length - 1; i >= 0; i--) removeEdge(me.inConflicts[i], xact);
  me.reads.length = 0;
}

function removeEdge(reader: Xact, writer: Xact): void {
  const out = ssi(reader).outConflicts;
  out.splice(out.indexOf(writer), 1);
  const into = ssi(writer).inConflicts;
  into.splice(into.indexOf(reader), 1);
}
