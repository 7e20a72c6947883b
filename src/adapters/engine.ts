import type { Tables } from '../model/schema.ts';
import type { Statement } from '../model/statement.ts';
import type { Event, IsolationLevel, TxId } from './backend.ts';

/**
 * A database the explorer steps synchronously, one statement at a time:
 * `Backend`'s protocol without promises, so that exploring makes no promise
 * per step. The memory engine (`adapters/memory`) implements it; the
 * explorer depends on this interface and makes its engines in one place
 * (`src/explorer/model-engine.ts`).
 *
 * ```ts
 * engine.reset(seed, 'read-committed');
 * engine.step(1, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' });
 * engine.step(2, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' }); // [{ tx: 2, kind: 'blocked', waitsFor: [1] }]
 * engine.isBlocked(2); // true
 * ```
 */
export interface Engine {
  /** Starts a run: every table holds exactly `seed`, no transaction is open, new transactions use `isolation`. */
  reset(seed: Tables, isolation: IsolationLevel): void;
  /** Runs `statement` as transaction `tx` and settles; see `Backend.step`. */
  step(tx: TxId, statement: Statement): Event[];
  /** Ends `tx`'s transaction after an error its program did not handle, as a ROLLBACK would. */
  abandon(tx: TxId): Event[];
  /** True while `tx` has a statement waiting for a lock. */
  isBlocked(tx: TxId): boolean;
  /** Committed contents of every table, rows in primary-key order. */
  tables(): Tables;
  /** The committed rows of every table (but those in `leaveOut`) in the orders a sequential and a bitmap heap scan meet them, as a name: equal names, equal orders. */
  heapOrder(leaveOut?: TableNames): string;
  /**
   * A name for the engine's whole state between steps: two states with the
   * same name go on in the same ways, once each transaction of one is taken
   * for the one at the same place in the other's `txs`. Null where the
   * engine cannot name it (then exhaustive search caches nothing there).
   * `leaveOut`: tables whose rows the name leaves out (the caller knows no
   * statement reads them and what they hold: `id-columns.ts`).
   */
  stateKey(leaveOut?: TableNames): EngineStateKey | null;
}

/** Tables, asked by name (a set, or a map keyed by table). */
export interface TableNames {
  has(table: string): boolean;
}

/** The engine's name for its state: the name, in which transactions are numbered from 1 in the order it mentions them, and the workload transaction of each number (`txs[0]` is number 1). */
export interface EngineStateKey {
  readonly key: string;
  readonly txs: readonly TxId[];
}

/**
 * A choice among waiters racing for what one of them releases, where
 * PostgreSQL leaves the winner to timing; under serializable also whether a
 * statement woken by a COMMIT goes on before SSI records that commit (the
 * committer is the first candidate, chosen when SSI records it first).
 */
export interface Race {
  /** Position among the run's races, from 0. */
  readonly ordinal: number;
  readonly candidates: readonly TxId[];
  readonly chosen: TxId;
  /**
   * Set when the race is which member of a wait-for cycle is the deadlock
   * victim: every member began its current wait during one step, so their
   * deadlock timers started in an order left to timing. `step` counts the
   * steps the run had begun then, from 1 (a race during an abandon counts
   * with the step before it).
   */
  readonly deadlock?: { readonly step: number };
}

/** An engine whose races replay can steer: `races` logs every choice of the current run. */
export interface RacingEngine extends Engine {
  readonly races: readonly Race[];
}
