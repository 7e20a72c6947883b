import type { Event, TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { seedTables, type TxOutcome, type Workload } from '../model/scenario.ts';
import { runWithDependencies, type DependencyStep } from './dependency-run.ts';
import { outcomeEntry, outcomeKey } from './outcome-key.ts';
import { checkOutcome, checkRun, finishOrder, type Violation } from './violation.ts';
import { IdColumns } from './id-columns.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';

/** The most reassignments of one run's outcomes a search checks the rules on (8 interchangeable transactions: 8! = 40,320). */
const maxPermutations = 40_320;

/**
 * Transactions of one workload that are interchangeable: they run the same
 * operation on the same arguments, so the memory engine, which tells
 * transactions apart only by what they did and when (`Engine.stateKey`),
 * treats them alike. Swapping two of them in any schedule gives a schedule
 * whose run is the same but for which of the two did what. Exhaustive search
 * (`exhaustive.ts`) then explores a state once whichever of them brought it
 * about, and checks the rules on every reassignment of a finished run's
 * outcomes among them, so a rule that does tell them apart (an invariant
 * naming `T1`, a serial spec reading `ctx.id`) is still checked on every
 * run the search stands for.
 *
 * A program that reads `tx.id` can tell itself apart: the search is told
 * (`RunPlan.onIdRead`) and starts again without taking any transactions for
 * interchangeable (`broken`); so does a step after which two programs give
 * up at once (their ROLLBACKs follow in workload order).
 */
export class Symmetry {
  /** Set when the search met something that tells interchangeable transactions apart: it starts again without them. */
  broken = false;
  /** The current step's abandons: two at once follow in workload order, which swapped transactions do not share; that order counts once a ROLLBACK wakes a waiter. */
  private abandons = 0;
  private abandoning: TxId | null = null;
  private woke = false;

  private constructor(
    /** Per transaction (from 1): the first transaction of the workload running the same operation on the same arguments. */
    readonly classOf: readonly TxId[],
    /** The classes of more than one transaction, each in workload order. */
    readonly classes: readonly (readonly TxId[])[],
  ) {}

  /** A step begins (the runner's observer). */
  stepped(): void {
    this.abandons = 0;
    this.woke = false;
  }

  /** The runner ends `tx`'s attempt after an error its program did not handle. */
  abandoned(tx: TxId): void {
    this.abandons++;
    this.abandoning = tx;
  }

  /** A step's (or an abandon's) events. */
  events(events: readonly Event[]): void {
    if (this.abandoning === null) return;
    const abandoning = this.abandoning;
    if (events.some((e) => e.tx !== abandoning)) this.woke = true;
    if (this.woke && this.abandons > 1) this.broken = true;
    this.abandoning = null;
  }

  /** The interchangeable transactions of `workload`, or undefined when it has none (or more than 8 alike). */
  static of(workload: Workload): Symmetry | undefined {
    const first = new Map<string, TxId>();
    const classOf: TxId[] = [0];
    const members = new Map<TxId, TxId[]>();
    workload.forEach((w, i) => {
      const tx = i + 1;
      const key = `${JSON.stringify(w.operation)} ${exactKey(w.args)}`;
      const c = first.get(key) ?? tx;
      first.set(key, c);
      classOf.push(c);
      const m = members.get(c) ?? [];
      m.push(tx);
      members.set(c, m);
    });
    const classes = [...members.values()].filter((m) => m.length > 1);
    let permutations = 1;
    for (const m of classes) for (let k = 2; k <= m.length; k++) permutations *= k;
    if (classes.length === 0 || permutations > maxPermutations) return undefined;
    return new Symmetry(classOf, classes);
  }

  /**
   * What a run ends in, the same for runs that differ only in which
   * interchangeable transaction did what: the final tables and each
   * class's outcomes as a sorted list.
   */
  outcomeKey(trace: Trace): string {
    const entries = trace.outcomes.map((o) => [this.classOf[o.id], JSON.stringify(outcomeEntry(o))] as const);
    entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    return JSON.stringify([trace.final, entries]);
  }

  /**
   * Every distinct reassignment of a run's outcomes among interchangeable
   * transactions, the identity first: `to[t]` is the transaction that does
   * what `t` did. Two reassignments that give every transaction the same
   * outcome count once. `shape`: more of what a transaction ended in (the
   * rows it appended, `IdColumns.committedShape`).
   */
  *reassignments(outcomes: readonly TxOutcome[], shape?: (tx: TxId) => string): Generator<readonly TxId[]> {
    const identity = outcomes.map((_, i) => i).concat(outcomes.length);
    yield identity;
    const perClass = this.classes.map((members) => distinctArrangements(members, members.map((t) => JSON.stringify(outcomeEntry(outcomes[t - 1])) + (shape?.(t) ?? ''))));
    const to = identity.slice();
    const pick = function* (c: number): Generator<readonly TxId[]> {
      if (c === perClass.length) {
        if (to.some((t, i) => t !== i)) yield to;
        return;
      }
      for (const arrangement of perClass[c]) {
        for (const [from, into] of arrangement) to[from] = into;
        yield* pick(c + 1);
      }
    };
    yield* pick(0);
  }
}

/**
 * The interchangeable transactions of a plan's workload (none under
 * SERIALIZABLE), as a serial run of it (each transaction to its end in turn)
 * shows them: `ids` when a program reads its transaction's id and the run
 * only writes it where it tells nobody apart (`id-columns.ts`); undefined
 * when it does more with it. A guess for splitting a search into units: the
 * search itself watches every run it explores, and starts again.
 */
export function probeSymmetry(engine: Engine, plan: RunPlan): { readonly symmetry: Symmetry; readonly ids: boolean } | undefined {
  // Under SERIALIZABLE the state cache names no state (SSI's bookkeeping), so there is nothing to take them for interchangeable in.
  const symmetry = plan.isolation === 'serializable' ? undefined : Symmetry.of(plan.workload);
  if (symmetry === undefined) return undefined;
  const serial = (runnable: readonly TxId[], last: TxId) => (runnable.includes(last) ? last : runnable[0]);
  let read = false;
  runOnEngine(engine, { ...plan, onIdRead: () => void (read = true) }, { choose: serial });
  if (!read) return { symmetry, ids: false };
  const ids = new IdColumns(plan.scenario.schema, seedTables(plan.scenario), symmetry, plan.workload.length);
  runWithDependencies(engine, { ...plan, startProgram: (tx, start) => ids.program(tx, start) }, serial, undefined, 'semantic', ids.observer());
  return ids.broken ? undefined : { symmetry, ids: true };
}

/**
 * Arguments as a key that tells apart what a program can: `undefined`,
 * `null`, `NaN`, `-0` and `0`, key order. A value that is not plain data (a
 * Date, a Map) gets a key of its own, so transactions given one are never
 * taken for interchangeable.
 */
function exactKey(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(exactKey).join(',')}]`;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return `#${++unique}`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${exactKey(v)}`).join(',')}}`;
}

let unique = 0;


/**
 * The distinct ways to hand the outcomes `entries` (of `members`, in order)
 * out among `members`: each as pairs [member, the member that gets its
 * outcome].
 */
function distinctArrangements(members: readonly TxId[], entries: readonly string[]): [TxId, TxId][][] {
  const values = [...new Set(entries)].sort();
  const holders = values.map((v) => members.filter((_, i) => entries[i] === v));
  const left = holders.map((h) => h.length);
  const out: [TxId, TxId][][] = [];
  const seq: number[] = [];
  const place = (i: number) => {
    if (i === members.length) {
      const taken = values.map(() => 0);
      out.push(seq.map((v, k) => [holders[v][taken[v]++], members[k]]));
      return;
    }
    for (let v = 0; v < values.length; v++) {
      if (left[v] === 0) continue;
      left[v]--;
      seq.push(v);
      place(i + 1);
      seq.pop();
      left[v]++;
    }
  };
  place(0);
  return out;
}

/** A run that broke a rule: its trace, its choice list and the rule. */
interface BrokenRun {
  readonly trace: Trace;
  readonly choices: readonly number[];
  readonly violation: Violation;
}

/**
 * The rules checked on a finished run and on every reassignment of its
 * outcomes among interchangeable transactions (`symmetry.ts`): the runs the
 * search left out because they differ from this one only in which of them
 * did what (`reached` is told what each ends in). The first that breaks a
 * rule is run for real (its schedule with the transactions swapped), so the
 * failure reported is a run of the model.
 */
export function checkReassignments(
  engine: Engine,
  spec: RunPlan,
  symmetry: Symmetry,
  ids: IdColumns | undefined,
  trace: Trace,
  steps: readonly DependencyStep[],
  choices: readonly number[],
  reached: (outcome: string) => void,
): BrokenRun | null {
  const finished = finishOrder(trace);
  let failure: BrokenRun | null = null;
  for (const to of symmetry.reassignments(trace.outcomes, ids && ((t) => ids.committedShape(t)))) {
    const identity = to.every((t, i) => t === i);
    const outcomes = identity ? trace.outcomes : trace.outcomes.map((o) => ({ ...o, id: to[o.id] })).sort((a, b) => a.id - b.id);
    // The rows each transaction appended with its id carry the id of the one that does what it did.
    const final = identity || ids === undefined ? trace.final : ids.reassigned(spec.scenario.schema, trace.final, to);
    reached(outcomeKey({ final, outcomes }));
    if (failure !== null) continue;
    const violation = checkOutcome(spec.scenario, final, outcomes, identity ? finished : finished.map((t) => to[t]));
    if (violation === null) continue;
    if (identity) {
      failure = { trace, choices, violation };
      continue;
    }
    const swapped = runWithDependencies(engine, spec, (runnable, _last, depth) => (depth < steps.length && runnable.includes(to[steps[depth].tx]) ? to[steps[depth].tx] : undefined));
    const confirmed = swapped.trace && checkRun(spec.scenario, swapped.trace);
    if (!swapped.trace || !confirmed || outcomeKey(swapped.trace) !== outcomeKey({ final, outcomes })) {
      throw new Error(`Exhaustive search: swapping interchangeable transactions (${to.slice(1).join(',')}) in a run did not give the run worked out; the model treats them differently.`);
    }
    failure = { trace: swapped.trace, choices: swapped.choices, violation: confirmed };
  }
  return failure;
}
