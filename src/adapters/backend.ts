import type { Tables } from '../model/schema.ts';
import type { Statement, StatementResult } from '../model/statement.ts';
import type { IsolationLevel, TxId } from '../model/transaction.ts';

export { isolationLevels, type IsolationLevel, type TxId } from '../model/transaction.ts';

/**
 * How one transaction's statement stands once a step has settled: it
 * completed with a result, or it is blocked waiting for other transactions.
 */
export type Event =
  | { readonly tx: TxId; readonly kind: 'completed'; readonly result: StatementResult }
  | { readonly tx: TxId; readonly kind: 'blocked'; readonly waitsFor: readonly TxId[] };

/** What the model predicts for a statement beyond the step that submits it (see `Backend.step`). */
export interface StepForecast {
  /**
   * The statement waits, and in a later step is the deadlock victim of a
   * wait-for cycle whose members all began their current waits in that step
   * (woken by one commit or rollback, each waiting again): which of them
   * PostgreSQL aborts is left to timing, and the model chose this one.
   */
  readonly laterDeadlockVictim?: boolean;
}

/**
 * A database lockstep can step through, one statement at a time. The memory
 * engine (`adapters/memory`) and PostgreSQL (`adapters/postgres`) implement it;
 * a new database is one new folder implementing this interface.
 *
 * A step submits one statement of one transaction and then settles: it returns
 * once every in-flight statement has either completed or is blocked. The events
 * name the stepped transaction and every previously blocked transaction whose
 * statement completed during the settle, in transaction order.
 */
export interface Backend {
  /** Which database this is, for reports (`memory`, `PostgreSQL 17.6`). */
  readonly name: string;
  /** Starts a run: every table holds exactly `seed`, no transaction is open, new transactions use `isolation`. */
  reset(seed: Tables, isolation: IsolationLevel): Promise<void>;
  /**
   * Runs `statement` as transaction `tx` (opening a transaction if it has none) and settles.
   *
   * `expected`, when given, is what the model predicts for this step (its
   * events), and `forecast` what it predicts for the statement later. A
   * backend may use them only to steer a choice the database leaves to
   * timing towards the model's choice, never to fabricate a result:
   * PostgreSQL makes the deadlock victim the transaction the model aborts
   * with 40P01. The memory engine ignores both.
   */
  step(tx: TxId, statement: Statement, expected?: readonly Event[], forecast?: StepForecast): Promise<Event[]>;
  /** Ends `tx`'s transaction after an error the program did not handle (sends ROLLBACK); settles like a step. */
  abandon(tx: TxId): Promise<Event[]>;
  /** Committed contents of every table, rows in primary-key order. */
  tables(): Promise<Tables>;
  /**
   * A statement as this backend runs it, for reports: PostgreSQL's SQL
   * (tables unqualified, parameters after it), the model's short form.
   */
  describe(statement: Statement): string;
  /** Releases everything the backend holds. */
  close(): Promise<void>;
}

