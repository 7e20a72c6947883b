import pg from 'pg';
import { reasonOf } from './connection.ts';
import type { CompletionSignal, Waiting } from './settle.ts';

/** PostgreSQL's answer to what a session sent: the result sets that completed, and the database error that ended it, if any. */
export interface Answer {
  readonly results: readonly pg.QueryResult[];
  readonly error: pg.DatabaseError | null;
}

/** How a session's statement stands once sent. */
export interface FlightState<R> {
  /** The driver's reading of PostgreSQL's answer, once it came. */
  result: R | undefined;
  /** PostgreSQL is ready for the session's next query: a failed statement's transaction has released its locks. */
  done: boolean;
  /** The connection broke under the statement: why, in the server's words when it sent a FATAL error. */
  broken: string | undefined;
  /** Whether the statement may wait for a lock, as the driver knows or the model predicts (see `Waiting`); `Sessions.settle` ends a prediction. */
  waiting: Waiting;
}

/** A statement in flight: what the driver sent (`W`: a statement, a spec step) and how it stands. */
export type Flight<W, R> = W & FlightState<R>;

/**
 * One connection of a run (a workload transaction, an isolationtester
 * session) and the statement it has in flight. A statement is sent without
 * waiting; it is `done` once PostgreSQL is ready for the session's next
 * query, or at once when the connection breaks. Every change to `done` fires
 * the run's completion signal, which the settle loop watches.
 *
 * ```ts
 * const flight = session.send({ step }, [{ text: 'select 1' }], ({ results, error }) => error ?? results);
 * await sessions.settle(5000);
 * if (flight.done) report(flight.result);
 * ```
 */
export class Session<W, R> {
  /** The statement sent last, until the driver has reported it (`null`). */
  flight: Flight<W, R> | null = null;
  /** PostgreSQL's transaction status after the session's last query: idle, in a transaction, in a failed transaction. */
  status: 'I' | 'T' | 'E' = 'I';
  /** The connection's error, once it broke. */
  lost: Error | undefined;
  /** A FATAL error the server sent before ending the connection. */
  private fatal: string | undefined;

  constructor(
    /** The run's number for the session: a transaction id, a spec session's index. */
    readonly key: number,
    /** How sentences name the session: `T1`, `session s1`. */
    readonly label: string,
    readonly client: pg.Client,
    /** `pg_backend_pid()` of the connection. */
    readonly pid: number,
    private readonly finished: CompletionSignal,
    lost: Error | undefined,
  ) {
    this.lost = lost;
    client.on('error', (e: Error) => this.broke(e));
    client.on('drain', () => this.drained());
  }

  /** A statement is in flight and not done. */
  get busy(): boolean {
    return this.flight !== null && !this.flight.done;
  }

  /**
   * Sends `queries` without waiting for them; `read` turns PostgreSQL's
   * answer to the last one (results, or a database error) into the flight's
   * result. No queries: the flight is done at once, `read` given an empty answer.
   * `waiting`: whether the queries may wait for a lock (default `may`).
   */
  send(sent: W, queries: readonly pg.QueryConfig[], read: (answer: Answer) => R, waiting: Waiting = 'may'): Flight<W, R> {
    if (this.lost !== undefined) throw new Error(`the connection of ${this.label} was lost: ${reasonOf(this.lost)}`);
    if (this.busy) throw new Error(`${this.label} is blocked and cannot take a step`);
    const flight: Flight<W, R> = { ...sent, result: undefined, done: false, broken: undefined, waiting };
    this.flight = flight;
    if (queries.length === 0) {
      flight.result = read({ results: [], error: null });
      flight.done = true;
    }
    // The queries go out in one write (the pipelined client sends each at once): one system call, not one per query.
    const stream = (this.client as unknown as { connection: { stream: { cork?(): void; uncork?(): void } } }).connection.stream;
    stream.cork?.();
    try {
      for (const [i, config] of queries.entries()) {
        const last = i === queries.length - 1;
        const query: pg.Query = new pg.Query(config, undefined, (error: Error | undefined, results: unknown) => {
          if (last) this.answered(flight, query, error ?? null, results as pg.QueryResult | pg.QueryResult[] | undefined, read);
        });
        this.client.query(query);
      }
    } finally {
      stream.uncork?.();
    }
    return flight;
  }

  private answered(flight: Flight<W, R>, query: pg.Query, error: Error | null, results: pg.QueryResult | pg.QueryResult[] | undefined, read: (answer: Answer) => R): void {
    if (error === null) {
      flight.result = read({ results: asList(results), error: null });
    } else if (error instanceof pg.DatabaseError && error.code !== undefined) {
      if (error.severity === 'FATAL') this.fatal = error.message;
      // The result sets of the statements before the failing one (a multi-statement query).
      const partial = asList((query as unknown as { _results: pg.QueryResult | pg.QueryResult[] })._results).filter((r) => r?.command);
      flight.result = read({ results: partial, error });
    } else {
      this.end(flight, error);
    }
  }

  private broke(e: Error): void {
    this.lost = e;
    if (this.flight !== null) this.end(this.flight, e);
  }

  /** The connection broke under `flight`: it is done, and broken. */
  private end(flight: Flight<W, R>, e: Error): void {
    flight.broken ??= this.fatal ?? reasonOf(e);
    if (flight.done) return;
    flight.done = true;
    this.finished.fire();
  }

  private drained(): void {
    const status = this.client.getTransactionStatus();
    if (status === 'I' || status === 'T' || status === 'E') this.status = status;
    const flight = this.flight;
    if (flight !== null && flight.result !== undefined && !flight.done) {
      flight.done = true;
      this.finished.fire();
    }
  }
}

function asList(results: pg.QueryResult | readonly pg.QueryResult[] | undefined): pg.QueryResult[] {
  if (results === undefined) return [];
  return Array.isArray(results) ? [...results] : [results as pg.QueryResult];
}
