import type { TxId } from '../backend.ts';
import { matches, type Where } from '../../model/statement.ts';
import type { Row } from '../../model/schema.ts';
import type { RowChain, Version } from './mvcc.ts';
import type { Xact } from './xact.ts';

/**
 * What a transaction observed, recorded when the engine is asked to keep a
 * history (`MemoryEngine.recordHistory`): the row versions it read, and for
 * each predicate read the version of every row of the table its snapshot saw.
 */
export interface Observations {
  readonly items: { readonly table: string; readonly chain: RowChain; readonly version: Version }[];
  readonly predicates: { readonly table: string; readonly where: Where<Row>; readonly seen: Map<RowChain, { readonly index: number; readonly visible: boolean }> }[];
}

const unseen = { index: -1, visible: false } as const;

/** One edge of Adya's direct serialization graph between committed transactions. */
export interface Dependency {
  readonly from: TxId;
  readonly to: TxId;
  readonly kind: 'ww' | 'wr' | 'rw';
  /** An anti-dependency on a predicate (a row that started or stopped matching a read's condition), not on a row read. */
  readonly predicate: boolean;
  /** The row, as `table(key)`. */
  readonly item: string;
}

/** A read of uncommitted or intermediate data, which needs no cycle to be an anomaly (G1a, G1b). */
export interface DirtyRead {
  readonly kind: 'G1a' | 'G1b';
  readonly reader: TxId;
  readonly writer: TxId;
  readonly item: string;
}

/** The dependency graph of a finished run. */
export interface DependencyGraph {
  readonly edges: readonly Dependency[];
  readonly dirtyReads: readonly DirtyRead[];
}

/**
 * Builds the direct serialization graph of a run from the engine's version
 * chains and the recorded observations of its transactions. Nodes are the
 * committed transactions (their workload numbers); the seed is no node.
 *
 * - ww: a transaction installed the version after another's (an update or a delete);
 * - wr: a transaction read a version another installed;
 * - rw: a transaction read a version another replaced (item), or a predicate
 *   read missed a version another installed that changed whether a row matches (predicate).
 */
export function dependencyGraph(xacts: readonly Xact[], tables: readonly { readonly name: string; readonly rows: readonly RowChain[]; readonly key: (row: Row) => string }[]): DependencyGraph {
  const edges: Dependency[] = [];
  const dirtyReads: DirtyRead[] = [];
  const known = new Set<string>();
  const add = (from: Xact, to: Xact, kind: Dependency['kind'], predicate: boolean, item: string) => {
    if (from === to || from.tx === 0 || to.tx === 0 || from.status !== 'committed' || to.status !== 'committed') return;
    const id = `${from.tx} ${to.tx} ${kind} ${predicate} ${item}`;
    if (known.has(id)) return;
    known.add(id);
    edges.push({ from: from.tx, to: to.tx, kind, predicate, item });
  };
  const keyOf = new Map(tables.map((t) => [t.name, t.key]));
  const rowsOf = new Map(tables.map((t) => [t.name, t.rows]));
  const itemOf = (table: string, row: Row) => `${table}(${keyOf.get(table)!(row)})`;
  for (const table of tables) {
    for (const chain of table.rows) {
      for (const v of chain.versions) if (v.xmax && v.xmax !== v.xmin) add(v.xmin, v.xmax, 'ww', false, itemOf(table.name, v.data));
    }
  }
  for (const reader of xacts) {
    const observed = reader.observations;
    // Only committed readers are nodes; an aborted one's predicate reads may name its own versions, undone since.
    if (!observed || reader.status !== 'committed') continue;
    for (const { table, version } of observed.items) {
      const item = itemOf(table, version.data);
      const writer = version.xmin;
      if (writer !== reader && writer.tx !== 0 && reader.status === 'committed') {
        if (writer.status === 'aborted') dirtyReads.push({ kind: 'G1a', reader: reader.tx, writer: writer.tx, item });
        else if (version.xmax === writer) dirtyReads.push({ kind: 'G1b', reader: reader.tx, writer: writer.tx, item });
      }
      add(writer, reader, 'wr', false, item);
      if (version.xmax && version.xmax.status === 'committed') add(reader, version.xmax, 'rw', false, item);
    }
    for (const { table, where, seen } of observed.predicates) {
      // Rows inserted after the read were not there to see.
      for (const chain of rowsOf.get(table)!) {
        const { index, visible } = seen.get(chain) ?? unseen;
        const matched = visible && matches(where, chain.versions[index].data);
        for (let i = index + 1; i < chain.versions.length; i++) {
          const later = chain.versions[i];
          if (later.xmin === reader || later.xmin.status !== 'committed') continue;
          if (matches(where, later.data) !== matched) {
            add(reader, later.xmin, 'rw', true, itemOf(table, later.data));
            break;
          }
        }
      }
    }
  }
  return { edges, dirtyReads };
}
