import { EnvironmentError, InterruptedError, LockstepError, throwIfInterrupted } from '../../errors.ts';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Backend, Event, IsolationLevel, TxId } from '../backend.ts';
import { canonicalTables, compareBy, rowFromPostgres, type Row, type Schema, type Tables } from '../../model/schema.ts';
import { describeStatement, isSavepointControl, SqlState, type Statement, type StatementResult } from '../../model/statement.ts';
import { CompletionSignal, pollUntilSettled } from './settle.ts';
import { advisoryLockRows, SqlCompiler } from './sql-compiler.ts';

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
  const signal = options.signal;
  throwIfInterrupted(signal);
  const onAbort = () => void backend.close().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await backend.open();
    throwIfInterrupted(signal);
    return backend;
  } catch (e) {
    await backend.close().catch(() => {});
    if (signal?.aborted) throw new InterruptedError();
    if (e instanceof LockstepError) throw e;
    throw new EnvironmentError(`Could not create the run schema on PostgreSQL: ${reasonOf(e)}.`, { cause: e });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** What happened to a workload transaction's statement once it was sent. */
interface Flight {
  readonly statement: Statement;
  /** The statement's result, once PostgreSQL answered. */
  result: StatementResult | undefined;
  /** The session is ready for its next query: a failed statement's transaction has released its locks. */
  done: boolean;
  /** The connection broke (not a database error). */
  broken: Error | undefined;
}

/** One connection per workload transaction, reused across resets. */
interface Session {
  readonly tx: TxId;
  readonly client: pg.Client;
  readonly pid: number;
  /** PostgreSQL's transaction status after the last query: idle, in a transaction, in a failed transaction. */
  status: 'I' | 'T' | 'E';
  flight: Flight | null;
  /** This transaction runs with the 1 ms deadlock_timeout (`set local`, gone at its end). */
  fastDeadlock: boolean;
  lost: Error | undefined;
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
 * fires first while the cycle exists. Sessions run with a long timeout; when
 * the model's events for the step (`expected`) say the stepped transaction
 * ends with 40P01, its statement runs with `set local deadlock_timeout = 1`
 * (ms), so PostgreSQL aborts the model's victim. A cycle closed by a
 * transaction woken during the settle cannot be steered (its statement is
 * already running): PostgreSQL then aborts the member that has waited
 * longest. Without `expected`, every deadlock is resolved after the long
 * timeout, the same way.
 *
 * `waitsFor` is what `pg_blocking_pids` reports, sorted by transaction. The
 * rows an update or delete returns are sorted by primary key, as the model
 * returns them (PostgreSQL returns them in scan order).
 */
export class PostgresBackend implements Backend {
  private version = '';
  private readonly compiler: SqlCompiler;
  private readonly sessions = new Map<TxId, Session>();
  private readonly connecting = new Map<TxId, Promise<Session>>();
  private control: pg.Client | undefined;
  private controlConnected = false;
  /** The control connection's connect, awaited by `close` so that nothing it sends outlives the close. */
  private controlConnecting: Promise<unknown> | undefined;
  private controlPid: number | undefined;
  /** Steps since the last reset, to name the one running when PostgreSQL is lost. */
  private stepsSinceReset = 0;
  /** Whether this role may set deadlock_timeout (a superuser-only setting before PostgreSQL 15 grants). */
  private steersDeadlocks = false;
  private isolation: IsolationLevel = 'read-committed';
  /** Fired whenever an in-flight statement finishes, so a poll that raced with it is not trusted. */
  private readonly finished = new CompletionSignal();
  private closing: Promise<void> | undefined;
  private readonly applicationName: string;
  private readonly deadlockTimeoutMs: number;
  private readonly settleDeadlineMs: number;
  private readonly safetyTimeoutMs: number;

  /** Use `createPostgresBackend`. */
  constructor(
    private readonly config: pg.ClientConfig,
    readonly schema: Schema,
    options: PostgresBackendOptions = {},
  ) {
    this.compiler = new SqlCompiler(schema, `lockstep_${randomBytes(6).toString('hex')}`);
    this.applicationName = options.applicationName ?? 'lockstep';
    this.deadlockTimeoutMs = options.deadlockTimeoutMs ?? 3000;
    this.settleDeadlineMs = options.settleDeadlineMs ?? this.deadlockTimeoutMs + 2000;
    this.safetyTimeoutMs = options.safetyTimeoutMs ?? 60_000;
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
    const control = new pg.Client({ ...this.config, application_name: this.applicationName, pipeline: true });
    control.on('error', () => {});
    this.control = control;
    this.controlConnecting = control.connect();
    await this.controlConnecting;
    this.controlConnected = true;
    this.checkOpen();
    const settings = this.settings({ standard_conforming_strings: 'on', search_path: this.schemaName });
    const answer = (await control.query(`${settings}; select current_setting('server_version') as version, pg_backend_pid() as pid`)) as unknown as pg.QueryResult[];
    const row = answer[answer.length - 1].rows[0];
    this.version = String(row.version).split(' ')[0];
    this.controlPid = Number(row.pid);
    this.steersDeadlocks = await control.query(`set deadlock_timeout = ${this.deadlockTimeoutMs}`).then(
      () => true,
      () => false,
    );
    if (this.checksConnection()) await control.query(this.settings(connectionCheck));
    this.checkOpen();
    await control.query(this.compiler.createSchemaScript());
  }

  /** Stops `open` once `close` has begun, so it creates nothing `close` would not drop. */
  private checkOpen(): void {
    if (this.closing !== undefined) throw new InterruptedError();
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
      await this.controlClient().query(this.compiler.resetScript(seed));
    });
    this.isolation = isolation;
    this.stepsSinceReset = 0;
  }

  async step(tx: TxId, statement: Statement, expected?: readonly Event[]): Promise<Event[]> {
    const n = ++this.stepsSinceReset;
    return this.failing(`at step ${n} (T${tx}: ${describeStatement(statement)})`, () => this.runStep(tx, statement, expected));
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
      if (this.closing !== undefined || e instanceof InterruptedError) throw new InterruptedError();
      if (e instanceof LockstepError && !(e instanceof EnvironmentError)) throw e;
      throw new EnvironmentError(`PostgreSQL failed ${when}: ${reasonOf(e)}.`, { cause: e });
    }
  }

  private async runStep(tx: TxId, statement: Statement, expected?: readonly Event[]): Promise<Event[]> {
    const session = await this.session(tx);
    if (session.flight !== null && !session.flight.done) throw new Error(`T${tx} is blocked and cannot take a step`);
    const flight: Flight = { statement, result: undefined, done: false, broken: undefined };
    const queries: pg.QueryConfig[] = [];
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      if (session.status !== 'I') queries.push({ text: statement.kind });
    } else {
      if (session.status === 'I') {
        queries.push({ text: this.compiler.begin(this.isolation) });
      } else if (session.fastDeadlock && session.status === 'T') {
        queries.push({ text: `set local deadlock_timeout = ${this.deadlockTimeoutMs}` });
        session.fastDeadlock = false;
      }
      if (this.steersDeadlocks && expected?.some((e) => e.tx === tx && e.kind === 'completed' && e.result.error?.code === SqlState.deadlockDetected)) {
        queries.push({ text: `set local deadlock_timeout = 1` });
        session.fastDeadlock = true;
      }
      const compiled = this.compiler.statement(statement);
      queries.push({ text: compiled.sql, values: compiled.parameters as unknown[] });
    }
    session.flight = flight;
    if (queries.length === 0) {
      flight.result = { rows: [] };
      flight.done = true;
    }
    for (const [i, query] of queries.entries()) {
      const last = i === queries.length - 1;
      session.client.query(query, (error: Error | null, result: pg.QueryResult | undefined) => {
        if (last) this.record(flight, error, result);
      });
    }
    return this.settle(tx);
  }

  async abandon(tx: TxId): Promise<Event[]> {
    return this.step(tx, { kind: 'rollback' });
  }

  async tables(): Promise<Tables> {
    const answer = (await this.failing('while reading the final tables', () => this.controlClient().query(this.compiler.tablesScript()))) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(answer) ? answer : [answer];
    const out: Tables = {};
    Object.keys(this.schema).forEach((name, i) => {
      out[name] = results[i].rows.map((row) => this.plainRow(name, row));
    });
    return canonicalTables(this.schema, out);
  }

  /** Ends every connection and drops the run schema. Idempotent; safe after errors and with statements still blocked. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * With an idle control connection, rolls back through it; when it is busy
   * (an abort in the middle of a step or of `open`) or gone (a terminated
   * backend, a lost server), a fresh connection terminates this backend's
   * sessions and drops the run schema (`releaseOnServer`).
   */
  private async shutDown(): Promise<void> {
    await Promise.allSettled([this.controlConnecting, ...this.connecting.values()]);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    const control = this.control;
    const controlIdle = control !== undefined && this.controlConnected && (await answersWithin(control, 1000));
    if (controlIdle) {
      // A blocked statement keeps its connection from ending: terminate those backends first.
      const stuck = sessions.filter((s) => s.lost === undefined && s.flight !== null && !s.flight.done).map((s) => s.pid);
      if (stuck.length > 0) await control.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [stuck]).catch(() => {});
      await Promise.all(sessions.map((s) => endClient(s.client)));
      const dropped = await control.query(this.compiler.dropSchemaScript()).then(
        () => true,
        () => false,
      );
      await endClient(control);
      if (dropped) return;
    }
    if (this.controlConnected) {
      const pids = [...sessions.map((s) => s.pid), ...(this.controlPid !== undefined ? [this.controlPid] : [])];
      await releaseOnServer(this.config, { terminate: pids, dropSchema: this.schemaName }).catch(() => {});
    }
    await Promise.all([...sessions.map((s) => endClient(s.client)), ...(control !== undefined ? [endClient(control)] : [])]);
  }

  private controlClient(): pg.Client {
    if (this.closing !== undefined || this.control === undefined) throw new Error('the PostgreSQL backend is closed');
    return this.control;
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

  private session(tx: TxId): Promise<Session> {
    const existing = this.sessions.get(tx);
    if (existing?.lost !== undefined) throw new Error(`the connection of T${tx} was lost: ${reasonOf(existing.lost)}`);
    if (existing !== undefined) return Promise.resolve(existing);
    this.controlClient();
    let pending = this.connecting.get(tx);
    if (pending === undefined) {
      pending = this.connect(tx).finally(() => this.connecting.delete(tx));
      this.connecting.set(tx, pending);
    }
    return pending;
  }

  private async connect(tx: TxId): Promise<Session> {
    const client = new pg.Client({ ...this.config, application_name: this.applicationName, pipeline: true });
    let lost: Error | undefined;
    client.on('error', (e) => {
      lost = e;
      const s = this.sessions.get(tx);
      if (s?.client === client) s.lost = e;
    });
    try {
      await client.connect();
      const answer = (await client.query(
        `${this.settings({ search_path: this.schemaName, deadlock_timeout: this.deadlockTimeoutMs, ...(this.checksConnection() ? connectionCheck : {}) })}; select pg_backend_pid() as pid`,
      )) as unknown as pg.QueryResult[];
      const pid = Number(answer[answer.length - 1].rows[0].pid);
      const session: Session = { tx, client, pid, status: 'I', flight: null, fastDeadlock: false, lost };
      client.on('drain', () => this.drained(session));
      if (this.closing !== undefined) throw new Error('the PostgreSQL backend is closed');
      this.sessions.set(tx, session);
      return session;
    } catch (e) {
      await endClient(client);
      throw e;
    }
  }

  private record(flight: Flight, error: Error | null, result: pg.QueryResult | undefined): void {
    if (error === null) {
      flight.result = { rows: this.resultRows(flight.statement, result!) };
    } else if (error instanceof pg.DatabaseError && error.code !== undefined) {
      flight.result = { error: { code: error.code, message: error.message } };
    } else {
      flight.broken = error;
      flight.result = { error: { code: '', message: error.message } };
      flight.done = true;
      this.statementFinished();
    }
  }

  private statementFinished(): void {
    this.finished.fire();
  }

  private drained(session: Session): void {
    const status = session.client.getTransactionStatus();
    if (status === 'I' || status === 'T' || status === 'E') session.status = status;
    if (session.status === 'I') session.fastDeadlock = false;
    const flight = session.flight;
    if (flight !== null && flight.result !== undefined && !flight.done) {
      flight.done = true;
      this.statementFinished();
    }
  }

  /**
   * Waits until every in-flight statement has completed or is blocked by
   * another transaction of the run, with no wait-for cycle among them, or
   * until the settle deadline; then reports the stepped transaction and every
   * other transaction whose statement completed.
   */
  private async settle(stepped: TxId): Promise<Event[]> {
    const control = this.controlClient();
    const deadline = performance.now() + this.settleDeadlineMs;
    const pidToTx = new Map<number, TxId>();
    for (const s of this.sessions.values()) pidToTx.set(s.pid, s.tx);
    const { waits } = await pollUntilSettled({
      control,
      pending: () => [...this.sessions.values()].filter((s) => s.flight !== null && !s.flight.done).map((s) => ({ key: s.tx, pid: s.pid })),
      sessions: pidToTx,
      deadline,
      completions: () => this.finished,
      compare: (a, b) => a - b,
    });
    const events: Event[] = [];
    for (const s of [...this.sessions.values()].sort((a, b) => a.tx - b.tx)) {
      const flight = s.flight;
      if (flight === null) continue;
      if (flight.broken !== undefined) {
        throw new Error(`the connection of T${s.tx} broke: ${reasonOf(flight.broken)}`);
      }
      if (flight.done) {
        events.push({ tx: s.tx, kind: 'completed', result: flight.result! });
        s.flight = null;
      } else if (s.tx === stepped) {
        events.push({ tx: s.tx, kind: 'blocked', waitsFor: waits.get(s.tx) ?? [] });
      }
    }
    return events;
  }

  /** Result rows as plain objects in column order; an update's or delete's rows sorted by primary key like the model's. */
  private resultRows(statement: Statement, result: pg.QueryResult): Row[] {
    if (statement.kind === 'commit' || statement.kind === 'rollback' || isSavepointControl(statement)) return [];
    if (statement.kind === 'advisory-lock') return advisoryLockRows(statement, result.rows);
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
    const control = this.controlClient();
    const sessions = [...this.sessions.values()];
    const stuck = sessions.filter((s) => s.lost !== undefined || (s.flight !== null && !s.flight.done));
    if (stuck.length > 0) {
      for (const s of stuck) this.sessions.delete(s.tx);
      const pids = stuck.filter((s) => s.lost === undefined).map((s) => s.pid);
      await control.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
      await Promise.all(stuck.map((s) => endClient(s.client)));
    }
    await Promise.all(
      [...this.sessions.values()].map(async (s) => {
        s.flight = null;
        if (s.status !== 'I') {
          await s.client.query('rollback');
          s.status = 'I';
          s.fastDeadlock = false;
        }
      }),
    );
  }
}

/** Whether `client` answers `select 1` within `ms` (false when it is busy with another query or its connection is gone). */
export async function answersWithin(client: pg.Client, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    client.query('select 1').then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return answered;
}

/**
 * Cleans up after a run whose own connections cannot (busy with a query
 * that never ends, or terminated): over a fresh connection, terminates the
 * backends `terminate` names, waits until they are gone from
 * `pg_stat_activity` (so that nothing they were creating can commit after
 * the drop), then drops `dropSchema`. Bounded: 5 s to connect, 10 s per
 * statement.
 */
export async function releaseOnServer(
  config: pg.ClientConfig,
  work: { readonly terminate: readonly number[]; readonly dropSchema?: string; /** A throwaway database: every backend on it is terminated, then it is dropped. */ readonly dropDatabase?: string },
): Promise<void> {
  const open = async (c: pg.ClientConfig) => {
    const client = new pg.Client({ ...c, application_name: 'lockstep-cleanup', connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      await endClient(client);
      throw e;
    }
  };
  // A throwaway database outlives the database it was made from (dropped meanwhile): it is dropped from the maintenance database then.
  const client = await open(config).catch(async (e: unknown) => {
    if (!(work.dropDatabase !== undefined && e instanceof pg.DatabaseError && e.code === '3D000' && config.connectionString !== undefined)) throw e;
    const url = new URL(config.connectionString);
    url.pathname = '/postgres';
    return open({ ...config, connectionString: url.toString() });
  });
  try {
    const pids = [...work.terminate];
    if (work.dropDatabase !== undefined) {
      const { rows } = await client.query('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [work.dropDatabase]);
      pids.push(...rows.map((r) => r.pid as number));
    }
    if (pids.length > 0) {
      await client.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid where pid <> pg_backend_pid()', [pids]);
      const deadline = performance.now() + 5000;
      while (performance.now() < deadline) {
        const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where pid = any($1::int[])', [pids]);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (work.dropSchema !== undefined) await client.query(`drop schema if exists ${pg.escapeIdentifier(work.dropSchema)} cascade`);
    if (work.dropDatabase !== undefined) await client.query(`drop database if exists ${pg.escapeIdentifier(work.dropDatabase)}`);
  } finally {
    await endClient(client);
  }
}

/** The first line of an error's message, without a final period, to end a sentence with. */
function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error').trim().replace(/\.$/, '');
}

/**
 * Ends a client and waits until its connection is closed (a terminated
 * backend's connection is closed by the server). A connection that does not
 * close in time has its socket destroyed.
 */
export async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    client.end().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 5000);
    }),
  ]);
  clearTimeout(timer);
  if (gaveUp) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}
