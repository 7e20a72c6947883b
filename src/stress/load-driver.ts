import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TxOutcome, WorkloadTx } from '../model/scenario.ts';
import { OperationStats } from './operation-stats.ts';
import { runPooled, type PooledRunContext } from './pooled-transaction.ts';
import type { StressPlan } from './stress.ts';
import { Timeline } from './timeline.ts';

/** What the clients did: per-operation and total tallies, every transaction's outcome, the timeline. */
export interface LoadResult {
  readonly operations: ReadonlyMap<string, OperationStats>;
  readonly total: OperationStats;
  /** By transaction id. */
  readonly outcomes: readonly TxOutcome[];
  readonly timeline: Timeline;
  readonly elapsedMs: number;
}

/**
 * Runs the plan's clients until its transactions are done or its duration
 * is over, and tallies every transaction.
 *
 * Closed model: a client starts its next transaction as soon as its last one
 * ended, and latency counts from then. Open model (`rate`, `burst`):
 * transaction `k` is due at a scheduled time whatever the clients are doing;
 * a free client takes the next due transaction (waiting for its time if it is
 * early), and latency counts from the schedule, so time spent queued behind
 * busy clients or a stalled pool is in it (no coordinated omission).
 *
 * `stopping()` true stops clients from starting transactions; a client that
 * throws (a program with a bug) stops the others, and its error is thrown
 * once every transaction in flight has ended.
 */
export async function driveLoad(plan: StressPlan, context: PooledRunContext, transactionAt: (index: number) => WorkloadTx, stopping: () => boolean): Promise<LoadResult> {
  const operations = new Map<string, OperationStats>(Object.keys(plan.scenario.operations).map((op) => [op, new OperationStats()]));
  const total = new OperationStats();
  const outcomes: TxOutcome[] = [];
  const started = performance.now();
  const timeline = new Timeline(started);
  const dueAfter = schedule(plan);
  let next = 0;
  let failure: { error: unknown } | undefined;

  const finished = (index: number): boolean => {
    if (plan.transactions !== undefined) return index >= plan.transactions;
    return (dueAfter(index) ?? performance.now() - started) >= plan.durationMs!;
  };

  const client = async () => {
    while (!stopping() && failure === undefined) {
      const index = next;
      if (finished(index)) return;
      next++;
      const after = dueAfter(index);
      const due = after === undefined ? undefined : started + after;
      let intended = performance.now();
      if (due !== undefined) {
        // Early: wait for the transaction's time, looking up now and then in case the run is stopping.
        for (let early = due - intended; early >= 1; early = due - performance.now()) {
          await sleep(Math.min(early, 100));
          if (stopping()) return;
        }
        intended = due;
      }
      const tx = transactionAt(index);
      const run = await runPooled(context, index + 1, tx);
      const ended = performance.now();
      const latencyMs = ended - intended;
      timeline.record(ended, latencyMs);
      total.record(run, latencyMs);
      operations.get(tx.operation)?.record(run, latencyMs);
      outcomes.push(run.outcome);
    }
  };

  const clients = Array.from({ length: plan.clients }, () =>
    client().catch((error: unknown) => {
      failure ??= { error };
    }),
  );
  await Promise.all(clients);
  const elapsedMs = performance.now() - started;
  if (failure !== undefined) throw failure.error;
  outcomes.sort((a, b) => a.id - b.id);
  return { operations, total, outcomes, timeline, elapsedMs };
}

/** How long after the start transaction `index` is due in the open model (`rate` or `burst`), in ms; undefined in the closed model. */
function schedule(plan: StressPlan): (index: number) => number | undefined {
  if (plan.rate !== undefined) {
    const rate = plan.rate;
    return (index) => (index * 1000) / rate;
  }
  if (plan.burst !== undefined) {
    const { size, idleMs } = plan.burst;
    return (index) => Math.floor(index / size) * idleMs;
  }
  return () => undefined;
}
