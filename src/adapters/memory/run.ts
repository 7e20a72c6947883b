import type { Event, IsolationLevel, TxId } from '../backend.ts';
import type { Race } from '../engine.ts';
import { uniqueIndexes, type Schema, type TableSchema, type Tables } from '../../model/schema.ts';
import { foreignKeysOf, foreignKeysReferencing, type ResolvedForeignKey } from '../../model/foreign-keys.ts';
import type { DbError, StatementResult } from '../../model/statement.ts';
import type { RowChain } from './mvcc.ts';
import type { Waking } from './row-lock.ts';
import type { AdvisoryLock } from './advisory-locks.ts';
import { newSsiState, type SsiClock } from './ssi.ts';
import type { Xact } from './xact.ts';

/** A table of the schema, as the engine keeps it for every run: its unique indexes, primary key first. */
export interface TableDefinition {
  readonly name: string;
  readonly schema: TableSchema;
  readonly uniques: readonly (readonly string[])[];
  /** The foreign keys the table declares (as a child), and those referencing it (as a parent), in trigger order. */
  readonly foreignKeys: readonly ResolvedForeignKey[];
  readonly referencedBy: readonly ResolvedForeignKey[];
}

/** The engine's definition of each table of `schema`. */
export function tableDefinitions(schema: Schema): TableDefinition[] {
  return Object.entries(schema).map(([name, table]) => ({ name, schema: table, uniques: uniqueIndexes(table), foreignKeys: foreignKeysOf(schema, name), referencedBy: foreignKeysReferencing(schema, name) }));
}

/** A table during one run: its definition and its rows (every version of every row, in insertion order). */
export interface TableState extends TableDefinition {
  readonly rows: RowChain[];
  /**
   * Line pointers used so far: the small one-page heap of a table lockstep
   * creates (emptied by TRUNCATE at each reset, never pruned or vacuumed
   * during a run) hands out the next one to each new row version.
   */
  lines: number;
}

/** The next line pointer of `table`'s heap, for a new row version. */
export function nextLine(table: TableState): number {
  return ++table.lines;
}

/** Where a workload transaction stands: its open database transaction, if any. */
export interface TxSlot {
  xact: Xact | null;
}

/** PostgreSQL's messages for the errors the engine raises itself (SSI's is in `ssi.ts`). */
export const messages = {
  deadlock: 'deadlock detected',
  concurrentUpdate: 'could not serialize access due to concurrent update',
  concurrentDelete: 'could not serialize access due to concurrent delete',
  inFailedTransaction: 'current transaction is aborted, commands ignored until end of transaction block',
};

/** How far a statement got when it ran: to its end, to a wait, or to an error that aborts its transaction. */
export type Progress = 'done' | 'blocked' | DbError;

/**
 * Decides the `ordinal`-th race of a run among waiting transactions
 * (candidates in arrival order); returning undefined, or a transaction not
 * among them, takes the first. PostgreSQL leaves this order to timing: after a
 * committed transaction replaced a row version, the waiters queued on the old
 * version hurry to the new one, and any of them may queue there first. Under
 * serializable a committer races its woken waiters too (see `commit` in
 * `wakeups.ts`): the committer first is SSI recording the commit first.
 */
export type RaceResolver = (ordinal: number, candidates: readonly TxId[]) => TxId | undefined;


/**
 * Everything one run of the engine changes, from `MemoryEngine.reset` to the
 * next: the tables' rows, the transactions and their slots, the commit
 * sequence, the events of the current step, the transactions woken and not yet
 * gone on, the wait clock, the SSI bookkeeping and the races decided. A fresh
 * `Run` is created for each run, so nothing leaks from one run into the next.
 */
export class Run implements Waking {
  readonly tables = new Map<string, TableState>();
  /** Indexed by workload transaction number. */
  readonly slots: TxSlot[] = [];
  /** Commits so far: the snapshot a statement starting now reads at. */
  commitSeq = 0;
  nextXid = 1;
  /** What the current step reports, in the order it happened. */
  events: Event[] = [];
  /** Transactions granted what they waited for during the current step, not yet gone on (see `settle`). */
  readonly woken: Xact[] = [];
  /** Counts waits begun: orders deadlock timers (never wall time). */
  waitClock = 0;
  /** `waitClock` when the current step began. */
  stepStart = 0;
  /** Steps begun in this run (`MemoryEngine.step`), which the races name. */
  steps = 0;
  /** Waiters that began a new wait during the current step without being woken (see `releaseRow`). */
  readonly rewaited: Xact[] = [];
  /** The woken transactions the one now advancing in `settle` was picked ahead of. */
  readonly jumpedAhead: Xact[] = [];
  /** Every SERIALIZABLE transaction of the run, for SIREAD lock checks. */
  readonly serializable: Xact[] = [];
  readonly ssiClock: SsiClock = { last: 0 };
  /** SIREAD locks taken in this run, for their order (see `SireadLock.seq`). */
  sireadSeq = 0;
  /** Every transaction of the run when `recordHistory` is on. */
  readonly recorded: Xact[] = [];
  /**
   * Ends of serializable transactions SSI has not recorded yet, within a
   * step: the woken statement `after` goes on first (a race PostgreSQL
   * leaves to timing, see `recordSsiEnd` in `wakeups.ts`); each is recorded
   * once its statement has, at the latest when the step settles.
   */
  readonly lateSsiEnds: { readonly xact: Xact; readonly after: Xact }[] = [];
  /** Every choice made among racing waiters in this run, in order. */
  readonly races: Race[] = [];
  /** Advisory locks by key, once a transaction of the run takes one (`advisory-locks.ts`). */
  advisory: Map<number, AdvisoryLock> | null = null;

  /**
   * A run whose tables hold exactly `seed` (rows created by `seedXact`, the
   * committed transaction that stands for what was there before), with new
   * transactions at `isolation`. `recordHistory`: transactions record what
   * they read (see `MemoryEngine.recordHistory`).
   */
  constructor(
    definitions: Iterable<TableDefinition>,
    seed: Tables,
    readonly isolation: IsolationLevel,
    readonly seedXact: Xact,
    private readonly resolveRace: RaceResolver | undefined,
    public recordHistory: boolean,
  ) {
    for (const definition of definitions) {
      const rows = seed[definition.name] ?? [];
      // Fields spelt out: an object spread here costs more than the rest of the run's set-up.
      this.tables.set(definition.name, {
        name: definition.name,
        schema: definition.schema,
        uniques: definition.uniques,
        foreignKeys: definition.foreignKeys,
        referencedBy: definition.referencedBy,
        rows: rows.map((data, i) => ({ versions: [{ data, xmin: seedXact, xmax: null, line: i + 1, root: i + 1 }], exclusive: null, shared: [], queue: [] })),
        lines: rows.length,
      });
    }
  }

  table(name: string): TableState {
    const state = this.tables.get(name);
    if (!state) throw new Error(`unknown table ${name}`);
    return state;
  }

  slot(tx: TxId): TxSlot {
    return (this.slots[tx] ??= { xact: null });
  }

  /** Opens a database transaction for workload transaction `tx` at the run's isolation level. */
  begin(tx: TxId): Xact {
    const xact = newXact(this.nextXid++, tx, this.isolation, this.recordHistory);
    if (xact.ssi) this.serializable.push(xact);
    if (xact.observations) this.recorded.push(xact);
    return xact;
  }

  /** The snapshot `xact`'s next statement reads at: the latest commit under read committed, else the one taken at its first statement. */
  snapshotFor(xact: Xact): number {
    if (xact.isolation === 'read-committed') return this.commitSeq;
    if (xact.snapshot < 0) {
      xact.snapshot = this.commitSeq;
      if (xact.ssi) xact.ssi.lastCommitBeforeSnapshot = this.ssiClock.last;
    }
    return xact.snapshot;
  }

  /** Reports that `tx`'s statement completed with `result`. */
  complete(tx: TxId, result: StatementResult): void {
    this.events.push({ tx, kind: 'completed', result });
  }

  /**
   * Chooses among racing waiters: the resolver given to the engine, else
   * first come first served. Every decision is logged in `races`; `deadlock`
   * marks the choice of a deadlock victim.
   */
  pickWaiter(candidates: readonly Xact[], deadlock = false): Xact {
    const ordinal = this.races.length;
    const wanted = this.resolveRace?.(ordinal, candidates.map((x) => x.tx));
    const chosen = candidates.find((x) => x.tx === wanted) ?? candidates[0];
    this.races.push({ ordinal, candidates: candidates.map((x) => x.tx), chosen: chosen.tx, ...(deadlock ? { deadlock: { step: this.steps } } : {}) });
    return chosen;
  }

  /** `x` got what it waited for (a row lock granted, or the transaction it waited for ended): it goes on once the step settles. */
  wakeOne(x: Xact): void {
    if (x.wait?.kind === 'row') x.grantedOnWake = x.wait.chain;
    x.wait = null;
    this.woken.push(x);
  }
}

/** A new database transaction, not yet in any run's lists; `tx` 0 stands for the seed, which neither runs SSI nor records a history. */
export function newXact(xid: number, tx: TxId, isolation: IsolationLevel, recordHistory: boolean): Xact {
  return {
    xid,
    tx,
    isolation,
    status: 'active',
    commitSeq: 0,
    snapshot: -1,
    locks: [],
    writes: [],
    endWaiters: [],
    pending: null,
    wait: null,
    waitSince: 0,
    queuedAt: null,
    walksFrom: null,
    awaited: null,
    grantedOnWake: null,
    ssi: isolation === 'serializable' && tx !== 0 ? newSsiState() : null,
    observations: recordHistory && tx !== 0 ? { items: [], predicates: [] } : null,
  };
}
