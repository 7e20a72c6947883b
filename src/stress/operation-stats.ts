import { LatencyHistogram, type LatencySummary } from './latency-histogram.ts';
import type { PooledRun } from './pooled-transaction.ts';

/** How many distinct messages of one error code a report keeps. */
const messagesKept = 3;

/** One error code seen under load: how often, and its first few distinct messages. */
export interface ErrorCount {
  readonly count: number;
  readonly messages: readonly string[];
}

/** What the transactions of one operation did under load, as a report gives it. */
export interface OperationReport {
  readonly count: number;
  /** By the program's result, or by the SQLSTATE (`pool-timeout`, `client-error`) that ended the transaction. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Every failed statement or connection by code, also those the program handled (a 40001 it retried). */
  readonly errors: Readonly<Record<string, ErrorCount>>;
  /** Database transactions opened: in all, the most one operation needed, and how many operations needed more than one. */
  readonly attempts: { readonly total: number; readonly max: number; readonly retried: number };
  /** From the intended start (the client ready, or the scheduled arrival) to the end. */
  readonly latencyMs: LatencySummary;
  /** Waiting for a pooled connection. */
  readonly acquireMs: LatencySummary;
  /** Holding the connection. */
  readonly serviceMs: LatencySummary;
  /** Mean client-side time per operation while holding the connection (running the program, compiling SQL, Node's event loop): service minus waiting for the server's answers. */
  readonly overheadMs: number;
}

/** The running tally of one operation (or of all of them). */
export class OperationStats {
  count = 0;
  readonly latency = new LatencyHistogram();
  readonly acquire = new LatencyHistogram();
  readonly service = new LatencyHistogram();
  private readonly outcomes = new Map<string, number>();
  private readonly errors = new Map<string, { count: number; messages: string[] }>();
  private attempts = 0;
  private maxAttempts = 0;
  private retried = 0;
  private overheadMs = 0;
  private failed = 0;

  record(run: PooledRun, latencyMs: number): void {
    this.count++;
    this.outcomes.set(run.key, (this.outcomes.get(run.key) ?? 0) + 1);
    if (run.outcome.error !== undefined) this.failed++;
    const errors = run.outcome.error !== undefined && run.statementErrors.at(-1) !== run.outcome.error ? [...run.statementErrors, run.outcome.error] : run.statementErrors;
    for (const e of errors) {
      let seen = this.errors.get(e.code);
      if (seen === undefined) this.errors.set(e.code, (seen = { count: 0, messages: [] }));
      seen.count++;
      if (seen.messages.length < messagesKept && !seen.messages.includes(e.message)) seen.messages.push(e.message);
    }
    const attempts = run.outcome.attempts;
    this.attempts += attempts;
    this.maxAttempts = Math.max(this.maxAttempts, attempts);
    if (attempts > 1) this.retried++;
    this.latency.record(latencyMs);
    this.acquire.record(run.acquireMs);
    this.service.record(run.serviceMs);
    this.overheadMs += Math.max(0, run.serviceMs - run.serverMs);
  }

  /** Operations whose outcome was `key`. */
  outcomeCount(key: string): number {
    return this.outcomes.get(key) ?? 0;
  }

  /** Operations that ended in an error (a SQLSTATE, `pool-timeout`, `client-error`) rather than a result of the program. */
  get failures(): number {
    return this.failed;
  }

  /** Operations that needed more than one attempt. */
  get retriedCount(): number {
    return this.retried;
  }

  report(): OperationReport {
    return {
      count: this.count,
      outcomes: Object.fromEntries([...this.outcomes].sort((a, b) => b[1] - a[1])),
      errors: Object.fromEntries([...this.errors].sort((a, b) => b[1].count - a[1].count)),
      attempts: { total: this.attempts, max: this.maxAttempts, retried: this.retried },
      latencyMs: this.latency.summary(),
      acquireMs: this.acquire.summary(),
      serviceMs: this.service.summary(),
      overheadMs: this.count === 0 ? 0 : Math.round((this.overheadMs / this.count) * 1000) / 1000,
    };
  }
}
