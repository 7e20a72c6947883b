import type { Row } from '../../model/schema.ts';
import { isComparison, SqlState, type DbError, type Where } from '../../model/statement.ts';
import { sees, type RowChain } from './mvcc.ts';
import type { Run, TableState } from './run.ts';
import { conflictIn, conflictOut, preCommit, SerializationFailure, ssiMessage, type WriteTarget } from './ssi.ts';
import type { Xact } from './xact.ts';

/*
 * Where the engine's reads, writes and commits meet SSI (`ssi.ts`): which
 * rows a SERIALIZABLE scan examines and which SIREAD locks it leaves, the
 * writer-side check, and the check before COMMIT, each turning a
 * `SerializationFailure` into the 40001 the statement fails with.
 */

/** The error of every SSI failure: 40001 "could not serialize access due to read/write dependencies among transactions". */
export const serializationFailure: DbError = { code: SqlState.serializationFailure, message: ssiMessage };

/**
 * What a SERIALIZABLE read adds, as PostgreSQL does it on a small table: a
 * doomed transaction fails as soon as it examines a row version; every
 * version it examines that a concurrent transaction created or replaced is
 * a conflict out; and the scan leaves SIREAD locks. A WHERE clause with
 * equalities on a leading part of the primary key or of a unique index is
 * an index scan (it examines the rows with that key, and locks the index
 * page and the tuples it fetched); anything else is a sequential scan (it
 * examines every row, and locks the relation).
 */
export function serializableRead(run: Run, xact: Xact, table: TableState, where: Where<Row>, snapshot: number): DbError | null {
  const state = xact.ssi!;
  const index = indexFor(table, where);
  const position = index === undefined ? -1 : table.uniques.indexOf(index);
  const key = index === undefined ? noColumns : keyColumns(index, where);
  let tuples: Set<RowChain> | null = null;
  if (state.doomed) {
    for (const chain of table.rows) {
      if (chain.versions.length > 0 && (index === undefined || hasKey(chain, position, key, where))) return serializationFailure;
    }
  } else {
    try {
      for (const chain of table.rows) {
        const versions = chain.versions;
        if (versions.length === 0) continue;
        if (index !== undefined && !hasKey(chain, position, key, where)) continue;
        // Each version it examines that its snapshot does not include, newest first, then the replacer of the one it sees.
        let i = versions.length - 1;
        for (; i >= 0 && !sees(xact, snapshot, versions[i].xmin); i--) conflictOut(xact, versions[i].xmin);
        const seen = i >= 0 ? versions[i] : undefined;
        // A version deleted where `snapshot` sees it (a foreign key's query reads the latest snapshot) is dead: PostgreSQL checks its creator, not its deleter.
        if (seen?.xmax && seen.xmax !== xact) {
          const writer = sees(xact, snapshot, seen.xmax) ? seen.xmin : seen.xmax;
          if (writer.ssi !== null) conflictOut(xact, writer);
        }
        // So is every older version it examines (a creator the transaction's snapshot includes is no conflict): under the latest snapshot,
        // the version a concurrent transaction that committed since created and then replaced itself (an insert and an upsert of one row).
        for (let j = i - 1; j >= 0; j--) {
          const creator = versions[j].xmin;
          if (creator.ssi !== null && (index === undefined || sameKey(key, where, versions[j].data))) conflictOut(xact, creator);
        }
        // No SIREAD lock on a version the transaction wrote itself (PredicateLockTID skips those).
        if (index !== undefined && seen && seen.xmin !== xact && !(seen.xmax && sees(xact, snapshot, seen.xmax)) && sameKey(key, where, seen.data)) (tuples ??= new Set()).add(chain);
      }
    } catch (e) {
      if (e instanceof SerializationFailure) return serializationFailure;
      throw e;
    }
  }
  const seq = ++run.sireadSeq;
  state.reads.push(index !== undefined ? { kind: 'index', table: table.name, index: index.join(), tuples: tuples ?? noTuples, seq } : { kind: 'relation', table: table.name, seq });
  return null;
}

const noColumns: readonly string[] = [];
/** The tuples of an index scan that fetched none (never added to). */
const noTuples: ReadonlySet<RowChain> = new Set();

/** The columns of `index` the WHERE clause names: all of them, usually. */
function keyColumns(index: readonly string[], where: Where<Row>): readonly string[] {
  for (const c of index) if (!(c in where)) return index.filter((d) => d in where);
  return index;
}

/** True when some version of `chain` has an entry in the index at `position` with the WHERE clause's values in its leading columns `key`: the index scan examines the row. */
function hasKey(chain: RowChain, position: number, key: readonly string[], where: Where<Row>): boolean {
  for (const v of chain.versions) {
    if ((v.indexed === undefined || v.indexed > position) && sameKey(key, where, v.data)) return true;
  }
  return false;
}

/** The writer side of SSI: readers holding SIREAD locks on what `xact` writes get an edge to it. False when `xact` must fail. */
export function serializableWrite(run: Run, xact: Xact, target: WriteTarget): boolean {
  try {
    conflictIn(xact, target, run.serializable);
    return true;
  } catch (e) {
    if (e instanceof SerializationFailure) return false;
    throw e;
  }
}

/** SSI's check before COMMIT: the error the COMMIT fails with, or null (always null outside SERIALIZABLE). */
export function serializableCommit(run: Run, xact: Xact): DbError | null {
  if (!xact.ssi) return null;
  try {
    preCommit(xact, run.ssiClock);
    return null;
  } catch (e) {
    if (e instanceof SerializationFailure) return serializationFailure;
    throw e;
  }
}

/** The unique index (primary key first) whose leading columns the WHERE clause fixes with equalities (not IS NULL): the index PostgreSQL scans; undefined for a sequential scan. */
export function indexFor(table: TableState, where: Where<Row>): readonly string[] | undefined {
  for (const columns of table.uniques) {
    const first = where[columns[0]];
    if (first !== undefined && first !== null && !isComparison(first)) return columns;
  }
  return undefined;
}

/** True when `row` has the WHERE clause's values in the leading index columns `key`. */
export function sameKey(key: readonly string[], where: Where<Row>, row: Row): boolean {
  for (const c of key) {
    const v = where[c];
    if (v === undefined || v === null || isComparison(v)) break;
    if (row[c] !== v) return false;
  }
  return true;
}
