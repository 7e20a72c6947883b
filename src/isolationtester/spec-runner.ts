import { performance } from 'node:perf_hooks';
import type { NoticeMessage } from 'pg-protocol/dist/messages.js';
import { reasonOf, lostConnection } from '../adapters/postgres/connection.ts';
import type { Flight, Session } from '../adapters/postgres/session.ts';
import { opening, Sessions } from '../adapters/postgres/sessions.ts';
import { InputError, InterruptedError, throwIfInterrupted } from '../errors.ts';
import { exec, noticeText, stepOutcome, stepQuery, type PermutationRun, type ResultSet, type StepOutcome, type StepRun, type TranscriptEntry } from './permutation-run.ts';
import type { Permutation } from './permutations.ts';
import { createThrowawayDatabase, inDatabase, libpqOptions, PermutationSchema } from './spec-database.ts';
import { stepsByName, type Blocker, type PermutationStep, type Spec, type SpecStep } from './spec-parser.ts';

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

/** A step sent and not yet reported complete. */
interface Sent {
  readonly index: number;
  readonly pstep: PermutationStep;
  readonly step: SpecStep;
  readonly session: LiveSession;
  /** Notice counts the `(other notices N)` markers wait for, by blocker. */
  readonly noticeTargets: Map<Blocker, number>;
}

type Active = Flight<Sent, StepOutcome>;

/** A session of the spec on its connection, with the notices it received. */
interface LiveSession {
  readonly name: string;
  readonly index: number;
  readonly connection: Session<Sent, StepOutcome>;
  /** Notices received and not printed yet. */
  notices: string[];
  totalNotices: number;
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
  private readonly steps: Map<string, SpecStep>;
  private readonly stepTimeoutMs: number;
  private readonly schema: PermutationSchema;
  private runs = 0;
  /** What runs now, to name it when PostgreSQL is lost: `step s1u of permutation 3 (s1u s2u s1c s2c)`. */
  private doing = 'connecting';

  private constructor(
    readonly spec: Spec,
    readonly version: string,
    /** The throwaway database the spec runs in, or none (the schema fallback). */
    database: string | undefined,
    private readonly sessions: Sessions<Sent, StepOutcome>,
    private readonly live: LiveSession[],
    private readonly options: SpecRunOptions,
  ) {
    this.steps = stepsByName(spec);
    this.stepTimeoutMs = options.stepTimeoutMs ?? defaultStepTimeoutMs;
    this.schema = new PermutationSchema(database, sessions as Sessions<unknown, unknown>);
    for (const s of live) {
      s.connection.client.on('notice', (n: NoticeMessage) => {
        s.notices.push(noticeText(n));
        s.totalNotices++;
      });
    }
  }

  /** Creates the spec's database (or, failing the right to, uses the schema fallback), then opens the control connection and one connection per session. */
  static async connect(url: string, spec: Spec, options: SpecRunOptions = {}): Promise<SpecRunner> {
    const applicationName = options.applicationName ?? 'lockstep';
    let sessions: Sessions<Sent, StepOutcome> | undefined;
    const open = async () => {
      const database = await createThrowawayDatabase(url, applicationName);
      const config = { connectionString: database !== undefined ? inDatabase(url, database) : url, options: libpqOptions() };
      sessions = new Sessions({ config, cleanup: { connectionString: url }, applicationName, label: (i) => `session ${spec.sessions[i].name}` });
      if (database !== undefined) sessions.dropOnClose = { database };
      throwIfInterrupted(options.signal);
      const version = await sessions.openControl('');
      // PostgreSQL 14 and later cancel a waiting statement whose client has gone (a killed lockstep).
      const checkConnection = Number.parseInt(version, 10) >= 14 ? 'set client_connection_check_interval = 500' : '';
      if (checkConnection !== '') await sessions.control.query(checkConnection);
      // Setup, teardown and check run on the control connection: bound them like a step.
      await sessions.control.query(`set statement_timeout = ${options.stepTimeoutMs ?? defaultStepTimeoutMs}`);
      const live: LiveSession[] = [];
      for (const [index, s] of spec.sessions.entries()) {
        live.push({ name: s.name, index, connection: await sessions.connect(index, checkConnection, false), notices: [], totalNotices: 0 });
      }
      return new SpecRunner(spec, version, database, sessions, live, options);
    };
    return opening(options.signal, "Could not open the spec's sessions on PostgreSQL", open, async () => sessions?.close());
  }

  /**
   * Runs one permutation from a clean schema and reports what happened. A
   * permutation that cannot run (an `InputError`) is abandoned: its waiting
   * steps are cancelled and its schema dropped, so the runner can go on.
   */
  async run(permutation: Permutation): Promise<PermutationRun> {
    if (this.sessions.closed) throw new InterruptedError();
    try {
      return await this.runPermutation(permutation);
    } catch (e) {
      // Closed under it: the caller gave up (an abort); whatever failed since is the close's doing.
      if (!this.sessions.closed && e instanceof InputError) {
        await this.abandon().catch(() => {});
        throw e;
      }
      if (!this.sessions.closed && e instanceof StepTimeoutError) throw e;
      throw this.sessions.failure(e, `during ${this.doing}`);
    }
  }

  /** Cancels steps still running, rolls every session back and drops the permutation's schema. */
  private async abandon(): Promise<void> {
    const stuck = this.live.filter((s) => s.connection.busy);
    if (stuck.length > 0) await this.sessions.control.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [stuck.map((s) => s.connection.pid)]);
    const deadline = performance.now() + this.stepTimeoutMs;
    while (this.live.some((s) => s.connection.busy) && performance.now() < deadline) {
      await Promise.race([this.sessions.finished.next, new Promise((r) => setTimeout(r, 50))]);
    }
    for (const s of this.live) {
      s.connection.flight = null;
      s.notices = [];
    }
    await this.sessions.rollback();
    await this.schema.drop();
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
    await this.schema.create();

    for (const [i, sql] of this.spec.setup.entries()) {
      during(`the setup block${this.spec.setup.length > 1 ? ` ${i + 1}` : ''}`);
      const last = await exec(this.sessions.control, sql).catch((e: unknown) => {
        if (lostConnection(e)) throw e;
        throw new InputError(`The spec's setup block${this.spec.setup.length > 1 ? ` ${i + 1}` : ''} failed on PostgreSQL: ${reasonOf(e)}.`);
      });
      if (last) transcript.push({ kind: 'result', result: last });
    }
    for (const s of this.live) {
      const sql = this.spec.sessions[s.index].setup;
      if (sql === undefined) continue;
      during(`the setup of session ${s.name}`);
      const last = await exec(s.connection.client, sql).catch((e: unknown) => {
        if (lostConnection(e)) throw e;
        throw new InputError(`The setup of session ${s.name} failed on PostgreSQL: ${reasonOf(e)}.`);
      });
      this.flushNotices(s, transcript);
      if (last) transcript.push({ kind: 'result', result: last });
    }

    const waiting: Active[] = [];
    const complete = (a: Active, entry: 'step' | 'completed') => {
      this.flushNotices(a.session, transcript);
      const outcome = a.result!;
      if (entry === 'step') transcript.push({ kind: 'step', step: a.step.name, sql: a.step.sql, outcome });
      else transcript.push({ kind: 'completed', step: a.step.name, outcome });
      stepRuns[a.index] = { step: a.step.name, session: a.session.name, blocked: records.get(a)!.blocked, outcome };
      a.session.connection.flight = null;
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
      const session = this.sessionOf(step);
      const previous = session.connection.flight;
      if (previous !== null) {
        const waits = await this.settle(false, describe);
        if (!previous.done || this.hasBlocker(previous)) {
          throw new BlockedSessionError(`${describe} asks session ${session.name} to run step ${step.name} while its step ${previous.step.name} is ${this.stillWaiting(session, waits)}.`);
        }
        waiting.splice(waiting.indexOf(previous), 1);
        complete(previous, 'completed');
        reportFinished();
      }
      const noticeTargets = new Map<Blocker, number>();
      for (const b of pstep.blockers) {
        if (b.kind === 'step' && b.notices !== undefined) noticeTargets.set(b, this.sessionOf(this.steps.get(b.step)!).totalNotices + b.notices);
      }
      const active = session.connection.send({ index: i, pstep, step, session, noticeTargets }, [stepQuery(step.sql)], stepOutcome);
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
      throw new InputError(`${describe} ends with step ${a.step.name} ${this.stillWaiting(a.session, waits)}.`);
    }

    let check: boolean | undefined;
    during('the --check query');
    if (this.options.check !== undefined) check = await this.runCheck(this.options.check);
    during('the teardown');

    for (const s of this.live) {
      const sql = this.spec.sessions[s.index].teardown;
      if (sql === undefined) continue;
      try {
        const last = await exec(s.connection.client, sql);
        this.flushNotices(s, transcript);
        if (last) transcript.push({ kind: 'result', result: last });
      } catch (e) {
        this.flushNotices(s, transcript);
        warnings.push(`The teardown of session ${s.name} failed in permutation ${index}: ${reasonOf(e)}.`);
      }
    }
    if (this.spec.teardown !== undefined) {
      try {
        const last = await exec(this.sessions.control, this.spec.teardown);
        if (last) transcript.push({ kind: 'result', result: last });
      } catch (e) {
        warnings.push(`The spec's teardown failed in permutation ${index}: ${reasonOf(e)}.`);
      }
    }
    await this.sessions.rollback();
    for (const s of this.live) s.notices = [];
    await this.schema.drop();
    return { index, order, steps: stepRuns.map((s) => s!), transcript, ...(check !== undefined ? { check } : {}), warnings };
  }

  /** Ends every connection (terminating backends still running a step) and drops the spec's database or current schema. Idempotent. */
  close(): Promise<void> {
    return this.sessions.close();
  }

  /** Why `session`'s step is still reported waiting: `still waiting for a lock held by s2`, or its marker. */
  private stillWaiting(session: LiveSession, waits: ReadonlyMap<number, readonly number[]>): string {
    const on = waits.get(session.index) ?? [];
    return on.length > 0 ? `still waiting for a lock held by ${on.map((k) => this.live[k].name).join(' and ')}` : 'still reported waiting by its marker';
  }

  /** The session that runs `step`. */
  private sessionOf(step: SpecStep): LiveSession {
    return this.live[this.spec.sessions.findIndex((s) => s.name === step.session)];
  }

  /**
   * lockstep's settle rule: waits until every in-flight step has finished or
   * is blocked by another session; unless `allowCycles`, also until
   * PostgreSQL has resolved every deadlock among them.
   */
  private settle(allowCycles: boolean, describe: string): Promise<Map<number, number[]>> {
    return this.sessions.settle(this.stepTimeoutMs, {
      allowCycles,
      safeSnapshots: true,
      onDeadline: (waits) => {
        const busy = this.live.filter((s) => s.connection.busy);
        const running = busy.filter((s) => (waits.get(s.index)?.length ?? 0) === 0);
        const stuck = running.length > 0 ? running : busy;
        const names = stuck.map((s) => s.connection.flight!.step.name).join(', ');
        const what = running.length > 0 ? 'did not finish and was not waiting for another session' : 'stayed in a deadlock PostgreSQL did not resolve';
        throw new StepTimeoutError(`${describe}: step ${names} ${what} within the step timeout of ${formatSeconds(this.stepTimeoutMs)}; lockstep ended its sessions.`);
      },
    });
  }

  /** isolationtester's marker rule: a finished step is still reported waiting while a step it names is unreported, or too few notices came. */
  private hasBlocker(active: Active): boolean {
    for (const b of active.pstep.blockers) {
      if (b.kind === 'once') continue;
      const other = this.sessionOf(this.steps.get(b.step)!);
      if (b.notices !== undefined) {
        if (other.totalNotices < active.noticeTargets.get(b)!) return true;
      } else if (other.connection.flight?.step.name === b.step) {
        return true;
      }
    }
    return false;
  }

  private flushNotices(session: LiveSession, transcript: TranscriptEntry[]): void {
    for (const text of session.notices) transcript.push({ kind: 'notice', session: session.name, text });
    session.notices = [];
  }

  private async runCheck(sql: string): Promise<boolean> {
    let result: ResultSet | undefined;
    try {
      result = await exec(this.sessions.control, sql);
    } catch (e) {
      if (lostConnection(e)) throw e;
      throw new InputError(`The --check query failed on PostgreSQL: ${reasonOf(e)}.`);
    }
    if (!result || result.columns.length !== 1 || result.rows.length !== 1 || result.columns[0].typeId !== 16) {
      const shape = result ? `${result.rows.length} row${result.rows.length === 1 ? '' : 's'} of ${result.columns.length} column${result.columns.length === 1 ? '' : 's'}` : 'no rows';
      throw new InputError(`The --check query must return one boolean (one row, one boolean column), not ${shape}${result?.columns.length === 1 && result.columns[0].typeId !== 16 ? ' of another type' : ''}.`);
    }
    return result.rows[0][0] === 't';
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
