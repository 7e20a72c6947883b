import * as fc from 'fast-check';
import { xorshift128plus } from 'pure-rand/generator/xorshift128plus';
import { jumpedAhead } from './jump-ahead.ts';
import type { TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { DefinitionError, InputError, InterruptedError } from '../errors.ts';
import type { Scenario, Workload } from '../model/scenario.ts';
import { scheduleArbitrary, workloadArbitrary } from './arbitraries.ts';
import { buildCounterexample, type Counterexample } from './counterexample.ts';
import { dependent, runWithDependencies, type DependencyStep } from './dependency-run.ts';
import { exhaustiveSearch, type ExhaustiveResult } from './exhaustive.ts';
import { modelEngine } from './model-engine.ts';
import { runToEnd } from './run-to-end.ts';
import type { ExploreOptions, ExploreReport, ExploreStats } from './explore.ts';
import { pctArbitrary, pctChooser, type PctSchedule } from './pct.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';
import { choiceSchedule, type Chooser } from './schedule.ts';
import { probeSymmetry, Symmetry } from './symmetry.ts';
import { defaultPctDepth, type SearchMode } from './search-mode.ts';
import { minimizeWithSearch, shrinkFailingCase } from './shrink.ts';
import { checkRun, type Violation } from './violation.ts';
import { defaultWorkload } from './workloads.ts';

/**
 * An exploration cut into numbered parts that run independently of each
 * other, in any order, on any thread or machine, and combine into the report
 * one process would give, byte for byte apart from timing.
 *
 * - Random, PCT and default search: the parts are the runs, numbered 0 to
 *   `runs - 1`. fast-check draws run i from the seed jumped i + 1 times (its
 *   `path` replays from any run), so run i is the same wherever it runs. The
 *   reported failure is the one of the lowest run, shrunk as one process
 *   shrinks it; the run count is that run's number plus one.
 * - Exhaustive search: the parts are units, one per transaction that can take
 *   the first step: unit k covers the schedules whose first step is the k-th
 *   runnable transaction's, with the earlier units' transactions asleep where
 *   their first steps are independent of its own (sleep sets, as the search
 *   does at every other choice point). The first failing unit in that order,
 *   at the first failing schedule of its search, is the one reported; counts
 *   are summed over the units up to it.
 */
export interface Exploration {
  /** The number of parts: runs, or exhaustive units. */
  readonly size: number;
  /** Runs parts [from, to) in order, stopping at the first failure. */
  run(from: number, to: number): PartResult;
  /** `run`, yielding where a caller may give the event loop a turn: within an exhaustive unit, every `exhaustiveTurnEvery` schedules. */
  runSteps(from: number, to: number): Generator<void, PartResult>;
  /** Shrinks the failure a part found (the first failing part of the whole exploration) into the reported counterexample. */
  shrink(failing: PartResult): Shrunk;
}

/** What parts [from, to) found: the first failing part, and for exhaustive search the counts of each unit run. */
export interface PartResult {
  readonly from: number;
  readonly to: number;
  /** The first failing part in [from, to); parts after it were not run. */
  readonly failure?: number;
  /** Exhaustive search: one entry per unit run, from `from` to `failure` (or `to - 1`). */
  readonly units?: readonly UnitResult[];
}

/** One exhaustive unit's search. */
export interface UnitResult {
  readonly schedules: number;
  readonly traces: number;
  readonly naiveInterleavings: number;
  readonly complete: boolean;
  /** Prefixes not run further because they reached a state already explored (state caching). */
  readonly prunedPrefixes: number;
  /** Digests of the distinct final outcomes the unit reached (`ExhaustiveResult.outcomeDigests`). */
  readonly outcomes: readonly string[];
  /** Digests of the distinct traces the unit ran to the end, with their equivalent orders (`ExhaustiveResult.traceDigests`): traces and naive interleavings count over all units by them. */
  readonly traceDigests?: readonly (readonly [string, number])[];
  /** The unit's search stopped at `maxTimeMs` (it is then not complete). */
  readonly stoppedByTime?: boolean;
  /** Transactions the unit's search took for interchangeable with another running the same operation on the same arguments (`symmetry.ts`). */
  readonly interchangeable?: number;
  /** The failing schedule as a choice list, when the unit found one. */
  readonly choices?: readonly number[];
}

/** A shrunk failure: the counterexample and the shrink steps it took. */
export interface Shrunk {
  readonly counterexample: Counterexample;
  readonly shrinks: number;
}

/** A run of the memory engine and its verdict. */
export interface CheckedRun {
  readonly trace: Trace;
  readonly violation: Violation | null;
}

/** Runs one workload under one choice schedule on `engine` and checks it. */
export function checkedRun(engine: Engine, spec: RunPlan, choices: readonly number[]): CheckedRun {
  const trace = runOnEngine(engine, spec, choiceSchedule(choices));
  return { trace, violation: checkRun(spec.scenario, trace) };
}

/** Runs between two `onProgress` calls, and between two looks at `maxTimeMs` and `signal`. */
export const progressEvery = 500;

/** Exhaustive schedules between two turns of the event loop (`exploreAsync`) and two `onProgress` calls: one schedule of a large workload can take tens of milliseconds. */
const exhaustiveTurnEvery = 25;

/** Prepares an exploration of checked options (`explore` checks them). */
export function prepareExploration(options: ExploreOptions): Exploration {
  const mode = options.mode ?? 'default';
  if (mode === 'exhaustive') return exhaustiveExploration(options);
  if (mode !== 'random' || options.workload) return sampledExploration(options, mode);
  return randomExploration(options);
}

/** The report's fields that do not depend on what was found. */
export function reportBase(options: Pick<ExploreOptions, 'strategy' | 'isolation' | 'seed' | 'runs' | 'mode'> & { scenario: string }): Omit<ExploreReport, 'status' | 'stats' | 'counterexample'> {
  return { scenario: options.scenario, strategy: options.strategy, isolation: options.isolation, seed: options.seed, runs: options.runs, mode: options.mode ?? 'default' };
}

/** The first failure over the parts' results, which must cover every part up to it (or all `size` parts when none failed). */
export function firstFailure(results: readonly PartResult[], size: number): PartResult | undefined {
  const sorted = [...results].sort((a, b) => a.from - b.from);
  let covered = 0;
  for (const r of sorted) {
    if (r.from > covered) break;
    if (r.failure !== undefined) return r;
    covered = Math.max(covered, r.to);
  }
  if (covered < size) throw new Error(`parts ${covered} to ${size - 1} of the exploration are missing`);
  return undefined;
}

/**
 * The report of an exploration from its parts' results (covering every part
 * up to the first failure) and the shrunk first failure: what `explore`
 * returns in one process, `elapsedMs` aside.
 */
export function assembleReport(
  base: Omit<ExploreReport, 'status' | 'stats' | 'counterexample'>,
  size: number,
  results: readonly PartResult[],
  shrunk: Shrunk | undefined,
  elapsedMs: number,
): ExploreReport {
  const failing = firstFailure(results, size);
  if (failing && !shrunk) throw new Error('a failing exploration needs its shrunk counterexample');
  const timing = (runs: number) => ({ elapsedMs: Math.round(elapsedMs), runsPerSecond: Math.round((runs / Math.max(elapsedMs, 1)) * 1000) });
  let stats: ExploreStats;
  if (base.mode === 'exhaustive') {
    const end = failing?.failure ?? size;
    const units: UnitResult[] = [];
    for (const r of [...results].sort((a, b) => a.from - b.from)) {
      r.units?.forEach((u, k) => {
        if (r.from + k < end + (failing ? 1 : 0) && units[r.from + k] === undefined) units[r.from + k] = u;
      });
    }
    const sum = (f: (u: UnitResult) => number) => units.reduce((n, u) => n + f(u), 0);
    const schedules = sum((u) => u.schedules);
    stats = {
      runs: schedules,
      shrinks: shrunk?.shrinks ?? 0,
      ...timing(schedules),
      schedules,
      ...traceStats(units),
      complete: !failing && units.every((u) => u.complete),
      ...outcomeStats(schedules, sum((u) => u.prunedPrefixes), units),
      ...(units.length > 0 && units.every((u) => u.interchangeable) ? { interchangeable: units[0].interchangeable } : {}),
    };
  } else {
    const runs = failing ? failing.failure! + 1 : size;
    stats = { runs, shrinks: shrunk?.shrinks ?? 0, ...timing(runs) };
  }
  if (!failing) return { ...base, status: 'passed', stats };
  return { ...base, status: 'failed', counterexample: shrunk!.counterexample, stats };
}

/**
 * Runs [from, to) of a fast-check property as `fc.check` draws them from
 * `seed`: run i from the generator jumped i + 1 times, with bias i. A cursor
 * keeps the generator between calls, and a part that starts further on jumps
 * ahead in log steps (`jump-ahead.ts`; `fc.check`'s `path` would jump once per
 * run from the seed), so a worker pays nothing for the runs other workers take.
 * Returns the first failing run.
 */
function runCursor<T extends [unknown, unknown]>(property: fc.IProperty<T>, seed: number, guard: DefinitionGuard): (from: number, to: number) => number | undefined {
  let index = 0;
  let rng = xorshift128plus(seed);
  return (from, to) => {
    guard.reset();
    if (from < index) {
      index = 0;
      rng = xorshift128plus(seed);
    }
    if (index < from) {
      rng = jumpedAhead(rng, from - index);
      index = from;
    }
    while (index < to) {
      rng.jump();
      const value = property.generate(new fc.Random(rng), index);
      index++;
      if (property.run(value.value) !== null) {
        guard.rethrow();
        return index - 1;
      }
    }
    return undefined;
  };
}

/** The parts of a search whose parts are its numbered runs, run by `runs` (the first failing run in [from, to), if any). */
function numberedRuns(size: number, runs: (from: number, to: number) => number | undefined): Pick<Exploration, 'size' | 'run' | 'runSteps'> {
  const run = (from: number, to: number): PartResult => {
    const failure = runs(from, to);
    return { from, to, ...(failure !== undefined ? { failure } : {}) };
  };
  return {
    size,
    run,
    // Runs are short: callers cut them into parts of progressEvery runs.
    *runSteps(from, to) {
      return run(from, to);
    },
  };
}

/** fast-check's own check of run `run` of `seed` (and its shrinking unless `endOnFailure`), with the generator `runCursor` uses. */
function checkOneRun<T extends [unknown, unknown]>(property: fc.IProperty<T>, seed: number, run: number, endOnFailure: boolean): fc.RunDetails<T> {
  return fc.check(property, { seed, path: String(run), numRuns: 1, endOnFailure, randomType: xorshift128plus });
}

/** Random mode: fast-check generates workloads and choice lists and shrinks a failing pair itself. */
function randomExploration(options: ExploreOptions): Exploration {
  const { scenario, isolation, seed } = options;
  const strategy = scenario.strategies[options.strategy];
  const maxTransactions = options.maxTransactions ?? scenario.transactions.max;
  const engine = modelEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  const guard = definitionGuard();
  const property = fc.property(workloadArbitrary(scenario, maxTransactions), scheduleArbitrary(maxTransactions, maxTransactions * 8), guard.wrap((workload, choices) => {
    return checkedRun(engine, planFor(workload), choices).violation === null;
  }));
  const base = reportBase({ ...options, scenario: scenario.id });
  return {
    ...numberedRuns(options.runs, runCursor(property, seed, guard)),
    shrink(failing) {
      const details = checkOneRun(property, seed, failing.failure!, false);
      guard.rethrow();
      if (!details.failed || !details.counterexample) throw new Error(`run ${failing.failure} of seed ${seed} no longer fails`);
      const [shrunkWorkload, shrunkChoices] = details.counterexample;
      const shrunk = checkedRun(engine, planFor(shrunkWorkload), shrunkChoices);
      if (shrunk.violation === null) throw details.errorInstance;
      const found = { workload: shrunkWorkload, choices: shrunkChoices };
      const minimal = minimizeWithSearch(engine, scenario, planFor, found, shrunk.trace.preemptions);
      const workload = minimal.workload;
      const { trace, violation } = minimal === found ? shrunk : checkedRun(engine, planFor(workload), minimal.choices);
      if (violation === null) throw details.errorInstance;
      return { counterexample: buildCounterexample({ ...base, scenario, workload, trace, violation }), shrinks: details.numShrinks };
    },
  };
}

/** A schedule drawn by the PCT and default searches: a choice list or a PCT schedule. */
type DrawnSchedule = { readonly kind: 'choices'; readonly choices: number[] } | { readonly kind: 'pct'; readonly pct: PctSchedule };

/**
 * PCT and the default search (PCT schedules mixed with fast-check's random
 * choice lists, three to one), and random search of one fixed workload: a
 * failing run is replayed to get its choice list, then shrunk by
 * `shrinkFailingCase` like any other.
 */
function sampledExploration(options: ExploreOptions, mode: SearchMode): Exploration {
  const { scenario, isolation, seed } = options;
  const strategy = scenario.strategies[options.strategy];
  const maxTransactions = options.workload?.length ?? options.maxTransactions ?? scenario.transactions.max;
  const depth = options.depth ?? defaultPctDepth;
  const engine = modelEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  // PCT spreads its change points over the run's length: from a serial run of the fixed workload, else of the scenario's own two transactions, per transaction.
  const sample = options.workload ?? defaultWorkload(scenario, 2);
  const stepsPerTx = runOnEngine(engine, planFor(sample), choiceSchedule([])).steps.length / Math.max(sample.length, 1);
  const chooserFor = (workload: Workload, schedule: DrawnSchedule): Chooser => {
    if (schedule.kind === 'choices') return choiceSchedule(schedule.choices);
    return pctChooser(schedule.pct, depth, Math.max(1, Math.round(stepsPerTx * workload.length)));
  };
  const randomChoices = scheduleArbitrary(maxTransactions, maxTransactions * 8).map((choices): DrawnSchedule => ({ kind: 'choices', choices }));
  const pct = pctArbitrary(maxTransactions, depth).map((p): DrawnSchedule => ({ kind: 'pct', pct: p }));
  const schedules: fc.Arbitrary<DrawnSchedule> =
    mode === 'pct' ? pct : mode === 'random' ? randomChoices : fc.oneof({ arbitrary: pct, weight: 3 }, { arbitrary: randomChoices, weight: 1 });
  const workloads = options.workload ? fc.constant(options.workload) : workloadArbitrary(scenario, maxTransactions);
  const guard = definitionGuard();
  const property = fc.property(workloads, schedules, guard.wrap((workload, schedule) => {
    const trace = runOnEngine(engine, planFor(workload), chooserFor(workload, schedule));
    return checkRun(scenario, trace) === null;
  }));
  const base = reportBase({ ...options, scenario: scenario.id });
  return {
    ...numberedRuns(options.runs, runCursor(property, seed, guard)),
    shrink(failing) {
      const details = checkOneRun(property, seed, failing.failure!, true);
      guard.rethrow();
      if (!details.failed || !details.counterexample) throw new Error(`run ${failing.failure} of seed ${seed} no longer fails`);
      const [workload, schedule] = details.counterexample;
      const chooser = chooserFor(workload, schedule);
      const { choices } = runWithDependencies(engine, planFor(workload), (runnable, last) => chooser.choose(runnable, last));
      return shrinkFound(engine, scenario, planFor, base, { workload, choices }, seed);
    },
  };
}

/** Distinct traces over the units (a trace two units both ran counts once), and the naive interleavings of those traces. */
function traceStats(units: readonly UnitResult[]): { traces: number; naiveInterleavings: number } {
  const distinct = new Map<string, number>();
  for (const u of units) for (const [digest, orders] of u.traceDigests ?? []) distinct.set(digest, orders);
  let naiveInterleavings = 0;
  for (const orders of distinct.values()) naiveInterleavings += orders;
  return { traces: distinct.size, naiveInterleavings };
}

/** State caching's pruned prefixes, the distinct final outcomes over every unit, and schedules run per distinct outcome (1 is a search that ran nothing twice). */
function outcomeStats(schedules: number, prunedPrefixes: number, units: readonly UnitResult[]) {
  const outcomes = new Set(units.flatMap((u) => u.outcomes ?? [])).size;
  return { prunedPrefixes, outcomes, schedulesPerOutcome: outcomes === 0 ? 0 : Math.round((schedules / outcomes) * 100) / 100 };
}

/**
 * Exhaustive mode: every schedule of one workload up to equivalence
 * (`exhaustive.ts`), one unit per transaction that can take the first step.
 * Passing is a proof for that workload (unless a preemption bound cut
 * schedules); a failure is the first in the search order, then shrunk.
 */
function exhaustiveExploration(options: ExploreOptions): Exploration {
  const { scenario, isolation, seed } = options;
  const strategy = scenario.strategies[options.strategy];
  const engine = modelEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  const workload = options.workload ?? defaultWorkload(scenario, options.transactions ?? Math.min(3, scenario.transactions.max));
  const plan = planFor(workload);
  const base = reportBase({ ...options, scenario: scenario.id });
  // A budget (maxTimeMs) is looked at after every schedule, progress and an abort every exhaustiveTurnEvery schedules.
  const started = performance.now();
  const deadline = options.maxTimeMs === undefined ? Infinity : started + options.maxTimeMs;
  const watch = options.maxTimeMs ?? options.onProgress ?? options.signal;
  let schedulesSeen = 0;
  // The transactions that can take the first step, and the first step each takes.
  const roots = runWithDependencies(engine, plan, () => undefined).runnable[0] ?? [];
  const firstSteps = new Map<TxId, DependencyStep>();
  const firstStepOf = (tx: TxId): DependencyStep => {
    let step = firstSteps.get(tx);
    if (step === undefined) {
      runWithDependencies(engine, plan, (_runnable, _last, depth) => (depth === 0 ? tx : undefined), (s) => void (step = s));
      if (step === undefined) throw new Error(`T${tx} took no first step`);
      firstSteps.set(tx, step);
    }
    return step;
  };
  // Interchangeable transactions (`symmetry.ts`) share a unit: the search explores one of them first and finds the others' first states explored.
  const symmetry = options.preemptionBound === undefined ? probeSymmetry(engine, plan)?.symmetry : undefined;
  const units: TxId[][] = [];
  for (const tx of roots) {
    const mates = symmetry === undefined ? undefined : units.find((u) => symmetry.classOf[u[0]] === symmetry.classOf[tx]);
    if (mates) mates.push(tx);
    else units.push([tx]);
  }
  function* unit(k: number): Generator<void, UnitResult> {
    const txs = units[k];
    const own = txs.map(firstStepOf);
    const asleep = new Map<TxId, DependencyStep>();
    for (const t of units.slice(0, k).flat()) {
      const s = firstStepOf(t);
      if (own.some((o) => !dependent(s, o))) asleep.set(t, s);
    }
    let stoppedByTime = false;
    const onRun = watch === undefined ? undefined : () => {
      if (++schedulesSeen % exhaustiveTurnEvery === 0) {
        options.onProgress?.({ runs: schedulesSeen, elapsedMs: Math.round(performance.now() - started) });
        if (options.signal?.aborted) throw new InterruptedError();
      }
      if (performance.now() < deadline) return true;
      stoppedByTime = true;
      return false;
    };
    const search = exhaustiveSearch(engine, plan, { preemptionBound: options.preemptionBound, first: { txs, asleep }, onRun });
    let r: ExhaustiveResult;
    for (let schedules = 1; ; schedules++) {
      const next = search.next();
      if (next.done) {
        r = next.value;
        break;
      }
      if (schedules % exhaustiveTurnEvery === 0) yield;
    }
    return {
      schedules: r.schedules,
      traces: r.traces,
      naiveInterleavings: r.naiveInterleavings,
      complete: r.complete,
      prunedPrefixes: r.prunedPrefixes,
      outcomes: r.outcomeDigests,
      traceDigests: r.traceDigests,
      ...(stoppedByTime && !r.failure ? { stoppedByTime } : {}),
      ...(r.symmetric ? { interchangeable: interchangeable(workload) } : {}),
      ...(r.failure ? { choices: r.failure.choices } : {}),
    };
  };
  return {
    size: units.length,
    run(from, to) {
      return runToEnd(this.runSteps(from, to));
    },
    *runSteps(from, to) {
      const units: UnitResult[] = [];
      for (let k = from; k < to; k++) {
        const u = yield* unit(k);
        units.push(u);
        if (u.choices) return { from, to, failure: k, units };
      }
      return { from, to, units };
    },
    shrink(failing) {
      const choices = failing.units?.[failing.failure! - failing.from]?.choices;
      if (!choices) throw new Error(`unit ${failing.failure} has no failing schedule`);
      return shrinkFound(engine, scenario, planFor, base, { workload, choices }, seed);
    },
  };
}

/** How many transactions of `workload` run the same operation on the same arguments as another. */
function interchangeable(workload: Workload): number {
  return Symmetry.of(workload)?.classes.reduce((n, c) => n + c.length, 0) ?? 0;
}

/** Shrinks a failing case found by a search other than random. */
function shrinkFound(
  engine: Engine,
  scenario: Scenario,
  planFor: (workload: Workload) => RunPlan,
  base: Omit<ExploreReport, 'status' | 'stats' | 'counterexample'>,
  found: { workload: Workload; choices: readonly number[] },
  seed: number,
): Shrunk {
  const fails = (workload: Workload, choices: readonly number[]) => checkedRun(engine, planFor(workload), choices).violation !== null;
  const shrunk = shrinkFailingCase(scenario, found, fails, seed);
  const preemptions = checkedRun(engine, planFor(shrunk.failing.workload), shrunk.failing.choices).trace.preemptions;
  const failing = minimizeWithSearch(engine, scenario, planFor, shrunk.failing, preemptions);
  const shrinks = shrunk.shrinks + (failing === shrunk.failing ? 0 : 1);
  const { trace, violation } = checkedRun(engine, planFor(failing.workload), failing.choices);
  if (violation === null) throw new Error('the shrunk counterexample no longer fails');
  return { counterexample: buildCounterexample({ ...base, scenario, workload: failing.workload, trace, violation }), shrinks };
}

interface DefinitionGuard {
  wrap<A, B>(predicate: (a: A, b: B) => boolean): (a: A, b: B) => boolean;
  rethrow(): void;
  /** Forgets the error: a new part of the search runs its runs again. */
  reset(): void;
}

/**
 * Remembers the first `DefinitionError` a property throws and passes every
 * later run without running it, so fast-check neither shrinks a scenario that
 * is not well defined nor explores it further; `rethrow` after `fc.check`.
 */
function definitionGuard(): DefinitionGuard {
  let error: DefinitionError | undefined;
  return {
    wrap(predicate) {
      return (a, b) => {
        if (error) return true;
        try {
          return predicate(a, b);
        } catch (e) {
          if (e instanceof DefinitionError) error = e;
          throw e;
        }
      };
    },
    rethrow() {
      if (error) throw error;
    },
    reset() {
      error = undefined;
    },
  };
}

/** Checks `{ index, count }` of a shard: whole numbers with 1 <= index <= count. */
export function checkShard(shard: { readonly index: number; readonly count: number }): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new InputError(`A shard is i/n with whole numbers 1 <= i <= n, not ${index}/${count}.`);
  }
}

/** The parts [from, to) of shard `index` of `count` over `size` parts: contiguous, in order, as even as whole parts allow. */
export function shardRange(size: number, shard: { readonly index: number; readonly count: number }): { from: number; to: number } {
  return { from: Math.floor((size * (shard.index - 1)) / shard.count), to: Math.floor((size * shard.index) / shard.count) };
}
