import type { Row } from '../../model/schema.ts';
import type { Xact } from './xact.ts';

/** One version of a row: created by `xmin`, deleted or replaced by `xmax` (null while live). */
export interface Version {
  readonly data: Row;
  readonly xmin: Xact;
  xmax: Xact | null;
  /**
   * Its line pointer: the place in the table's heap it was written to. Every
   * new version (a seed row, an insert, an update, HOT or not, and one whose
   * transaction then aborts) takes the table's next one, so a scan that
   * reads the heap (a sequential or bitmap heap scan) meets the versions in
   * the order they were created (`TableState.lines`).
   */
  readonly line: number;
  /**
   * The line pointer its index entries point to: its own, or for a HOT
   * update (one that changed no indexed column) the root of the HOT chain it
   * joined, which index scans and bitmap heap scans follow to it.
   */
  readonly root: number;
  /**
   * Set while the writer waits part-way through the version's unique-index
   * entries: how many of the table's unique indexes (primary key first)
   * already hold one. Absent once every index that needs an entry has it.
   */
  indexed?: number;
  /**
   * Set on a version written by an UPDATE that held the row FOR UPDATE (it
   * changed a key column, or its transaction had locked the row FOR UPDATE
   * before): PostgreSQL marks the replaced version HEAP_KEYS_UPDATED, and a
   * FOR KEY SHARE of it then conflicts as with a key change.
   */
  keysUpdated?: true;
}

/** A logical row: its versions oldest first, and its row lock. */
export interface RowChain {
  readonly versions: Version[];
  /** Holder of the exclusive row lock (FOR UPDATE, DELETE, an UPDATE of a key column) or of FOR NO KEY UPDATE (an UPDATE of other columns). */
  exclusive: Xact | null;
  /** Holders of FOR SHARE and FOR KEY SHARE locks. */
  readonly shared: Xact[];
  /** The mode of each holder of FOR NO KEY UPDATE or FOR KEY SHARE (the others hold `exclusive` or `share` as their place says); created on first use. */
  modes?: Map<Xact, 'key-share' | 'no-key-update'>;
  /** The subtransaction id of each holder that locked the row inside a savepoint (`row-lock.ts`, `lockerId`); created on first use. */
  subLockers?: Map<Xact, number>;
  /** Transactions waiting for the row lock, first come first served. */
  readonly queue: Xact[];
}

/** True when `creator`'s work is visible to `reader` reading at commit sequence `snapshot`. */
export function sees(reader: Xact, snapshot: number, creator: Xact): boolean {
  return creator === reader || (creator.status === 'committed' && creator.commitSeq <= snapshot);
}

/** The version of `chain` that `reader` sees at `snapshot`, if any. */
export function visibleVersion(chain: RowChain, reader: Xact, snapshot: number): Version | undefined {
  const versions = chain.versions;
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i];
    if (!sees(reader, snapshot, v.xmin)) continue;
    return v.xmax !== null && sees(reader, snapshot, v.xmax) ? undefined : v;
  }
  return undefined;
}

/**
 * The newest version of `chain` as a writer that holds the row lock sees it:
 * the latest committed (or own) version, or undefined when that version was deleted.
 */
export function newestVersion(chain: RowChain, writer: Xact): Version | undefined {
  const versions = chain.versions;
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i];
    if (v.xmin !== writer && v.xmin.status !== 'committed') continue;
    return v.xmax !== null && (v.xmax === writer || v.xmax.status === 'committed') ? undefined : v;
  }
  return undefined;
}

/** Removes what an aborted transaction wrote to `chain`. */
export function undoWrites(chain: RowChain, xact: Xact): void {
  const versions = chain.versions;
  for (let i = versions.length - 1; i >= 0; i--) {
    if (versions[i].xmin === xact) versions.splice(i, 1);
    else if (versions[i].xmax === xact) versions[i].xmax = null;
  }
}
