import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages.js';
import { answersWithin, endClient, releaseOnServer } from '../adapters/postgres/postgres-backend.ts';
import { CompletionSignal, pollUntilSettled } from '../adapters/postgres/settle.ts';
import { EnvironmentError, InputError, InterruptedError, LockstepError } from '../errors.ts';
import type { Permutation } from './permutations.ts';
import { stepsByName, type Blocker, type PermutationStep, type Spec, type SpecStep } from './spec-parser.ts';

/** A result set as PostgreSQL sent it: column names and type oids, values in text form (null for NULL). */
export interface ResultSet {
  readonly columns: readonly { readonly name: string; readonly typeId: number }[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** An error PostgreSQL reported for a step. */
export interface StepError {
  readonly severity: string;
  /** SQLSTATE, e.g. `40001`. */
  readonly code: string;
  readonly message: string;
}

/** How a step ended: the result sets of its statements (those that return rows), then its error if one failed. */
export interface StepOutcome {
  readonly results: readonly ResultSet[];
  readonly error: StepError | null;
}

/**
 * What isolationtester prints for a permutation, in order: result sets of
 * setup and teardown blocks, notices, steps as they are sent (`outcome` null
 * while reported waiting) and steps completed later.
 */
export type TranscriptEntry =
  | { readonly kind: 'result'; readonly result: ResultSet }
  | { readonly kind: 'notice'; readonly session: string; readonly text: string }
  | { readonly kind: 'step'; readonly step: string; readonly sql: string; readonly outcome: StepOutcome | null }
  | { readonly kind: 'completed'; readonly step: string; readonly outcome: StepOutcome };

/** One step of a permutation as it ran. */
export interface StepRun {
  readonly step: string;
  readonly session: string;
  /** Reported as waiting when sent: blocked by another session of the spec, or held back by a marker. */
  readonly blocked: boolean;
  readonly outcome: StepOutcome;
}

/** One permutation as it ran. */
export interface PermutationRun {
  /** Position in the list of permutations run, from 1. */
  readonly index: number;
  readonly order: readonly string[];
  /** The steps in permutation order. */
  readonly steps: readonly StepRun[];
  readonly transcript: readonly TranscriptEntry[];
  /** The `--check` query's answer, when one was given. */
  readonly check?: boolean;
  /** Teardown failures and the like, for stderr. */
  readonly warnings: readonly string[];
}

/** How to run a spec. */
export interface SpecRunOptions {
  /** Longest a step may run without being blocked by another session (default 10000 ms). */
  readonly stepTimeoutMs?: number;
  /** SQL returning one boolean, run on the control connection after each permutation's steps, before the teardowns. */
  readonly check?: string;
  readonly applicationName?: string;
  /** While connecting: when it aborts, the connections opened so far are closed and an `InterruptedError` thrown. Once connected, the caller closes the runner (on abort too). */
  readonly signal?: AbortSignal;
}

/** A step that neither finished nor waited for another session within the step timeout. */
export class StepTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepTimeoutError';
  }
}

/**
 * A permutation that asks a session to run its next step while its previous
 * step is still blocked: it can never happen, since only other sessions can
 * release it.
 */
export class BlockedSessionError extends InputError {}

const defaultStepTimeoutMs = 10_000;

/** PostgreSQL's text form of every value, as isolationtester prints it. */
const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

interface Session {
  readonly name: string;
  readonly index: number;
  readonly client: pg.Client;
  readonly pid: number;
  /** Notices received and not printed yet. */
  notices: string[];
  totalNotices: number;
  active: Active | null;
  lost: Error | undefined;
}

/** A step sent and not yet reported complete. */
interface Active {
  readonly index: number;
  readonly pstep: PermutationStep;
  readonly step: SpecStep;
  readonly session: Session;
  outcome: StepOutcome | undefined;
  /** PostgreSQL is ready for the session's next query (a failed step's transaction has released its locks). */
  done: boolean;
  /** Notice counts the `(other notices N)` markers wait for, by blocker. */
  readonly noticeTargets: Map<Blocker, number>;
}

/**
 * Runs a spec's permutations on PostgreSQL the way PostgreSQL's
 * isolationtester does: one connection per session plus a control
 * connection; per permutation the global setup, the session setups, the steps
 * in order, the session teardowns and the global teardown.
 *
 * Like isolationtester, the spec runs in a database of its own with its
 * tables in `public` (so messages and EXPLAIN VERBOSE name `public`): a
 * throwaway database `lockstep_<hex>_<database>` created from template0
 * and dropped at the end, `public` dropped and created again before each
 * permutation after the first. A role that may not create databases gets
 * the fallback: a fresh schema per permutation (`lockstep_<hex>`, first on
 * every connection's search_path) in the given database, dropped after it.
 * Every connection honours the libpq variables isolationtester's do:
 * `PGOPTIONS`, `PGTZ` and `PGDATESTYLE` (not `PGCLIENTENCODING`:
 * node-postgres reads UTF-8 only).
 *
 * A step is sent and then settled with lockstep's settle rule: it is reported
 * waiting when it is blocked by another session (`pg_blocking_pids`, or a
 * safe-snapshot wait) once every in-flight step has finished or blocked, and
 * reported complete when a later step (or the end) finds it finished.
 *
 * ```ts
 * const runner = await SpecRunner.connect(server.url, spec);
 * try { for (const p of specPermutations(spec)) print(await runner.run(p)); } finally { await runner.close(); }
 * ```
 */
export class SpecRunner {
  private readonly finished = new CompletionSignal();
  private readonly steps: Map<string, SpecStep>;
  private readonly stepTimeoutMs: number;
  private closing: Promise<void> | undefined;
  private runs = 0;
  private schemaName: string | undefined;
  /** `public` of the throwaway database holds an earlier permutation's objects. */
  private publicUsed = false;
  /** What runs now, to name it when PostgreSQL is lost: `step s1u of permutation 3 (s1u s2u s1c s2c)`. */
  private doing = 'connecting';

  private constructor(
    readonly spec: Spec,
    readonly version: string,
    private readonly url: string,
    /** The throwaway database the spec runs in, or none (the schema fallback). */
    private readonly database: string | undefined,
    private readonly control: pg.Client,
    private readonly controlPid: number,
    private readonly sessions: Session[],
    private readonly options: SpecRunOptions,
  ) {
    this.steps = stepsByName(spec);
    this.stepTimeoutMs = options.stepTimeoutMs ?? defaultStepTimeoutMs;
    for (const s of sessions) this.watch(s);
  }

  /** Opens the control connection and one connection per session. */
  static async connect(url: string, spec: Spec, options: SpecRunOptions = {}): Promise<SpecRunner> {
    const applicationName = options.applicationName ?? 'lockstep';
    const opened: pg.Client[] = [];
    const interrupted = () => {
      if (options.signal?.aborted) throw new InterruptedError();
    };
    let database: string | undefined;
    let target = url;
    const open = async (pipeline: boolean) => {
      interrupted();
      const client = new pg.Client({ connectionString: target, application_name: applicationName, pipeline, options: libpqOptions() });
      client.on('error', () => {});
      opened.push(client);
      await client.connect();
      return client;
    };
    try {
      database = await createThrowawayDatabase(url, applicationName);
      if (database !== undefined) target = inDatabase(url, database);
      const control = await open(true);
      const answer = await control.query<{ version: string; pid: number }>(`select current_setting('server_version') as version, pg_backend_pid() as pid`);
      const version = answer.rows[0].version.split(' ')[0];
      const controlPid = Number(answer.rows[0].pid);
      // PostgreSQL 14 and later cancel a waiting statement whose client has gone (a killed lockstep).
      const checkConnection = Number.parseInt(version, 10) >= 14 ? 'set client_connection_check_interval = 500' : 'select 1';
      await control.query(checkConnection);
      // Setup, teardown and check run on the control connection: bound them like a step.
      await control.query(`set statement_timeout = ${options.stepTimeoutMs ?? defaultStepTimeoutMs}`);
      const sessions: Session[] = [];
      for (const [index, s] of spec.sessions.entries()) {
        const client = await open(false);
        await client.query(checkConnection);
        const pid = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
        sessions.push({ name: s.name, index, client, pid, notices: [], totalNotices: 0, active: null, lost: undefined });
      }
      interrupted();
      return new SpecRunner(spec, version, url, database, control, controlPid, sessions, options);
    } catch (e) {
      await Promise.all(opened.map((c) => endClient(c)));
      if (database !== undefined) await releaseOnServer({ connectionString: url }, { terminate: [], dropDatabase: database }).catch(() => {});
      if (options.signal?.aborted) throw new InterruptedError();
      if (e instanceof LockstepError) throw e;
      throw new EnvironmentError(`Could not open the spec's sessions on PostgreSQL: ${message(e)}.`, { cause: e });
    }
  }

  private watch(session: Session): void {
    session.client.on('notice', (n: NoticeMessage) => {
      session.notices.push(noticeText(n));
      session.totalNotices++;
    });
    session.client.on('error', (e) => {
      session.lost = e;
      if (session.active && !session.active.done) {
        session.active.outcome ??= { results: [], error: { severity: 'FATAL', code: '', message: e.message } };
        session.active.done = true;
        this.finished.fire();
      }
    });
    session.client.on('drain', () => {
      const active = session.active;
      if (active && active.outcome !== undefined && !active.done) {
        active.done = true;
        this.finished.fire();
      }
    });
  }

  /**
   * Runs one permutation from a clean schema and reports what happened. A
   * permutation that cannot run (an `InputError`) is abandoned: its waiting
   * steps are cancelled and its schema dropped, so the runner can go on.
   */
  async run(permutation: Permutation): Promise<PermutationRun> {
    if (this.closing) throw new InterruptedError();
    try {
      return await this.runPermutation(permutation);
    } catch (e) {
      // Closed under it: the caller gave up (an abort); whatever failed since is the close's doing.
      if (this.closing) throw new InterruptedError();
      if (e instanceof InputError) {
        await this.abandon().catch(() => {});
        throw e;
      }
      if (e instanceof LockstepError || e instanceof StepTimeoutError) throw e;
      throw new EnvironmentError(`PostgreSQL failed during ${this.doing}: ${message(e)}.`, { cause: e });
    }
  }

  /** Cancels steps still running, rolls every session back and drops the permutation's schema. */
  private async abandon(): Promise<void> {
    const stuck = this.sessions.filter((s) => s.active !== null && !s.active.done);
    if (stuck.length > 0) await this.control.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [stuck.map((s) => s.pid)]);
    const deadline = performance.now() + this.stepTimeoutMs;
    while (this.sessions.some((s) => s.active !== null && !s.active.done) && performance.now() < deadline) {
      await Promise.race([this.finished.next, new Promise((r) => setTimeout(r, 50))]);
    }
    for (const s of this.sessions) {
      s.active = null;
      s.notices = [];
    }
    await Promise.all(this.sessions.map((s) => (s.client.getTransactionStatus() === 'I' ? undefined : s.client.query('rollback'))));
    if (this.schemaName !== undefined && this.database === undefined) await this.control.query(`drop schema if exists ${this.schemaName} cascade`);
    this.schemaName = undefined;
  }

  private async runPermutation(permutation: Permutation): Promise<PermutationRun> {
    const index = ++this.runs;
    const order = permutation.map((p) => p.step);
    const transcript: TranscriptEntry[] = [];
    const warnings: string[] = [];
    const records = new Map<Active, { blocked: boolean }>();
    const stepRuns: (StepRun | undefined)[] = permutation.map(() => undefined);
    const describe = `Permutation ${index} (${order.join(' ')})`;
    const during = (what: string) => {
      this.doing = `${what} of permutation ${index} (${order.join(' ')})`;
    };

    during('the schema');
    const schema = this.database !== undefined ? 'public' : `lockstep_${randomBytes(6).toString('hex')}`;
    this.schemaName = schema;
    if (this.database !== undefined) {
      // A clean public for every permutation, as a fresh schema would be.
      if (this.publicUsed) await this.control.query('drop schema if exists public cascade; create schema public');
      this.publicUsed = true;
    } else {
      await this.control.query(`create schema ${schema}`);
      const searchPath = `set search_path = ${schema}, public`;
      await this.control.query(searchPath);
      await Promise.all(this.sessions.map((s) => s.client.query(searchPath)));
    }

    for (const [i, sql] of this.spec.setup.entries()) {
      during(`the setup block${this.spec.setup.length > 1 ? ` ${i + 1}` : ''}`);
      const last = await this.exec(this.control, sql).catch((e: unknown) => {
        if (lostConnection(e)) throw e;
        throw new InputError(`The spec's setup block${this.spec.setup.length > 1 ? ` ${i + 1}` : ''} failed on PostgreSQL: ${message(e)}.`);
      });
      if (last) transcript.push({ kind: 'result', result: last });
    }
    for (const s of this.sessions) {
      const sql = this.spec.sessions[s.index].setup;
      if (sql === undefined) continue;
      during(`the setup of session ${s.name}`);
      const last = await this.exec(s.client, sql).catch((e: unknown) => {
        if (lostConnection(e)) throw e;
        throw new InputError(`The setup of session ${s.name} failed on PostgreSQL: ${message(e)}.`);
      });
      this.flushNotices(s, transcript);
      if (last) transcript.push({ kind: 'result', result: last });
    }

    const waiting: Active[] = [];
    const complete = (a: Active, entry: 'step' | 'completed') => {
      this.flushNotices(a.session, transcript);
      const outcome = a.outcome!;
      if (entry === 'step') transcript.push({ kind: 'step', step: a.step.name, sql: a.step.sql, outcome });
      else transcript.push({ kind: 'completed', step: a.step.name, outcome });
      stepRuns[a.index] = { step: a.step.name, session: a.session.name, blocked: records.get(a)!.blocked, outcome };
      a.session.active = null;
    };
    /** isolationtester's check of the waiting steps: report those finished and not held back by a marker, again while that frees others. */
    const reportFinished = () => {
      for (;;) {
        let progress = false;
        let held = false;
        for (const a of [...waiting]) {
          this.flushNotices(a.session, transcript);
          if (!a.done || this.hasBlocker(a)) {
            if (a.pstep.blockers.length > 0) held = true;
            continue;
          }
          waiting.splice(waiting.indexOf(a), 1);
          complete(a, 'completed');
          progress = true;
        }
        if (!(held && progress)) return;
      }
    };

    for (const [i, pstep] of permutation.entries()) {
      const step = this.steps.get(pstep.step)!;
      during(`step ${step.name}`);
      const session = this.sessions[this.spec.sessions.findIndex((s) => s.name === step.session)];
      if (session.active !== null) {
        const previous = session.active;
        const waits = await this.settle(false, describe);
        if (!previous.done || this.hasBlocker(previous)) {
          const on = waits.get(session.index) ?? [];
          const why = on.length > 0 ? `still waiting for a lock held by ${on.map((k) => this.sessions[k].name).join(' and ')}` : 'still reported waiting by its marker';
          throw new BlockedSessionError(`${describe} asks session ${session.name} to run step ${step.name} while its step ${previous.step.name} is ${why}.`);
        }
        waiting.splice(waiting.indexOf(previous), 1);
        complete(previous, 'completed');
        reportFinished();
      }
      const active: Active = { index: i, pstep, step, session, outcome: undefined, done: false, noticeTargets: new Map() };
      for (const b of pstep.blockers) {
        if (b.kind === 'step' && b.notices !== undefined) {
          const other = this.sessions[this.spec.sessions.findIndex((s) => s.name === this.steps.get(b.step)!.session)];
          active.noticeTargets.set(b, other.totalNotices + b.notices);
        }
      }
      session.active = active;
      this.send(active);
      await this.settle(true, describe);
      const once = pstep.blockers.some((b) => b.kind === 'once');
      const mustWait = once || !active.done || this.hasBlocker(active);
      records.set(active, { blocked: mustWait });
      if (mustWait) {
        this.flushNotices(session, transcript);
        transcript.push({ kind: 'step', step: step.name, sql: step.sql, outcome: null });
      } else {
        complete(active, 'step');
      }
      reportFinished();
      if (mustWait) waiting.push(active);
    }

    during('the end');
    const waits = await this.settle(false, describe);
    reportFinished();
    if (waiting.length > 0) {
      const a = waiting[0];
      const on = waits.get(a.session.index) ?? [];
      const why = on.length > 0 ? `still waiting for a lock held by ${on.map((k) => this.sessions[k].name).join(' and ')}` : 'still reported waiting by its marker';
      throw new InputError(`${describe} ends with step ${a.step.name} ${why}.`);
    }

    let check: boolean | undefined;
    during('the --check query');
    if (this.options.check !== undefined) check = await this.runCheck(this.options.check);
    during('the teardown');

    for (const s of this.sessions) {
      const sql = this.spec.sessions[s.index].teardown;
      if (sql === undefined) continue;
      try {
        const last = await this.exec(s.client, sql);
        this.flushNotices(s, transcript);
        if (last) transcript.push({ kind: 'result', result: last });
      } catch (e) {
        this.flushNotices(s, transcript);
        warnings.push(`The teardown of session ${s.name} failed in permutation ${index}: ${message(e)}.`);
      }
    }
    if (this.spec.teardown !== undefined) {
      try {
        const last = await this.exec(this.control, this.spec.teardown);
        if (last) transcript.push({ kind: 'result', result: last });
      } catch (e) {
        warnings.push(`The spec's teardown failed in permutation ${index}: ${message(e)}.`);
      }
    }
    await Promise.all(this.sessions.map((s) => (s.client.getTransactionStatus() === 'I' ? undefined : s.client.query('rollback'))));
    for (const s of this.sessions) s.notices = [];
    if (this.database === undefined) await this.control.query(`drop schema ${schema} cascade`);
    this.schemaName = undefined;
    return { index, order, steps: stepRuns.map((s) => s!), transcript, ...(check !== undefined ? { check } : {}), warnings };
  }

  /** Ends every connection (terminating backends still running a step) and drops the current schema. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /**
   * With an idle control connection, cleans up through it; when it is busy
   * (an abort during a setup block or a --check query that does not end) or
   * gone (a terminated backend, a lost server), a fresh connection
   * terminates every session and drops the schema (`releaseOnServer`).
   */
  private async shutDown(): Promise<void> {
    if (this.database !== undefined) {
      // Idle connections end; busy ones are terminated with everything else on the database, which is then dropped from the given one.
      const endAll = () => Promise.all([...this.sessions.map((s) => endClient(s.client)), endClient(this.control)]);
      const idle = this.sessions.every((s) => s.active === null || s.active.done) && (await answersWithin(this.control, 1000));
      if (idle) await endAll();
      await releaseOnServer({ connectionString: this.url }, { terminate: [], dropDatabase: this.database }).catch(() => {});
      if (!idle) await endAll();
      return;
    }
    const controlIdle = await answersWithin(this.control, 1000);
    if (controlIdle) {
      const stuck = this.sessions.filter((s) => s.lost === undefined && s.active !== null && !s.active.done).map((s) => s.pid);
      if (stuck.length > 0) await this.control.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [stuck]).catch(() => {});
      await Promise.all(this.sessions.map((s) => endClient(s.client)));
      const dropped =
        this.schemaName === undefined ||
        (await this.control.query(`drop schema if exists ${this.schemaName} cascade`).then(
          () => true,
          () => false,
        ));
      await endClient(this.control);
      if (dropped) return;
    }
    await releaseOnServer({ connectionString: this.url }, { terminate: [...this.sessions.map((s) => s.pid), this.controlPid], dropSchema: this.schemaName }).catch(() => {});
    await Promise.all([...this.sessions.map((s) => endClient(s.client)), endClient(this.control)]);
  }

  private send(active: Active): void {
    const query = new pg.Query({ text: active.step.sql, rowMode: 'array', types: rawTypes } as pg.QueryConfig);
    query.on('end', (results: pg.QueryResult | pg.QueryResult[]) => {
      active.outcome = { results: resultSets(results), error: null };
    });
    query.on('error', (e: Error) => {
      const partial = (query as unknown as { _results: pg.QueryResult | pg.QueryResult[] })._results;
      const completed = (Array.isArray(partial) ? partial : [partial]).filter((r) => r?.command);
      active.outcome = { results: resultSets(completed), error: stepError(e) };
    });
    active.session.client.query(query);
  }

  /**
   * lockstep's settle rule: waits until every in-flight step has finished or
   * is blocked by another session; unless `allowCycles`, also until
   * PostgreSQL has resolved every deadlock among them.
   */
  private async settle(allowCycles: boolean, describe: string): Promise<Map<number, number[]>> {
    const sessions = new Map(this.sessions.map((s) => [s.pid, s.index] as const));
    const { waits, settled } = await pollUntilSettled({
      control: this.control,
      pending: () => this.sessions.filter((s) => s.active !== null && !s.active.done).map((s) => ({ key: s.index, pid: s.pid })),
      sessions,
      deadline: performance.now() + this.stepTimeoutMs,
      completions: () => this.finished,
      compare: (a, b) => a - b,
      allowCycles,
      safeSnapshots: true,
    });
    if (!settled) {
      const running = this.sessions.filter((s) => s.active !== null && !s.active.done && (waits.get(s.index)?.length ?? 0) === 0);
      const stuck = running.length > 0 ? running : this.sessions.filter((s) => s.active !== null && !s.active.done);
      const names = stuck.map((s) => s.active!.step.name).join(', ');
      const what = running.length > 0 ? 'did not finish and was not waiting for another session' : 'stayed in a deadlock PostgreSQL did not resolve';
      throw new StepTimeoutError(`${describe}: step ${names} ${what} within the step timeout of ${formatSeconds(this.stepTimeoutMs)}; lockstep ended its sessions.`);
    }
    for (const s of this.sessions) {
      // The server's own word (a FATAL the step received) says more than the client's "Connection terminated".
      if (s.active?.done && s.lost) throw new Error(`the connection of session ${s.name} broke: ${s.active.outcome?.error?.severity === 'FATAL' ? s.active.outcome.error.message : message(s.lost)}`);
    }
    return waits;
  }

  /** isolationtester's marker rule: a finished step is still reported waiting while a step it names is unreported, or too few notices came. */
  private hasBlocker(active: Active): boolean {
    for (const b of active.pstep.blockers) {
      if (b.kind === 'once') continue;
      const otherStep = this.steps.get(b.step)!;
      const other = this.sessions[this.spec.sessions.findIndex((s) => s.name === otherStep.session)];
      if (b.notices !== undefined) {
        if (other.totalNotices < active.noticeTargets.get(b)!) return true;
      } else if (other.active !== null && other.active.step.name === b.step) {
        return true;
      }
    }
    return false;
  }

  private flushNotices(session: Session, transcript: TranscriptEntry[]): void {
    for (const text of session.notices) transcript.push({ kind: 'notice', session: session.name, text });
    session.notices = [];
  }

  /** Runs SQL as one simple query and returns the last statement's result set, like libpq's PQexec. */
  private async exec(client: pg.Client, sql: string): Promise<ResultSet | undefined> {
    const answer = (await client.query({ text: sql, rowMode: 'array', types: rawTypes } as pg.QueryConfig)) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(answer) ? answer : [answer];
    const last = results.at(-1);
    return last && last.fields.length > 0 ? resultSets([last])[0] : undefined;
  }

  private async runCheck(sql: string): Promise<boolean> {
    let result: ResultSet | undefined;
    try {
      result = await this.exec(this.control, sql);
    } catch (e) {
      if (lostConnection(e)) throw e;
      throw new InputError(`The --check query failed on PostgreSQL: ${message(e)}.`);
    }
    if (!result || result.columns.length !== 1 || result.rows.length !== 1 || result.columns[0].typeId !== 16) {
      const shape = result ? `${result.rows.length} row${result.rows.length === 1 ? '' : 's'} of ${result.columns.length} column${result.columns.length === 1 ? '' : 's'}` : 'no rows';
      throw new InputError(`The --check query must return one boolean (one row, one boolean column), not ${shape}${result?.columns.length === 1 && result.columns[0].typeId !== 16 ? ' of another type' : ''}.`);
    }
    return result.rows[0][0] === 't';
  }
}

function resultSets(results: pg.QueryResult | readonly pg.QueryResult[]): ResultSet[] {
  const all = Array.isArray(results) ? results : [results as pg.QueryResult];
  return all
    .filter((r) => r && r.fields.length > 0)
    .map((r) => ({
      columns: r.fields.map((f: pg.FieldDef) => ({ name: f.name, typeId: f.dataTypeID })),
      rows: (r.rows as unknown as (string | null)[][]).map((row) => [...row]),
    }));
}

function stepError(e: Error): StepError {
  if (e instanceof pg.DatabaseError) return { severity: e.severity ?? 'ERROR', code: e.code ?? '', message: e.message };
  return { severity: 'ERROR', code: '', message: e.message };
}

/** A notice as libpq prints it: `NOTICE:  text`, then its detail and hint lines. */
function noticeText(n: NoticeMessage): string {
  let text = `${n.severity ?? 'NOTICE'}:  ${n.message}\n`;
  if (n.detail) text += `DETAIL:  ${n.detail}\n`;
  if (n.hint) text += `HINT:  ${n.hint}\n`;
  return text;
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].replace(/\.$/, '');
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A connection that broke or a backend PostgreSQL terminated (57P01 and the like), not an error of the SQL. */
function lostConnection(e: unknown): boolean {
  if (!(e instanceof pg.DatabaseError)) return true;
  return e.code === undefined || e.code.startsWith('57P') || e.code.startsWith('08');
}

/**
 * Creates the throwaway database a spec runs in (`lockstep_<hex>_<database>`,
 * from template0); undefined when the role may not create databases (the
 * schema fallback).
 */
async function createThrowawayDatabase(url: string, applicationName: string): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: url, application_name: applicationName, options: libpqOptions() });
  admin.on('error', () => {});
  try {
    await admin.connect();
    const current = String((await admin.query('select current_database() as name')).rows[0].name);
    const name = `lockstep_${randomBytes(6).toString('hex')}_${current}`.slice(0, 63);
    try {
      await admin.query(`create database ${pg.escapeIdentifier(name)} template template0`);
    } catch (e) {
      if (e instanceof pg.DatabaseError && e.code === '42501') return undefined;
      throw e;
    }
    return name;
  } finally {
    await endClient(admin);
  }
}

/** `url` naming `database` instead of its own. */
function inDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * The startup options libpq would send from the environment:
 * `PGOPTIONS`, and `PGTZ` and `PGDATESTYLE` as `-c TimeZone=...` and
 * `-c DateStyle=...` (spaces and backslashes escaped with a backslash).
 */
export function libpqOptions(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const escape = (v: string) => v.replace(/([\\ ])/g, '\\$1');
  const parts = [env.PGOPTIONS?.trim() || undefined, env.PGTZ ? `-c TimeZone=${escape(env.PGTZ)}` : undefined, env.PGDATESTYLE ? `-c DateStyle=${escape(env.PGDATESTYLE)}` : undefined];
  const options = parts.filter((p) => p !== undefined).join(' ');
  return options === '' ? undefined : options;
}
