import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { EnvironmentError, InterruptedError, LockstepError, throwIfInterrupted } from '../../errors.ts';
import { answersWithin, connectClient, endClient, reasonOf, releaseOnServer, terminateBackends } from './connection.ts';
import { Session } from './session.ts';
import { CompletionSignal, pollUntilSettled } from './settle.ts';

/** Where a run's connections go and what they are called. */
export interface SessionsOptions {
  /** Every connection of the run connects here. */
  readonly config: pg.ClientConfig;
  /** A cleanup connection goes here when the run's own cannot clean up (default `config`). */
  readonly cleanup?: pg.ClientConfig;
  /** `application_name` of every connection. */
  readonly applicationName: string;
  /** How sentences name a session: `T1`, `session s1`. */
  readonly label: (key: number) => string;
}

/** What `Sessions.settle` waits for. */
export interface SettleRule {
  /** Stop as soon as every statement is blocked, even in a wait-for cycle PostgreSQL has not resolved yet (default false). */
  readonly allowCycles?: boolean;
  /** Also count a wait for a safe snapshot as blocked (default false). */
  readonly safeSnapshots?: boolean;
  /** Called when the deadline passes first, with what the last poll saw (default: report it as it is). */
  readonly onDeadline?: (waits: ReadonlyMap<number, readonly number[]>) => void;
  /** How long an `unexpected` wait goes unpolled (default `unexpectedWaitGraceMs`). */
  readonly graceMs?: number;
  /** The statements left in flight are known to be blocked still (see `SettleOptions.stillBlocked`). */
  readonly stillBlocked?: () => boolean;
}

/**
 * The connections of one run on PostgreSQL: a control connection
 * (pipelined; it polls `pg_blocking_pids` and cleans up) and one session
 * per transaction or isolationtester session, keyed by number. Both
 * PostgreSQL drivers run on it: the `PostgresBackend` (replay) and the
 * isolationtester `SpecRunner`.
 *
 * `close` ends every connection and drops what the run created
 * (`dropOnClose`: its schema or its throwaway database): through the control
 * connection when it answers, else over a fresh connection that terminates
 * the run's backends first (`releaseOnServer`).
 *
 * ```ts
 * const sessions = new Sessions<{ sql: string }, string>({ config, applicationName: 'lockstep', label: (k) => `T${k}` });
 * await sessions.openControl('');
 * const t1 = await sessions.connect(1, '', true);
 * t1.send({ sql: 'select 1' }, [{ text: 'select 1' }], () => 'ok');
 * const waits = await sessions.settle(5000);
 * await sessions.close();
 * ```
 */
export class Sessions<W, R> {
  /** Fired whenever an in-flight statement finishes, so a poll that raced with it is not trusted. */
  readonly finished = new CompletionSignal();
  /** What `close` drops: the run's schema, or its throwaway database. */
  dropOnClose: { readonly schema?: string; readonly database?: string } = {};
  private readonly open = new Map<number, Session<W, R>>();
  private readonly connecting = new Map<number, Promise<Session<W, R>>>();
  private controlClient: pg.Client | undefined;
  /** The control connection's connect, awaited by `close` so that nothing it sends outlives the close. */
  private controlConnecting: Promise<unknown> | undefined;
  private controlPid: number | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SessionsOptions) {}

  /** `close` has begun. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** The control connection; throws once closed. */
  get control(): pg.Client {
    if (this.closing !== undefined || this.controlClient === undefined) throw new Error('the connections to PostgreSQL are closed');
    return this.controlClient;
  }

  /** Connects the control connection, runs `setup` on it and answers the server's version (`17.6`). */
  async openControl(setup: string): Promise<string> {
    const connecting = connectClient(this.options.config, { applicationName: this.options.applicationName, pipeline: true }).then(({ client }) => {
      this.controlClient = client;
    });
    this.controlConnecting = connecting;
    await connecting;
    this.throwIfClosed();
    const answer = await this.control.query(`${withSemicolon(setup)}select current_setting('server_version') as version, pg_backend_pid() as pid`);
    const row = lastResult(answer).rows[0];
    this.controlPid = Number(row.pid);
    return String(row.version).split(' ')[0];
  }

  /** Stops an opening once `close` has begun, so it creates nothing `close` would not drop. */
  throwIfClosed(): void {
    if (this.closing !== undefined) throw new InterruptedError();
  }

  /** The session `key`, connected (with `setup` run on it) when it has none yet. */
  connect(key: number, setup: string, pipeline: boolean): Promise<Session<W, R>> {
    const existing = this.open.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    void this.control; // throws once closed: no new connection after a close
    let pending = this.connecting.get(key);
    if (pending === undefined) {
      pending = this.newSession(key, setup, pipeline).finally(() => this.connecting.delete(key));
      this.connecting.set(key, pending);
    }
    return pending;
  }

  private async newSession(key: number, setup: string, pipeline: boolean): Promise<Session<W, R>> {
    const { client, lost } = await connectClient(this.options.config, { applicationName: this.options.applicationName, pipeline });
    try {
      const answer = await client.query(`${withSemicolon(setup)}select pg_backend_pid() as pid`);
      const pid = Number(lastResult(answer).rows[0].pid);
      if (this.closing !== undefined) throw new Error('the connections to PostgreSQL are closed');
      const session = new Session<W, R>(key, this.options.label(key), client, pid, this.finished, lost());
      this.open.set(key, session);
      return session;
    } catch (e) {
      await endClient(client);
      throw e;
    }
  }

  /** The run's sessions in key order. */
  list(): Session<W, R>[] {
    return [...this.open.values()].sort((a, b) => a.key - b.key);
  }

  /** Forgets `session` (its connection is the caller's to end). */
  remove(session: Session<W, R>): void {
    if (this.open.get(session.key) === session) this.open.delete(session.key);
  }

  /**
   * lockstep's settle rule: waits until every in-flight statement has
   * finished or is blocked by another session of the run (and, unless
   * `allowCycles`, PostgreSQL has resolved every deadlock among them), or
   * until `deadlineMs` has passed. Answers whom each blocked session waits
   * for. A connection that broke under its statement is an error naming
   * the session.
   */
  async settle(deadlineMs: number, rule: SettleRule = {}): Promise<Map<number, number[]>> {
    const control = this.control;
    const deadline = performance.now() + deadlineMs;
    const sessions = new Map(this.list().map((s) => [s.pid, s.key] as const));
    const { waits, settled } = await pollUntilSettled({
      control,
      pending: () => this.list().filter((s) => s.busy).map((s) => ({ key: s.key, pid: s.pid, waiting: s.flight!.waiting })),
      sessions,
      deadline,
      completions: () => this.finished,
      compare: (a, b) => a - b,
      allowCycles: rule.allowCycles,
      safeSnapshots: rule.safeSnapshots,
      graceMs: rule.graceMs,
      stillBlocked: rule.stillBlocked,
    });
    if (!settled) rule.onDeadline?.(waits);
    for (const s of this.list()) {
      if (s.flight?.broken !== undefined) throw new Error(`the connection of ${s.label} broke: ${s.flight.broken}`);
      // A prediction is for the settle of the step that sent the statement: one still running is polled for after it.
      if (s.flight?.waiting === 'unexpected') s.flight.waiting = 'may';
    }
    return waits;
  }

  /** Terminates the backends of `sessions` (their statements end, their connections close). */
  terminate(sessions: readonly Session<W, R>[]): Promise<void> {
    return terminateBackends(this.control, sessions.map((s) => s.pid));
  }

  /** Rolls back every session in a transaction. */
  async rollback(): Promise<void> {
    await Promise.all(
      this.list().map(async (s) => {
        if (s.status === 'I') return;
        await s.client.query('rollback');
        s.status = 'I';
      }),
    );
  }

  /**
   * What a failure `when` something ran becomes: an `InterruptedError` once
   * `close` has begun (the caller gave up), a lockstep error other than an
   * environment one as it is, anything else one `EnvironmentError`:
   * `PostgreSQL failed <when>: <reason>.`
   */
  failure(e: unknown, when: string): Error {
    if (this.closing !== undefined || e instanceof InterruptedError) return new InterruptedError();
    if (e instanceof LockstepError && !(e instanceof EnvironmentError)) return e;
    return new EnvironmentError(`PostgreSQL failed ${when}: ${reasonOf(e)}.`, { cause: e });
  }

  /** Ends every connection and drops `dropOnClose`. Idempotent; safe after errors, during an opening and with statements still blocked. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await Promise.allSettled([this.controlConnecting, ...this.connecting.values()]);
    const sessions = [...this.open.values()];
    this.open.clear();
    const control = this.controlClient;
    const endAll = () => Promise.all([...sessions.map((s) => endClient(s.client)), ...(control !== undefined ? [endClient(control)] : [])]);
    const controlIdle = () => (control !== undefined ? answersWithin(control, 1000) : Promise.resolve(false));
    const cleanup = this.options.cleanup ?? this.options.config;
    const { schema, database } = this.dropOnClose;
    if (database !== undefined) {
      // Idle connections end; busy ones are terminated with everything else on the database, which is then dropped from the given one.
      const idle = sessions.every((s) => !s.busy) && (await controlIdle());
      if (idle) await endAll();
      await releaseOnServer(cleanup, { terminate: [], dropDatabase: database }).catch(() => {});
      if (!idle) await endAll();
      return;
    }
    if (control !== undefined && (await controlIdle())) {
      // A blocked statement keeps its connection from ending: terminate those backends first.
      const stuck = sessions.filter((s) => s.lost === undefined && s.busy).map((s) => s.pid);
      await terminateBackends(control, stuck).catch(() => {});
      await Promise.all(sessions.map((s) => endClient(s.client)));
      const dropped =
        schema === undefined ||
        (await control.query(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`).then(
          () => true,
          () => false,
        ));
      await endClient(control);
      if (dropped) return;
    }
    if (control !== undefined) {
      const pids = [...sessions.map((s) => s.pid), ...(this.controlPid !== undefined ? [this.controlPid] : [])];
      await releaseOnServer(cleanup, { terminate: pids, dropSchema: schema }).catch(() => {});
    }
    await endAll();
  }
}

/**
 * Opens a run with `open` (connections, its schema or database). When
 * `signal` aborts meanwhile, `close` runs at once; when the opening fails,
 * `close` runs and the failure is thrown as an `InterruptedError` (aborted),
 * as it is (a lockstep error), or as an `EnvironmentError` starting with
 * `failure` (`Could not create the run schema on PostgreSQL`).
 */
export async function opening<T>(signal: AbortSignal | undefined, failure: string, open: () => Promise<T>, close: () => Promise<void>): Promise<T> {
  throwIfInterrupted(signal);
  const onAbort = () => void close().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const opened = await open();
    throwIfInterrupted(signal);
    return opened;
  } catch (e) {
    await close().catch(() => {});
    if (signal?.aborted) throw new InterruptedError();
    if (e instanceof LockstepError) throw e;
    throw new EnvironmentError(`${failure}: ${reasonOf(e)}.`, { cause: e });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function withSemicolon(sql: string): string {
  return sql === '' ? '' : `${sql}; `;
}

/** The last result of a (multi-statement) simple query. */
function lastResult(answer: pg.QueryResult | pg.QueryResult[]): pg.QueryResult {
  const results = Array.isArray(answer) ? answer : [answer];
  return results[results.length - 1];
}
