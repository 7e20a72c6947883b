import { createHash } from 'node:crypto';
import type { TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { checkRun, type Violation } from './violation.ts';
import { equivalentOrders } from './interleavings.ts';
import { outcomeKey } from './outcome-key.ts';
import { canonicalOrder, dependent, HappensBefore, runWithDependencies, type DependencyStep, type RunObserver } from './dependency-run.ts';
import { HeapOrders } from './heap-orders.ts';
import type { RunPlan, Trace } from './runner.ts';
import type { Independence } from './footprint.ts';
import { placesIn, StateCache, StateKeys, type CachedState, type CachedStep } from './state-cache.ts';
import { IdColumns } from './id-columns.ts';
import { seedTables } from '../model/scenario.ts';
import { checkReassignments, probeSymmetry } from './symmetry.ts';
import { runToEnd } from './run-to-end.ts';

/** Limits of an exhaustive search. */
export interface ExhaustiveOptions {
  /** Cut every schedule at this many preemptions: a bounded search, no longer a proof of absence. */
  readonly preemptionBound?: number;
  /** Called with every finished run; return false to stop the search. */
  readonly onRun?: (trace: Trace) => boolean | void;
  /** Stop at the first run that breaks a rule (default true). */
  readonly stopOnViolation?: boolean;
  /** Stop after this many schedules (the search is then not complete). */
  readonly maxSchedules?: number;
  /**
   * One unit of a search split by first step (`exploration.ts`): only schedules
   * whose first step is one of `txs`' (one transaction, or interchangeable
   * ones, `symmetry.ts`), with `asleep` (transactions and the first step
   * each would take) asleep at the start. The root is then fully expanded by
   * the units together, so races with the first step add nothing to it.
   */
  readonly first?: { readonly txs: readonly TxId[]; readonly asleep: ReadonlyMap<TxId, DependencyStep> };
  /** Which steps count as independent (`footprint.ts`): `semantic` unless given; `coarse` is lockstep 0.1's reduction, for comparison. */
  readonly independence?: Independence;
  /**
   * States remembered so that a prefix reaching an explored state is not run
   * further (`state-cache.ts`): at most this many (default 1,000,000: about 850 MB at most); 0 turns
   * state caching off. Off under a preemption bound (the preemptions spent
   * are part of what a prefix may still do).
   */
  readonly stateCache?: number;
  /**
   * Take transactions that run the same operation on the same arguments for
   * interchangeable while caching states (`symmetry.ts`; default true): a
   * state is explored once whichever of them brought it about.
   */
  readonly symmetry?: boolean;
}

/** States kept by default. */
export const defaultStateCache = 1_000_000;

/** A run that broke a rule: its trace and its choice list (for shrinking). */
export interface ExhaustiveFailure {
  readonly trace: Trace;
  readonly choices: readonly number[];
  readonly violation: Violation;
}

/** What an exhaustive search did. */
export interface ExhaustiveResult {
  /** Schedules executed (including ones cut short because every runnable transaction was asleep). */
  readonly schedules: number;
  /** Distinct finished runs up to reordering independent steps (Mazurkiewicz traces). */
  readonly traces: number;
  /**
   * Schedules a search without reduction would run to cover the traces run to
   * the end: all of them when `complete` and no prefix was pruned by state
   * caching (then a lower bound).
   */
  readonly naiveInterleavings: number;
  /** True when every schedule was covered: no violation means none exists for this workload. */
  readonly complete: boolean;
  /** Prefixes not run further because they reached a state already explored (state caching). */
  readonly prunedPrefixes: number;
  /** Distinct final outcomes (final tables and every transaction's result, fate, error and attempts) of the runs to the end, and (`symmetric`) of the runs they stand for with interchangeable transactions swapped. */
  readonly outcomes: number;
  /** The distinct outcomes as short digests (SHA-256, 16 hex digits), in the order first reached: searches split into parts count them together. */
  readonly outcomeDigests: readonly string[];
  /** The distinct traces run to the end as short digests (SHA-256 of the canonical order, 16 hex digits), each with its equivalent orders: searches split into parts count traces together. */
  readonly traceDigests: readonly (readonly [string, number])[];
  /**
   * Transactions running the same operation on the same arguments were taken
   * for interchangeable (`symmetry.ts`): no program did more with its id than
   * append it to tables nobody reads (`id-columns.ts`), and no step made two
   * give up at once in a way that tells them apart.
   */
  readonly symmetric: boolean;
  readonly failure?: ExhaustiveFailure;
}

/** One choice point of the current schedule. */
interface Node {
  readonly runnable: readonly TxId[];
  readonly last: TxId;
  readonly preemptions: number;
  /** Transactions asleep on entry, with the step each takes here (already covered by a sibling schedule). */
  readonly sleep: Map<TxId, DependencyStep>;
  /** The asleep transactions whose steps were covered by another unit of a split search (`first`): they wake on any step that does not commute with theirs in every heap order. */
  readonly strict: Set<TxId>;
  /** Transactions to try here. */
  readonly backtrack: Set<TxId>;
  /** Transactions tried here, with the step each took. */
  readonly explored: Map<TxId, DependencyStep>;
  /** Transactions not tried here because they would exceed the preemption bound. */
  readonly skipped: Set<TxId>;
  chosen: TxId;
  /** The cached state first reached here, whose continuations this node's subtree explores. */
  owns?: CachedState;
  /** The order in which that state's key names the transactions (`StateKeys.key`). */
  order?: readonly TxId[];
}

/**
 * Runs every schedule of one workload up to equivalence: dynamic
 * partial-order reduction with source sets and sleep sets (Abdulla et al.,
 * "Optimal dynamic partial order reduction", 2014), re-executing each schedule
 * from the start on the memory engine. Two schedules are equivalent when they
 * differ only in the order of independent steps (`footprint.ts`), and then end
 * in the same state with the same results, so checking one of each is enough.
 *
 * New schedules continue the transaction that ran last whenever it can, so
 * the first schedules are serial and preemptions are added only where a race
 * asks for them.
 */
export function exploreExhaustively(engine: Engine, spec: RunPlan, options: ExhaustiveOptions = {}): ExhaustiveResult {
  return runToEnd(exhaustiveSearch(engine, spec, options));
}

/** `exploreExhaustively` as a generator that yields after each schedule, so a caller can give the event loop a turn (an interrupt) in a long search. */
export function* exhaustiveSearch(engine: Engine, spec: RunPlan, options: ExhaustiveOptions = {}): Generator<void, ExhaustiveResult> {
  const bound = options.preemptionBound ?? Infinity;
  const stopOnViolation = options.stopOnViolation ?? true;
  const first = options.first;
  const stack: Node[] = [];
  const traces = new Set<string>();
  const traceDigests: [string, number][] = [];
  let naiveInterleavings = 0;
  let schedules = 0;
  const pruned = { value: false };
  let failure: ExhaustiveFailure | undefined;
  const capacity = bound === Infinity ? (options.stateCache ?? defaultStateCache) : 0;
  let cache = new StateCache(capacity);
  // Transactions running the same operation on the same arguments, taken for interchangeable while the state cache names states (`symmetry.ts`; not under SERIALIZABLE, where it names none).
  const probe = capacity > 0 && options.symmetry !== false ? probeSymmetry(engine, spec) : undefined;
  let symmetry = probe?.symmetry;
  // Where programs read their transaction's id: it may only go into tables nobody reads (`id-columns.ts`), watched by shadows of each program.
  let ids = probe?.ids ? new IdColumns(spec.scenario.schema, seedTables(spec.scenario), probe.symmetry, spec.workload.length) : undefined;
  const plan: RunPlan =
    probe === undefined
      ? spec
      : {
          ...spec,
          onIdRead: () => void (symmetry && !ids && (symmetry.broken = true)),
          startProgram: (tx, start) => (ids ? ids.program(tx, start) : start(tx)),
        };
  const keys = capacity > 0 ? new StateKeys(plan, engine) : undefined;
  if (keys) keys.ids = ids;
  const brokenSymmetry = () => symmetry !== undefined && (symmetry.broken || ids?.broken === true);
  const positions = spec.workload.map((_, i) => i + 1);
  const outcomes = new Map<string, string>();
  // Outcomes (up to interchangeable transactions) whose every reassignment has been checked against the rules.
  const checked = new Set<string>();
  // Tables whose heap order no statement seen reads: their inserts commute until a run meets one that does, then the search starts again.
  const heapOrders = (options.independence ?? 'semantic') === 'semantic' ? new HeapOrders(spec.scenario.schema) : undefined;
  const unordered = heapOrders?.unordered;
  const observer: RunObserver | undefined =
    heapOrders === undefined && symmetry === undefined
      ? keys
      : {
          submitted(tx, statement) {
            heapOrders?.observe(statement);
            ids?.submitted(tx, statement);
            symmetry?.stepped();
            keys?.submitted(tx, statement);
          },
          abandoned(tx) {
            symmetry?.abandoned(tx);
            keys?.abandoned(tx);
          },
          events(events) {
            symmetry?.events(events);
            ids?.events(events);
            keys?.events(events);
          },
        };
  const result = (complete: boolean): ExhaustiveResult => ({
    schedules,
    traces: traces.size,
    naiveInterleavings,
    complete,
    prunedPrefixes: cache.pruned,
    outcomes: outcomes.size,
    outcomeDigests: [...outcomes.values()],
    traceDigests,
    symmetric: symmetry !== undefined,
    failure,
  });

  // Schedules run since the search (re)started: a statement that orders a heap met in the first only changes that schedule's races.
  let sinceStart = 0;
  for (;;) {
    const replay = stack.length;
    const firstNew = Math.max(0, replay - 1);
    let hb = new HappensBefore(unordered);
    let steps: readonly DependencyStep[] = [];
    let reached: readonly CachedStep[] | undefined;
    keys?.reset();
    ids?.reset();
    const run = runWithDependencies(
      engine,
      plan,
      (runnable, last, depth) => {
        if ((heapOrders?.changed && sinceStart > 0) || brokenSymmetry()) return undefined; // the search starts again
        if (depth < replay) return stack[depth].chosen;
        const node = newNode(stack, steps, runnable, last, depth, unordered);
        if (depth === 0 && first) {
          for (const [t, s] of first.asleep) node.sleep.set(t, s);
          for (const t of first.asleep.keys()) node.strict.add(t);
          for (const t of first.txs) node.backtrack.add(t);
        }
        const awake = runnable.filter((t) => !node.sleep.has(t));
        if (awake.length === 0) return undefined;
        const found = depth > 0 ? keys?.key(runnable, symmetry) : null;
        if (found != null) {
          // Without symmetry equal keys name the same transactions in the same places: workload positions will do, and are the same for every state.
          const order = symmetry ? found.order : positions;
          const known = cache.get(found.key);
          if (known === undefined) {
            node.owns = cache.add(found.key, node.sleep.keys(), order);
            node.order = order;
          } else if (known.complete && cache.asleep(known, order).every((t) => node.sleep.has(t))) {
            // Explored from here already (perhaps with interchangeable transactions in each other's places): its continuations' races with this prefix are this prefix's races.
            reached = [...cache.steps(known, order)];
            cache.pruned++;
            backtrackForContinuations(stack, steps, hb, reached, first !== undefined, unordered);
            return undefined;
          }
        }
        const tx = depth === 0 && first ? first.txs[0] : awake.includes(last) ? last : awake[0];
        if (node.preemptions + preemptionOf(runnable, last, tx) > bound) {
          pruned.value = true;
          return undefined;
        }
        node.chosen = tx;
        node.backtrack.add(tx);
        stack.push(node);
        return tx;
      },
      (step, j, all) => {
        steps = all;
        stack[j].explored.set(step.tx, step);
        if (heapOrders?.changed && sinceStart === 0) {
          // A heap became ordered during the first schedule: only its steps so far were reduced; their races are found again.
          heapOrders.restart();
          hb = new HappensBefore(unordered);
          for (let k = 0; k < j; k++) for (const i of hb.push(all, k)) if (!(first && i === 0)) addBacktrack(stack, all, hb, i, k);
        }
        const races = hb.push(all, j);
        if (j < firstNew) return;
        for (const i of races) if (!(first && i === 0)) addBacktrack(stack, all, hb, i, j);
      },
      options.independence,
      observer,
    );
    schedules++;
    sinceStart++;
    if (heapOrders?.changed || brokenSymmetry()) {
      // A statement that reads a table's heap order, or something that tells interchangeable transactions apart: what was reduced assuming neither is explored again.
      heapOrders?.restart();
      if (brokenSymmetry()) {
        symmetry = undefined;
        ids = undefined;
        if (keys) keys.ids = undefined;
      }
      checked.clear();
      stack.length = 0;
      traces.clear();
      traceDigests.length = 0;
      naiveInterleavings = 0;
      outcomes.clear();
      cache = new StateCache(capacity);
      pruned.value = false;
      sinceStart = 0;
      continue;
    }
    summarize(cache, stack, run.steps, reached, firstNew);
    if (run.trace) {
      const key = canonicalOrder(run.steps, hb);
      if (!traces.has(key)) {
        traces.add(key);
        const orders = equivalentOrders(run.steps, hb);
        naiveInterleavings += orders;
        traceDigests.push([createHash('sha256').update(key).digest('hex').slice(0, 16), orders]);
      }
      const reached = (key: string) => void (outcomes.has(key) || outcomes.set(key, createHash('sha256').update(key).digest('hex').slice(0, 16)));
      let broke: ExhaustiveFailure | null = null;
      if (symmetry === undefined) {
        reached(outcomeKey(run.trace));
        const violation = checkRun(spec.scenario, run.trace);
        if (violation !== null) broke = { trace: run.trace, choices: run.choices, violation };
      } else {
        // Runs whose outcomes differ only in which interchangeable transaction got which stand for the same runs: checked once.
        const alike = symmetry.outcomeKey(run.trace);
        if (!checked.has(alike)) {
          checked.add(alike);
          broke = checkReassignments(engine, spec, symmetry, ids, run.trace, run.steps, run.choices, reached);
        }
      }
      const goOn = options.onRun?.(run.trace);
      if (broke !== null && !failure) failure = broke;
      if ((broke !== null && stopOnViolation) || goOn === false) return result(false);
    }
    if (schedules >= (options.maxSchedules ?? Infinity)) return result(false);
    if (!nextSchedule(stack, bound, pruned)) break;
    yield;
  }
  return result(!pruned.value);
}

/**
 * Adds the steps a run took below each cached state it passed through (and,
 * when it stopped at an explored state, that state's continuations' steps,
 * `reached`) to the state's summary, naming transactions by their place in
 * the state's order. Steps before `from` were replayed: the states above
 * them have them from the schedule that first ran them.
 */
function summarize(cache: StateCache, stack: readonly Node[], steps: readonly DependencyStep[], reached: readonly CachedStep[] | undefined, from: number): void {
  let footprints: number[] | undefined;
  // The steps' numbers for the last order seen (without symmetry every state has the same).
  let order: readonly TxId[] | undefined;
  let ids: number[] = [];
  let reachedIds: number[] = [];
  for (let d = 0; d < stack.length && d <= steps.length; d++) {
    const owned = stack[d].owns;
    if (owned === undefined) continue;
    if (stack[d].order !== order) {
      order = stack[d].order!;
      const place = placesIn(order);
      footprints ??= steps.map((step, k) => (k < from ? -1 : cache.footprintId(step)));
      ids = steps.map((step, k) => (k < from ? -1 : cache.stepId(step, footprints![k], place)));
      reachedIds = reached ? reached.map((step) => cache.stepId(step, step.footprintId, place)) : [];
    }
    for (let k = Math.max(d, from); k < steps.length; k++) owned.steps.add(ids[k]);
    for (const id of reachedIds) owned.steps.add(id);
  }
}

/**
 * A prefix stopped at a state explored before: every continuation from there
 * was run after another prefix, so the races its steps would have with this
 * prefix's steps are added here, as `addBacktrack` would add them had the
 * continuations run again. Only the continuations' steps are known (not
 * their order), so:
 *
 * - prefix step i races with a continuation step e when they are dependent
 *   and no later prefix step that i happens before is dependent with e too
 *   (then i would happen before e, no direct race);
 * - the transactions that could start the reversed order (the initials of
 *   the steps not after i, then e) are known exactly among the prefix's
 *   steps: when some prefix step after i is not after it, the first ones
 *   are initials whatever the continuation, and one of them is enough, as in
 *   `addBacktrack`; otherwise every transaction with a step in the
 *   continuations is tried at i.
 */
function backtrackForContinuations(stack: readonly Node[], steps: readonly DependencyStep[], hb: HappensBefore, continuations: readonly DependencyStep[], splitRoot: boolean, unordered?: ReadonlySet<string>): void {
  const d = steps.length;
  const continuing = new Set<TxId>();
  for (const e of continuations) continuing.add(e.tx);
  for (let i = splitRoot ? 1 : 0; i < d; i++) {
    const a = steps[i];
    let races = false;
    for (const e of continuations) {
      if (e.tx === a.tx || a.movedOn.includes(e.tx) || !dependent(a, e, unordered)) continue;
      let direct = true;
      for (let k = i + 1; k < d && direct; k++) if (hb.precedes(i, k) && dependent(steps[k], e, unordered)) direct = false;
      if (direct) {
        races = true;
        break;
      }
    }
    if (!races) continue;
    const node = stack[i];
    // Initials among the prefix's steps not after i: those with no earlier such step before them.
    const notAfterI: number[] = [];
    for (let k = i + 1; k < d; k++) if (!hb.precedes(i, k)) notAfterI.push(k);
    const initials = new Set<TxId>();
    for (const k of notAfterI) if (notAfterI.every((m) => m >= k || !hb.precedes(m, k))) initials.add(steps[k].tx);
    if (initials.size > 0) {
      if ([...initials].some((t) => node.backtrack.has(t))) continue;
      const candidate = [...initials].filter((t) => node.runnable.includes(t)).sort((x, y) => x - y)[0];
      if (candidate !== undefined) node.backtrack.add(candidate);
      else for (const t of node.runnable) node.backtrack.add(t);
      continue;
    }
    let added = false;
    for (const t of continuing) {
      if (t === a.tx || !node.runnable.includes(t)) continue;
      node.backtrack.add(t);
      added = true;
    }
    if (!added) for (const t of node.runnable) node.backtrack.add(t);
  }
}

function preemptionOf(runnable: readonly TxId[], last: TxId, tx: TxId): number {
  return last !== 0 && tx !== last && runnable.includes(last) ? 1 : 0;
}

function newNode(stack: readonly Node[], steps: readonly DependencyStep[], runnable: readonly TxId[], last: TxId, depth: number, unordered?: ReadonlySet<string>): Node {
  const sleep = new Map<TxId, DependencyStep>();
  const strict = new Set<TxId>();
  let preemptions = 0;
  if (depth > 0) {
    const parent = stack[depth - 1];
    const taken = steps[depth - 1];
    preemptions = parent.preemptions + preemptionOf(parent.runnable, parent.last, parent.chosen);
    // A sleeping transaction stays asleep across a step independent of its own.
    for (const [t, s] of parent.sleep) {
      const other = parent.strict.has(t); // another unit's heap orders may differ from this search's
      if (dependent(s, taken, other ? undefined : unordered)) continue;
      sleep.set(t, s);
      if (other) strict.add(t);
    }
    for (const [t, s] of parent.explored) if (t !== parent.chosen && !dependent(s, taken, unordered)) sleep.set(t, s);
  }
  return { runnable, last, preemptions, sleep, strict, backtrack: new Set(), explored: new Map(), skipped: new Set(), chosen: 0 };
}

/**
 * Step i and a later step j race: reversing them may give a new trace. Makes
 * sure the schedule before i also tries a transaction that can start the
 * reversed order (a member of the initials of notdep(i).j).
 */
function addBacktrack(stack: readonly Node[], steps: readonly DependencyStep[], hb: HappensBefore, i: number, j: number): void {
  const a = steps[i];
  const b = steps[j];
  if (a.tx === b.tx || a.movedOn.includes(b.tx)) return; // program order, or i released j's transaction
  const node = stack[i];
  const notAfterI: number[] = [];
  for (let k = i + 1; k < j; k++) if (!hb.precedes(i, k)) notAfterI.push(k);
  const initials = new Set<TxId>();
  const isInitial = (k: number) => notAfterI.every((m) => m >= k || !hb.precedes(m, k));
  for (const k of notAfterI) if (isInitial(k)) initials.add(steps[k].tx);
  if (isInitial(j)) initials.add(b.tx);
  for (const t of initials) if (node.backtrack.has(t)) return;
  const candidate = [...initials].filter((t) => node.runnable.includes(t)).sort((x, y) => x - y)[0];
  if (candidate !== undefined) node.backtrack.add(candidate);
  else for (const t of node.runnable) node.backtrack.add(t);
}

/** Moves to the deepest choice point with a transaction left to try; false when none is left. */
function nextSchedule(stack: Node[], bound: number, pruned: { value: boolean }): boolean {
  while (stack.length > 0) {
    const node = stack[stack.length - 1];
    const left = [...node.backtrack].filter((t) => !node.explored.has(t) && !node.sleep.has(t) && !node.skipped.has(t)).sort((x, y) => x - y);
    for (const t of left) {
      if (node.preemptions + preemptionOf(node.runnable, node.last, t) > bound) {
        node.skipped.add(t);
        pruned.value = true;
        continue;
      }
      node.chosen = t;
      return true;
    }
    const done = stack.pop()!;
    if (done.owns) done.owns.complete = true;
  }
  return false;
}

