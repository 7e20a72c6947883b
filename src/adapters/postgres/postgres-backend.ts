import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Backend, Event, IsolationLevel, StepForecast, TxId } from '../backend.ts';
import { canonicalTables, compareBy, rowFromPostgres, type Row, type Schema, type Tables } from '../../model/schema.ts';
import { describeStatement, isSavepointControl, SqlState, type Statement, type StatementResult } from '../../model/statement.ts';
import { endClient } from './connection.ts';
import { CompiledStatements } from './compiled-statements.ts';
import { opening, Sessions } from './sessions.ts';
import { advisoryLockRows, aggregateRows, SqlCompiler } from './sql-compiler.ts';

/** How to reach PostgreSQL: a URL or a `pg` client configuration. */
export type PostgresConnection = string | pg.ClientConfig;

/** Tuning of the PostgreSQL backend; the defaults suit replay. */
export interface PostgresBackendOptions {
  /** `application_name` of every connection, to find them in `pg_stat_activity` (default `lockstep`). */
  readonly applicationName?: string;
  /**
   * `deadlock_timeout` of every workload session (default 3000 ms). Long on
   * purpose: a transaction the model names as deadlock victim runs its
   * statement with 1 ms, so its deadlock check fires first.
   */
  readonly deadlockTimeoutMs?: number;
  /** Longest a step waits for PostgreSQL to settle before reporting what it sees (default: deadlock timeout + 2000 ms). */
  readonly settleDeadlineMs?: number;
  /** `lock_timeout` and `statement_timeout` of every session: a safety net, never reached in a healthy run (default 60000 ms). */
  readonly safetyTimeoutMs?: number;
  /**
   * While the backend is being created: when it aborts, creation stops, the
   * run schema is dropped and an `InterruptedError` thrown. Once created,
   * the caller closes it (on abort too).
   */
  readonly signal?: AbortSignal;
}

/**
 * Creates a PostgreSQL backend for `schema`: connects, creates a schema of
 * its own (`lockstep_<hex>`) with the scenario's tables, and is ready for
 * `reset`. Call `close()` to drop that schema and every connection.
 *
 * ```ts
 * const server = await provisionPostgres();
 * const backend = await createPostgresBackend(server.url, pointsSchema);
 * try { await runOnBackend(backend, spec, choiceSchedule([0, 1])); } finally { await backend.close(); await server.stop(); }
 * ```
 */
export async function createPostgresBackend(connection: PostgresConnection, schema: Schema, options: PostgresBackendOptions = {}): Promise<PostgresBackend> {
  const config = typeof connection === 'string' ? { connectionString: connection } : connection;
  const backend = new PostgresBackend(config, schema, options);
  return opening(
    options.signal,
    'Could not create the run schema on PostgreSQL',
    async () => {
      await backend.open();
      return backend;
    },
    () => backend.close(),
  );
}

/**
 * `deadlock_timeout` of a statement the model makes a later deadlock victim
 * (see `StepForecast`): long enough for the other members, woken in the same
 * step, to begin their waits before its check, far shorter than theirs.
 */
const laterVictimTimeoutMs = 200;

/** The statement a workload transaction has in flight. */
interface Sent {
  readonly statement: Statement;
}

/**
 * Whether PostgreSQL runs `statement` without ever waiting for another
 * transaction (so the settle need not poll while it runs): COMMIT, ROLLBACK
 * and the savepoint statements take no lock (the run's tables have no
 * deferred constraints), a select without a locking clause takes only an
 * ACCESS SHARE lock on its table (no statement of a run conflicts with it),
 * and `pg_try_advisory_xact_lock` answers at once. The begin and `set local`
 * sent before a statement do not wait either. Everything else (writes,
 * locking selects, even with SKIP LOCKED or NOWAIT, and advisory locks) may.
 */
export function neverWaits(statement: Statement): boolean {
  switch (statement.kind) {
    case 'commit':
    case 'rollback':
    case 'savepoint':
    case 'release':
    case 'rollback-to':
      return true;
    case 'select':
      return statement.lock === undefined;
    case 'advisory-lock':
      return statement.try === true;
    default:
      return false;
  }
}

/**
 * Whether `statement` may release locks when it completes without an error:
 * COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT do; every other statement keeps
 * what its transaction holds (advisory locks are the transaction's, held to
 * its end). A statement that fails releases its transaction's locks.
 */
export function releasesLocks(statement: Statement): boolean {
  return statement.kind === 'commit' || statement.kind === 'rollback' || statement.kind === 'rollback-to';
}

/** How often (ms) a waiting statement checks that its client is still there. */
const connectionCheck = { client_connection_check_interval: 500 };

/**
 * lockstep's `Backend` on real PostgreSQL: one connection per workload
 * transaction plus a control connection, statements compiled with kysely.
 *
 * A step sends the statement and settles: it polls `pg_blocking_pids` on the
 * control connection, back to back with no sleep, until every in-flight
 * statement has completed or is blocked by another transaction of the run
 * and no wait-for cycle remains (PostgreSQL has not resolved it yet), or
 * until the settle deadline. A failed statement counts as completed only
 * once PostgreSQL is ready for the session's next query, when the aborted
 * transaction has released its locks.
 *
 * Deadlock victims: PostgreSQL aborts the waiter whose `deadlock_timeout`
 * fires first while the cycle exists (it checks once per wait, when the
 * timer fires). Sessions run with a long timeout; when the model's events
 * for the step (`expected`) say the stepped transaction ends with 40P01, its
 * statement runs with `set local deadlock_timeout = 1` (ms), so PostgreSQL
 * aborts the model's victim at once. A statement the `forecast` names as a
 * later victim runs with 200 ms: it checks 200 ms into its first wait and
 * finds no cycle, and again 200 ms into the wait it begins when woken in the
 * step that closes the cycle, once the other woken members have begun theirs
 * and before their long timers fire. Any other cycle closed by a transaction
 * woken during the settle is not steered: PostgreSQL aborts the member that
 * has waited longest, after the long timeout. Without `expected`, every
 * deadlock is resolved that way.
 *
 * `waitsFor` is what `pg_blocking_pids` reports, sorted by transaction. The
 * rows an update or delete returns are sorted by primary key, as the model
 * returns them (PostgreSQL returns them in scan order).
 */
export class PostgresBackend implements Backend {
  private version = '';
  private readonly compiler: SqlCompiler;
  /** The compiler's statements and scripts, each compiled once. */
  private readonly compiled: CompiledStatements;
  /** The same statements without the run schema's random name, for reports (the same bytes on every replay). */
  private readonly described: CompiledStatements;
  /** The settings every workload session starts with (known once the server's version is). */
  private sessionSettings = '';
  private readonly sessions: Sessions<Sent, StatementResult>;
  /** Transactions whose statement runs with a short deadlock_timeout (`set local`, gone at their end). */
  private readonly fastDeadlock = new Set<TxId>();
  /** Steps since the last reset, to name the one running when PostgreSQL is lost. */
  private stepsSinceReset = 0;
  /** The last settle ended with every statement in flight completed or blocked (not at its deadline). */
  private lastSettled = true;
  /** Whether this role may set deadlock_timeout (a superuser-only setting before PostgreSQL 15 grants). */
  private steersDeadlocks = false;
  private isolation: IsolationLevel = 'read-committed';
  private readonly applicationName: string;
  private readonly deadlockTimeoutMs: number;
  private readonly settleDeadlineMs: number;
  private readonly safetyTimeoutMs: number;

  /** Use `createPostgresBackend`. */
  constructor(
    config: pg.ClientConfig,
    readonly schema: Schema,
    options: PostgresBackendOptions = {},
  ) {
    this.compiler = new SqlCompiler(schema, `lockstep_${randomBytes(6).toString('hex')}`);
    this.compiled = new CompiledStatements(this.compiler);
    this.described = new CompiledStatements(new SqlCompiler(schema, ''));
    this.applicationName = options.applicationName ?? 'lockstep';
    this.deadlockTimeoutMs = options.deadlockTimeoutMs ?? 3000;
    this.settleDeadlineMs = options.settleDeadlineMs ?? this.deadlockTimeoutMs + 2000;
    this.safetyTimeoutMs = options.safetyTimeoutMs ?? 60_000;
    this.sessions = new Sessions({ config, applicationName: this.applicationName, label: (tx) => `T${tx}` });
    this.sessions.dropOnClose = { schema: this.compiler.schemaName };
  }

  /** `PostgreSQL 17.6`. */
  get name(): string {
    return `PostgreSQL ${this.version}`;
  }

  /** The run schema holding this backend's tables. */
  get schemaName(): string {
    return this.compiler.schemaName;
  }

  /** Connects the control connection and creates the run schema. */
  async open(): Promise<void> {
    this.version = await this.sessions.openControl(this.settings({ standard_conforming_strings: 'on', search_path: this.schemaName }));
    const control = this.sessions.control;
    this.steersDeadlocks = await control.query(`set deadlock_timeout = ${this.deadlockTimeoutMs}`).then(
      () => true,
      () => false,
    );
    if (this.checksConnection()) await control.query(this.settings(connectionCheck));
    this.sessionSettings = this.settings({ search_path: this.schemaName, deadlock_timeout: this.deadlockTimeoutMs, ...(this.checksConnection() ? connectionCheck : {}) });
    this.sessions.throwIfClosed();
    await control.query(this.compiler.createSchemaScript());
  }

  /**
   * PostgreSQL 14 and later can notice, while a statement waits for a lock,
   * that its client has gone (Ctrl-C, a killed process), and cancel the
   * statement instead of running it once the lock is free: without this, an
   * interrupted CREATE SCHEMA would still create the run schema.
   */
  private checksConnection(): boolean {
    return Number.parseInt(this.version, 10) >= 14;
  }

  async reset(seed: Tables, isolation: IsolationLevel): Promise<void> {
    await this.failing('while resetting the tables', async () => {
      await this.endTransactions();
      await this.sessions.control.query(this.compiled.resetScript(seed));
    });
    this.isolation = isolation;
    this.stepsSinceReset = 0;
    this.lastSettled = true;
  }

  async step(tx: TxId, statement: Statement, expected?: readonly Event[], forecast?: StepForecast): Promise<Event[]> {
    const n = ++this.stepsSinceReset;
    return this.failing(`at step ${n} (T${tx}: ${describeStatement(statement)})`, () => this.runStep(tx, statement, expected, forecast));
  }

  /**
   * Runs `work`; a failure of PostgreSQL under it (a lost server, a
   * terminated backend) becomes one `EnvironmentError` naming `when` it
   * happened, and a failure because the backend was closed under it (an
   * abort) an `InterruptedError`.
   */
  private async failing<T>(when: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw this.sessions.failure(e, when);
    }
  }

  private async runStep(tx: TxId, statement: Statement, expected?: readonly Event[], forecast?: StepForecast): Promise<Event[]> {
    const session = await this.sessions.connect(tx, this.sessionSettings, true);
    // What the model predicts for this statement in this step: its result, or none (it waits).
    const own = expected?.find((e) => e.tx === tx);
    const predicted = own?.kind === 'completed' ? own.result : undefined;
    const queries: pg.QueryConfig[] = [];
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      if (session.status !== 'I') queries.push({ text: statement.kind });
    } else {
      if (session.status === 'I') {
        queries.push({ text: this.compiler.begin(this.isolation) });
        this.fastDeadlock.delete(tx);
      } else if (this.fastDeadlock.has(tx) && session.status === 'T') {
        queries.push({ text: `set local deadlock_timeout = ${this.deadlockTimeoutMs}` });
        this.fastDeadlock.delete(tx);
      }
      const victimTimeoutMs = predicted?.error?.code === SqlState.deadlockDetected ? 1 : forecast?.laterDeadlockVictim ? laterVictimTimeoutMs : null;
      if (this.steersDeadlocks && victimTimeoutMs !== null) {
        queries.push({ text: `set local deadlock_timeout = ${victimTimeoutMs}` });
        this.fastDeadlock.add(tx);
      }
      const compiled = this.compiled.statement(statement);
      queries.push({ text: compiled.sql, values: compiled.parameters as unknown[] });
    }
    const flight = session.send(
      { statement },
      queries,
      ({ results, error }) => (error === null ? { rows: this.resultRows(statement, results[results.length - 1]) } : { error: { code: error.code!, message: error.message } }),
      neverWaits(statement) ? 'never' : predicted !== undefined ? 'unexpected' : 'may',
    );
    // The model says the statement succeeds and releases no one, and it cannot release a lock unless it fails: once it
    // has completed without an error, the statements blocked when the last step settled are blocked still. (A predicted
    // failure may be a deadlock, where PostgreSQL could abort another victim and wake others; that step polls.)
    const quiet = this.lastSettled && !releasesLocks(statement) && expected?.length === 1 && predicted !== undefined && predicted.error === undefined;
    return this.settle(tx, quiet ? () => flight.done && flight.result?.error === undefined : undefined);
  }

  async abandon(tx: TxId): Promise<Event[]> {
    return this.step(tx, { kind: 'rollback' });
  }

  async tables(): Promise<Tables> {
    const answer = (await this.failing('while reading the final tables', () => this.sessions.control.query(this.compiled.tablesScript()))) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(answer) ? answer : [answer];
    const out: Tables = {};
    Object.keys(this.schema).forEach((name, i) => {
      out[name] = results[i].rows.map((row) => this.plainRow(name, row));
    });
    return canonicalTables(this.schema, out);
  }

  /** The SQL a statement runs as, tables unqualified (the run schema is the search path), parameters shown after it: `update "accounts" set "balance" = $1 where "id" = $2 returning *  -- $1=2700, $2=1`. */
  describe(statement: Statement): string {
    const { sql, parameters } = this.described.statement(statement);
    return parameters.length ? `${sql}  -- ${parameters.map((p, i) => `$${i + 1}=${JSON.stringify(p)}`).join(', ')}` : sql;
  }

  /** Ends every connection and drops the run schema. Idempotent; safe after errors and with statements still blocked. */
  close(): Promise<void> {
    return this.sessions.close();
  }

  /** `set name = value; ...` for the given settings (values are numbers or plain words). */
  private settings(values: Record<string, string | number>): string {
    return Object.entries({
      application_name: this.applicationName,
      lock_timeout: this.safetyTimeoutMs,
      statement_timeout: this.safetyTimeoutMs,
      idle_in_transaction_session_timeout: 0,
      ...values,
    })
      .map(([name, value]) => `set ${name} = ${typeof value === 'number' ? value : pg.escapeLiteral(value)}`)
      .join('; ');
  }

  /**
   * Settles, then reports the stepped transaction and every other
   * transaction whose statement completed.
   */
  private async settle(stepped: TxId, stillBlocked?: () => boolean): Promise<Event[]> {
    let settled = true;
    const waits = await this.sessions.settle(this.settleDeadlineMs, { stillBlocked, onDeadline: () => (settled = false) });
    this.lastSettled = settled;
    const events: Event[] = [];
    for (const s of this.sessions.list()) {
      const flight = s.flight;
      if (flight === null) continue;
      if (flight.done) {
        events.push({ tx: s.key, kind: 'completed', result: flight.result! });
        s.flight = null;
      } else if (s.key === stepped) {
        events.push({ tx: s.key, kind: 'blocked', waitsFor: waits.get(s.key) ?? [] });
      }
    }
    return events;
  }

  /** Result rows as plain objects in column order; an update's or delete's rows sorted by primary key like the model's. */
  private resultRows(statement: Statement, result: pg.QueryResult): Row[] {
    if (statement.kind === 'commit' || statement.kind === 'rollback' || isSavepointControl(statement)) return [];
    if (statement.kind === 'advisory-lock') return advisoryLockRows(statement, result.rows);
    if (statement.kind === 'select' && statement.aggregate !== undefined) return aggregateRows(statement, result.rows);
    const rows = result.rows.map((row) => this.plainRow(statement.table, row));
    if (statement.kind === 'update' || statement.kind === 'delete') {
      const pk = this.schema[statement.table].primaryKey;
      rows.sort((a, b) => compareBy(pk, a, b));
    }
    return rows;
  }

  private plainRow(table: string, row: Record<string, unknown>): Row {
    return rowFromPostgres(this.schema[table], row);
  }

  /** Rolls back whatever is open; a statement still blocked from an earlier run has its backend terminated. */
  private async endTransactions(): Promise<void> {
    const stuck = this.sessions.list().filter((s) => s.lost !== undefined || s.busy);
    if (stuck.length > 0) {
      for (const s of stuck) this.sessions.remove(s);
      try {
        await this.sessions.terminate(stuck.filter((s) => s.lost === undefined));
      } finally {
        // Removed from the sessions, so close() no longer ends them: they are ended here whatever terminate met.
        await Promise.all(stuck.map((s) => endClient(s.client)));
      }
    }
    for (const s of this.sessions.list()) s.flight = null;
    this.fastDeadlock.clear();
    await this.sessions.rollback();
  }
}
