import { DefinitionError, EnvironmentError, InputError, InterruptedError, LockstepError } from '../errors.ts';
import { checkScenario } from '../model/check-scenario.ts';
import type { ExploreOptions, ExploreReport } from './explore.ts';
import { checkExploreOptions } from './explore-options.ts';
import { assembleReport, checkShard, firstFailure, prepareExploration, reportBase, shardRange, type Exploration, type PartResult, type Shrunk, type UnitResult } from './exploration.ts';
import type { WorkerAnswer, WorkerTask } from './explore-worker.ts';
import { moduleUrl } from './scenario-module.ts';
import { checkSerialSpec } from './serial-spec-check.ts';
import { workerPool } from './worker-pool.ts';

/** How to spread an exploration over worker threads. */
export interface WorkerOptions {
  /** Worker threads (at least 1). The report does not depend on it. */
  readonly workers: number;
  /**
   * The module that exports `scenario` (the value `defineScenario` returned,
   * or a list of scenarios), as a file URL or an absolute path, TypeScript
   * (through tsx) or JavaScript: each worker imports it to find the scenario
   * by its id, since a scenario's programs cannot be sent to a thread.
   */
  readonly scenarioModule: string | URL;
}

/** One shard of a split exploration: shard `index` (from 1) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** What a shard explored: the options that decide its results (every field must agree to merge). */
export interface ShardedExploration {
  readonly scenario: string;
  readonly strategy: string;
  readonly isolation: ExploreOptions['isolation'];
  readonly seed: number;
  readonly runs: number;
  readonly mode: NonNullable<ExploreOptions['mode']>;
  readonly maxTransactions?: number;
  readonly transactions?: number;
  readonly preemptionBound?: number;
  readonly depth?: number;
  readonly workload?: ExploreOptions['workload'];
}

/** The result of one shard, as `lockstep explore --shard` writes it and `mergeShards` reads it. */
export interface ShardResult {
  readonly lockstep: 'explore-shard';
  readonly exploration: ShardedExploration;
  readonly shard: Shard;
  /** The exploration's parts (runs, or exhaustive units) and the shard's own, [from, to). */
  readonly parts: number;
  readonly result: PartResult;
  /** The shard's first failure, shrunk as one process shrinks the first failure of the whole exploration. */
  readonly shrunk?: Shrunk;
  /** Timing only. */
  readonly elapsedMs: number;
}

/**
 * `explore` on worker threads (a tinypool pool of `workers` threads): the
 * runs (or exhaustive units) are cut into parts that threads take in order;
 * the failure reported is the one of the lowest run, shrunk in this thread,
 * so the report is the one `explore` gives, `stats` timing aside, whatever
 * the number of workers.
 *
 * ```ts
 * const report = await exploreOnWorkers({ scenario: couponLimit, strategy: 'naive', isolation: 'read-committed', runs: 100_000, seed: 1,
 *   workers: 2, scenarioModule: new URL('./races/coupon-limit.ts', import.meta.url) });
 * ```
 */
export async function exploreOnWorkers(options: ExploreOptions & WorkerOptions): Promise<ExploreReport> {
  const started = performance.now();
  const { exploration, task } = prepare(options, options);
  const results = await runOnWorkers(task!, options.workers, 0, exploration.size, options.signal);
  const failing = firstFailure(results, exploration.size);
  const shrunk = failing ? exploration.shrink(failing) : undefined;
  return assembleReport(reportBase({ ...options, scenario: options.scenario.id }), exploration.size, results, shrunk, performance.now() - started);
}

/**
 * Runs shard `shard.index` of `shard.count` of an exploration: a contiguous
 * range of its runs (or exhaustive units), on worker threads when `workers`
 * is given. `mergeShards` combines every shard's result into the report one
 * process would give.
 */
export async function exploreShard(options: ExploreOptions & { readonly shard: Shard } & Partial<WorkerOptions>): Promise<ShardResult> {
  checkShard(options.shard);
  const started = performance.now();
  const parallel = options.workers !== undefined || options.scenarioModule !== undefined;
  if (parallel && (options.workers === undefined || options.scenarioModule === undefined)) throw new InputError('Give both workers and scenarioModule to run a shard on worker threads.');
  const { exploration, task } = prepare(options, parallel ? (options as WorkerOptions) : undefined);
  const { from, to } = shardRange(exploration.size, options.shard);
  const results = task ? await runOnWorkers(task, options.workers!, from, to, options.signal) : [exploration.run(from, to)];
  const result = combine(results, from, to);
  const shrunk = result.failure !== undefined ? exploration.shrink(result) : undefined;
  return {
    lockstep: 'explore-shard',
    exploration: shardedExploration(options),
    shard: { index: options.shard.index, count: options.shard.count },
    parts: exploration.size,
    result,
    ...(shrunk ? { shrunk } : {}),
    elapsedMs: Math.round(performance.now() - started),
  };
}

/**
 * Combines the results of every shard of one split exploration into the
 * report `explore` gives in one process (`stats.elapsedMs` is the slowest
 * shard's). Shards of different explorations or splits, a shard given twice
 * and a missing shard are input errors; `names` (the files, say) name the
 * shards in them.
 */
export function mergeShards(shards: readonly ShardResult[], names: readonly string[] = shards.map((s) => `shard ${s.shard?.index}/${s.shard?.count}`)): ExploreReport {
  if (shards.length === 0) throw new InputError('Give the result files of every shard to merge.');
  shards.forEach((s, k) => {
    if (s?.lockstep !== 'explore-shard' || typeof s.exploration !== 'object' || typeof s.result !== 'object' || typeof s.shard !== 'object') {
      throw new InputError(`${names[k]} is not a shard result (lockstep explore --shard writes them).`);
    }
  });
  const [first] = shards;
  const key = JSON.stringify(first.exploration);
  for (const [k, s] of shards.entries()) {
    if (JSON.stringify(s.exploration) !== key) {
      const field = (Object.keys({ ...first.exploration, ...s.exploration }) as (keyof ShardedExploration)[]).find((f) => JSON.stringify(first.exploration[f]) !== JSON.stringify(s.exploration[f]));
      const shown = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));
      throw new InputError(`${names[k]} is a shard of another exploration than ${names[0]}: ${field} ${shown(s.exploration[field!])}, not ${shown(first.exploration[field!])}.`);
    }
    if (s.shard.count !== first.shard.count || s.parts !== first.parts) {
      throw new InputError(`${names[k]} is shard ${s.shard.index}/${s.shard.count} and ${names[0]} shard ${first.shard.index}/${first.shard.count}: merge the shards of one split.`);
    }
    const twin = shards.findIndex((o) => o.shard.index === s.shard.index);
    if (twin !== k) throw new InputError(`${names[twin]} and ${names[k]} are both shard ${s.shard.index}/${s.shard.count}.`);
  }
  const count = first.shard.count;
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !shards.some((s) => s.shard.index === i));
  const results = shards.map((s) => s.result);
  const failing = firstFailure(results, 0);
  // Shards after the first failing one may be missing: one process would not have run them either.
  const needed = missing.filter((i) => !failing || shardRange(first.parts, { index: i, count }).from <= failing.failure!);
  if (needed.length > 0) {
    throw new InputError(`${needed.length === 1 ? 'Shard' : 'Shards'} ${needed.map((i) => `${i}/${count}`).join(', ')} ${needed.length === 1 ? 'is' : 'are'} missing; merge needs every shard of the split.`);
  }
  const shrunk = failing ? shards.find((s) => s.result === failing)!.shrunk : undefined;
  const { exploration: e } = first;
  const elapsedMs = Math.max(...shards.map((s) => s.elapsedMs));
  return assembleReport(reportBase({ scenario: e.scenario, strategy: e.strategy, isolation: e.isolation, seed: e.seed, runs: e.runs, mode: e.mode }), first.parts, results, shrunk, elapsedMs);
}

/** Checks the options and prepares the exploration here (to shrink what the workers find) and the task the workers get. */
function prepare(options: ExploreOptions, parallel: WorkerOptions | undefined): { exploration: Exploration; task?: Omit<WorkerTask, 'from' | 'to'> } {
  checkScenario(options.scenario);
  checkExploreOptions(options);
  if (options.maxTimeMs !== undefined) throw new InputError('maxTimeMs does not combine with workers or shards: their parts must not depend on the clock.');
  if (parallel) {
    if (!Number.isSafeInteger(parallel.workers) || parallel.workers < 1) throw new InputError(`workers must be a whole number of at least 1, not ${parallel.workers}.`);
    moduleUrl(parallel.scenarioModule);
  }
  checkSerialSpec(options.scenario, options.strategy);
  const exploration = prepareExploration(options);
  if (!parallel) return { exploration };
  // Only the options that decide the runs cross to the threads (values, no functions).
  const { scenario: _, ...options_ } = shardedExploration(options);
  return { exploration, task: { module: moduleUrl(parallel.scenarioModule).href, scenario: options.scenario.id, options: options_ } };
}

function shardedExploration(options: ExploreOptions): ShardedExploration {
  const optional = <K extends keyof ShardedExploration>(k: K, v: ShardedExploration[K] | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    scenario: options.scenario.id,
    strategy: options.strategy,
    isolation: options.isolation,
    seed: options.seed,
    runs: options.runs,
    mode: options.mode ?? 'default',
    ...optional('maxTransactions', options.maxTransactions),
    ...optional('transactions', options.transactions),
    ...optional('preemptionBound', options.preemptionBound),
    ...optional('depth', options.depth),
    ...optional('workload', options.workload),
  };
}

/** The results of consecutive parts as one result over [from, to), up to the first failure. */
function combine(results: readonly PartResult[], from: number, to: number): PartResult {
  const sorted = [...results].sort((a, b) => a.from - b.from);
  const units: UnitResult[] | undefined = sorted.some((r) => r.units) ? [] : undefined;
  for (const r of sorted) {
    units?.push(...(r.units ?? []));
    if (r.failure !== undefined) return { from, to, failure: r.failure, ...(units ? { units } : {}) };
  }
  return { from, to, ...(units ? { units } : {}) };
}

/** The largest chunk of runs, and the smallest the last chunks shrink to. */
const chunkRuns = { most: 2000, least: 250 };

/**
 * Parts of one task for a pool of `workers`: small enough to share the work
 * and stop soon after a failure, large enough to cost little to hand out;
 * the last ones smaller, so that the threads end together. An exhaustive
 * unit is a part of its own.
 */
function chunksOf(task: Omit<WorkerTask, 'from' | 'to'>, workers: number, from: number, to: number): { from: number; to: number }[] {
  const chunks: { from: number; to: number }[] = [];
  const most = task.options.mode === 'exhaustive' ? 1 : Math.max(1, Math.min(chunkRuns.most, Math.ceil((to - from) / (workers * 8))));
  const least = Math.min(chunkRuns.least, most);
  for (let a = from; a < to; ) {
    const size = Math.max(least, Math.min(most, Math.ceil((to - a) / (workers * 4))));
    chunks.push({ from: a, to: Math.min(to, a + size) });
    a += size;
  }
  return chunks;
}

/** Chunks of runs each thread has at once: the next one waits in the thread rather than for this thread to hand it out. */
const queuedPerThread = 2;

/**
 * Runs parts [from, to) on a pool of `workers` threads, handing out chunks
 * in order, two per thread at a time for runs (one running, the next
 * queued in the thread); once a chunk fails, chunks after it are not
 * started, since the report needs only the parts up to the first failure.
 * Chunks of runs after it that are running, or all of them after an error
 * or an interrupt, are left to end and not waited for: a chunk of runs ends
 * soon and its thread stays up, warm, for the pool's next exploration. An
 * exhaustive unit, which can run long, is stopped instead (its thread with
 * it). Returns the results up to the first failure, in order.
 */
async function runOnWorkers(task: Omit<WorkerTask, 'from' | 'to'>, workers: number, from: number, to: number, signal?: AbortSignal): Promise<PartResult[]> {
  const chunks = chunksOf(task, workers, from, to);
  const exhaustive = task.options.mode === 'exhaustive';
  const pool = workerPool(workers);
  const results: (PartResult | undefined)[] = [];
  // The chunks handed out and not back yet, with how to stop each exhaustive unit.
  const running = new Map<number, AbortController | undefined>();
  let stopAt = chunks.length; // chunks from here on are not needed
  let next = 0;
  // An error of a chunk counts, as a failure does, once every chunk before it came back without a failure.
  let chunkError: { readonly k: number; readonly error: unknown } | undefined;
  let problem: unknown;
  let interrupt: (() => void) | undefined;
  try {
    await new Promise<void>((resolve) => {
      const launch = () => {
        while (problem === undefined && running.size < workers * (exhaustive ? 1 : queuedPerThread) && next < stopAt) {
          const k = next++;
          const controller = exhaustive ? new AbortController() : undefined;
          running.set(k, controller);
          // A task with a signal runs only on an idle thread (tinypool): units are not queued in a thread.
          (pool.run({ ...task, ...chunks[k] } satisfies WorkerTask, controller ? { signal: controller.signal } : {}) as Promise<WorkerAnswer>).then(
            (answer) => {
              running.delete(k);
              // A chunk after the first failure is not part of the report, nor is its error.
              if ('error' in answer) failed(k, rebuild(answer.error));
              else {
                results[k] = answer.result;
                if (answer.result.failure !== undefined && k < stopAt) {
                  stopAt = k + 1;
                  for (const [j, c] of running) if (j > k) c?.abort();
                }
              }
              done();
            },
            (e) => {
              running.delete(k);
              failed(k, e);
              done();
            },
          );
        }
      };
      const failed = (k: number, error: unknown) => {
        if (k >= stopAt) return;
        stopAt = k + 1;
        chunkError = { k, error };
        for (const [j, c] of running) if (j > k) c?.abort();
      };
      const done = () => {
        // The first chunk that ended the search threw, and no chunk before it failed: its error is the outcome.
        if (chunkError !== undefined && chunkError.k === stopAt - 1 && ![...running.keys()].some((j) => j < chunkError!.k)) problem ??= chunkError.error;
        if (problem !== undefined) {
          for (const c of running.values()) c?.abort();
          resolve();
          return;
        }
        launch();
        if (![...running.keys()].some((j) => j < stopAt)) resolve();
      };
      interrupt = () => {
        problem ??= new InterruptedError('Interrupted: lockstep stopped handing out work to its worker threads.');
        done();
      };
      if (signal?.aborted) problem = new InterruptedError('Interrupted: lockstep stopped handing out work to its worker threads.');
      signal?.addEventListener('abort', interrupt, { once: true });
      done();
    });
  } finally {
    if (interrupt) signal?.removeEventListener('abort', interrupt);
  }
  if (problem !== undefined) throw problem;
  return results.slice(0, stopAt).map((r, k) => {
    if (r === undefined) throw new Error(`part ${chunks[k].from} to ${chunks[k].to - 1} came back empty`);
    return r;
  });
}

/** A user's error from a worker, as its class again. */
function rebuild(error: { name: string; message: string }): LockstepError {
  if (error.name === 'DefinitionError') return new DefinitionError(error.message);
  if (error.name === 'EnvironmentError') return new EnvironmentError(error.message);
  return new InputError(error.message);
}
