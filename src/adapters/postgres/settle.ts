import { performance } from 'node:perf_hooks';
import type pg from 'pg';

/**
 * Whether a statement in flight may wait for a lock:
 * - `never`: it cannot (a commit, a rollback, a select without a locking
 *   clause), so it is sure to complete and no poll is sent while it runs;
 * - `unexpected`: it could, but the model predicts that it completes in its
 *   step, so no poll is sent while it runs for up to `unexpectedWaitGraceMs`
 *   (at most half the time to the settle's deadline), after which the
 *   settle polls again (PostgreSQL may differ from the model: a wait is then
 *   found that much later, and reported the same). It holds for the settle
 *   of the step that sent it: `Sessions.settle` makes a statement still
 *   running after it `may`;
 * - `may`: it may wait; polls go out while it runs.
 */
export type Waiting = 'never' | 'unexpected' | 'may';

/** How long a statement the model predicts completes (`unexpected`) runs before the settle polls for it, by default. */
export const unexpectedWaitGraceMs = 1000;

/** A statement still running on one session's connection. */
export interface InFlight<K> {
  /** The session (transaction, spec session) the statement belongs to. */
  readonly key: K;
  /** `pg_backend_pid()` of the session's connection. */
  readonly pid: number;
  /** Whether it may wait for a lock (default `may`). */
  readonly waiting?: Waiting;
}

/** How `pollUntilSettled` learns that a statement finished while a poll was out. */
export interface Completions {
  /** Bumped whenever an in-flight statement finishes. */
  readonly generation: number;
  /** Resolved (and replaced) whenever an in-flight statement finishes. */
  readonly next: Promise<void>;
}

/** What `pollUntilSettled` needs to know about a run. */
export interface SettleOptions<K> {
  /** The control connection that polls (pipelined, so a stale poll need not be awaited). */
  readonly control: pg.Client;
  /** Statements still in flight, read again before every poll. */
  pending(): readonly InFlight<K>[];
  /** Every session of the run by backend pid: waits on anyone else are ignored. */
  readonly sessions: ReadonlyMap<number, K>;
  /** `performance.now()` after which the current picture is returned as it is. */
  readonly deadline: number;
  completions(): Completions;
  /** Orders the sessions a statement waits for. */
  readonly compare: (a: K, b: K) => number;
  /** Stop as soon as every statement is blocked, even in a wait-for cycle PostgreSQL has not resolved yet (default false). */
  readonly allowCycles?: boolean;
  /** Also count a SERIALIZABLE READ ONLY DEFERRABLE transaction waiting for a safe snapshot as blocked (default false). */
  readonly safeSnapshots?: boolean;
  /** How long an `unexpected` wait goes unpolled (default `unexpectedWaitGraceMs`). */
  readonly graceMs?: number;
  /**
   * True when the driver knows that every statement still in flight is
   * blocked as it was when the last step settled (nothing since could have
   * released it): the run has settled without a poll.
   */
  readonly stillBlocked?: () => boolean;
}

/** Which sessions each in-flight statement waits for, and whether the run settled before the deadline. */
export interface Settled<K> {
  readonly waits: Map<K, K[]>;
  readonly settled: boolean;
}

const blockersQuery = 'select pid, pg_blocking_pids(pid) as blockers from unnest($1::int[]) as pid';
const blockersWithSnapshotsQuery = 'select pid, pg_blocking_pids(pid) || pg_safe_snapshot_blocking_pids(pid) as blockers from unnest($1::int[]) as pid';

/**
 * lockstep's settle rule on PostgreSQL: polls `pg_blocking_pids` on the
 * control connection, back to back with no sleep, until every in-flight
 * statement has completed or is blocked by another session of the run (and,
 * unless `allowCycles`, no wait-for cycle remains: PostgreSQL has not resolved
 * a deadlock yet), or until the deadline. While a statement that cannot wait
 * for a lock (`never`) is in flight no poll could settle the run, so none is
 * sent: the loop waits for a completion instead. So it does, for a while,
 * while one the model predicts completes (`unexpected`) is in flight. And
 * none is sent once the driver knows the statements left are still blocked
 * (`stillBlocked`).
 *
 * ```ts
 * const { waits, settled } = await pollUntilSettled({ control, pending, sessions, deadline, completions, compare: (a, b) => a - b });
 * ```
 */
export async function pollUntilSettled<K>(options: SettleOptions<K>): Promise<Settled<K>> {
  const { control, sessions } = options;
  const query = options.safeSnapshots
    ? { name: 'lockstep_blockers_snapshots', text: blockersWithSnapshotsQuery }
    : { name: 'lockstep_blockers', text: blockersQuery };
  let waits = new Map<K, K[]>();
  // At most half the time to the deadline, so that a settle with a short deadline still polls.
  const start = performance.now();
  const graceEnd = start + Math.min(options.graceMs ?? unexpectedWaitGraceMs, (options.deadline - start) / 2);
  for (;;) {
    const pending = options.pending();
    if (pending.length === 0) return { waits, settled: true };
    if (options.stillBlocked?.()) return { waits, settled: true };
    if (performance.now() > options.deadline) return { waits, settled: false };
    const { generation, next } = options.completions();
    // No poll can settle the run while a statement that cannot wait runs (it is never blocked), nor, as the model has
    // it, while one that it predicts completes runs: wait for a completion instead (for the latter, for a while).
    const quietUntil = pending.some((p) => p.waiting === 'never')
      ? options.deadline
      : pending.some((p) => p.waiting === 'unexpected') && performance.now() < graceEnd
        ? graceEnd
        : null;
    if (quietUntil !== null) {
      await completionOrDeadline(next, quietUntil);
      continue;
    }
    const poll = control.query<{ pid: number; blockers: number[] }>({ ...query, values: [pending.map((p) => p.pid)] });
    // A statement finishing while the poll is out makes its answer stale: look again at once
    // (the control connection pipelines, so the stale poll need not be waited for).
    const answer = await Promise.race([poll, next.then(() => null)]);
    if (answer === null || generation !== options.completions().generation) {
      poll.catch(() => {});
      continue;
    }
    waits = new Map();
    for (const row of answer.rows) {
      const key = sessions.get(row.pid)!;
      const on = new Set(row.blockers.map((pid) => sessions.get(pid)).filter((k): k is K => k !== undefined && k !== key));
      waits.set(key, [...on].sort(options.compare));
    }
    if (pending.every((p) => (waits.get(p.key)?.length ?? 0) > 0) && (options.allowCycles || !hasCycle(waits))) return { waits, settled: true };
  }
}

/** Resolves when `next` does or once `performance.now()` has passed `until`, whichever comes first (a timer may fire early: it is set again). */
async function completionOrDeadline(next: Promise<void>, until: number): Promise<void> {
  let completed = false;
  void next.then(() => (completed = true));
  while (!completed && performance.now() <= until) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.ceil(until - performance.now()) || 1);
    });
    try {
      await Promise.race([next, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** True when following waits-for edges from some session leads back to it. */
export function hasCycle<K>(waits: ReadonlyMap<K, readonly K[]>): boolean {
  const state = new Map<K, 'open' | 'done'>();
  const visit = (key: K): boolean => {
    const s = state.get(key);
    if (s === 'open') return true;
    if (s === 'done') return false;
    state.set(key, 'open');
    for (const next of waits.get(key) ?? []) if (visit(next)) return true;
    state.set(key, 'done');
    return false;
  };
  for (const key of waits.keys()) if (visit(key)) return true;
  return false;
}

/** A completion signal: `fire()` bumps the generation and resolves the current promise. */
export class CompletionSignal implements Completions {
  generation = 0;
  next: Promise<void>;
  private resolve!: () => void;

  constructor() {
    this.next = this.arm();
  }

  fire(): void {
    this.generation++;
    const resolve = this.resolve;
    this.next = this.arm();
    resolve();
  }

  private arm(): Promise<void> {
    return new Promise<void>((r) => (this.resolve = r));
  }
}
