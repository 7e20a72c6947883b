import type { Event, TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { seedTables } from '../model/scenario.ts';
import type { Statement } from '../model/statement.ts';
import { Footprint, FootprintTracker, type Independence } from './footprint.ts';
import { runWorkload, type RunPlan, type Trace } from './runner.ts';

/**
 * One step of a run as partial-order reduction sees it: the transaction that
 * was scheduled, every transaction whose statement the step moved on (its own,
 * statements released from a lock wait, rollbacks of transactions that gave
 * up), and the step's footprint.
 */
export interface DependencyStep {
  readonly tx: TxId;
  readonly movedOn: readonly TxId[];
  readonly footprint: Footprint;
}

/**
 * Two steps that must not be reordered: their footprints conflict, or they
 * move the same transaction on. `unordered`: the heap orders no statement
 * reads (`heap-orders.ts`), whose writes commute; none when not given.
 */
export function dependent(a: DependencyStep, b: DependencyStep, unordered?: ReadonlySet<string>): boolean {
  for (const t of a.movedOn) if (b.movedOn.includes(t)) return true;
  return a.footprint.conflicts(b.footprint, unordered);
}

/** Sees what a run submits and what its statements return (`state-cache.ts`). */
export interface RunObserver {
  submitted(tx: TxId, statement: Statement): void;
  abandoned(tx: TxId): void;
  events(events: readonly Event[]): void;
}

/** Picks the next transaction at a choice point (`depth` steps taken), or undefined to end the run there. */
export type StepChooser = (runnable: readonly TxId[], last: TxId, depth: number) => TxId | undefined;

/** A run with the dependency information of every step. */
export interface DependencyRun {
  readonly steps: readonly DependencyStep[];
  /** The runnable transactions at each choice point, one per step plus the one where the run ended early (if it did). */
  readonly runnable: readonly (readonly TxId[])[];
  /** The same run as a choice list for `choiceSchedule` (what fast-check shrinks). */
  readonly choices: readonly number[];
  /** The finished run, or undefined when the chooser ended it early. */
  readonly trace?: Trace;
}

/**
 * Runs a workload on the memory engine like `runOnEngine`, recording each
 * step's footprint (`footprint.ts`) and the transactions it moved on; `onStep`
 * sees each step as soon as it has settled.
 */
export function runWithDependencies(
  engine: Engine,
  spec: RunPlan,
  choose: StepChooser,
  onStep?: (step: DependencyStep, index: number, steps: readonly DependencyStep[]) => void,
  independence: Independence = 'semantic',
  observer?: RunObserver,
): DependencyRun {
  engine.reset(seedTables(spec.scenario), spec.isolation);
  const tracker = new FootprintTracker(spec.scenario.schema, spec.isolation, independence);

  const steps: DependencyStep[] = [];
  const runnableAt: TxId[][] = [];
  const choices: number[] = [];
  let ended = false;
  let current: { tx: TxId; movedOn: TxId[]; footprint: Footprint } | null = null;
  const close = () => {
    if (current === null) return;
    steps.push(current);
    onStep?.(current, steps.length - 1, steps);
    current = null;
  };
  const run = runWorkload(spec, {
    choose(runnable, last) {
      close(); // the previous step, with any rollbacks it caused, has settled
      const now = [...runnable]; // the runner reuses its array
      runnableAt.push(now);
      const tx = choose(now, last, steps.length);
      if (tx === undefined) {
        ended = true;
        return undefined;
      }
      if (runnable.length > 1) {
        if (runnable.includes(last)) choices.push(tx === last ? 0 : runnable.filter((t) => t !== last).indexOf(tx) + 1);
        else choices.push(runnable.indexOf(tx));
      }
      return tx;
    },
  });
  const note = (events: readonly Event[], stepped: TxId | null) => {
    for (const e of events) {
      const failed = e.kind === 'completed' && e.result.error !== undefined;
      if (e.tx === stepped) {
        if (failed) tracker.failed(e.tx, current!.footprint);
        if (e.kind === 'blocked') tracker.waited(current!.footprint);
        continue;
      }
      if (!current!.movedOn.includes(e.tx)) current!.movedOn.push(e.tx);
      tracker.released(e.tx, failed, current!.footprint);
    }
  };
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    let events: Event[];
    if (call.kind === 'step') {
      current = { tx: call.tx, movedOn: [call.tx], footprint: new Footprint() };
      tracker.submit(call.tx, call.statement, current.footprint);
      observer?.submitted(call.tx, call.statement);
      events = engine.step(call.tx, call.statement);
      observer?.events(events);
      note(events, call.tx);
    } else {
      // An abandon belongs to the step whose result made the program give up.
      observer?.abandoned(call.tx);
      events = engine.abandon(call.tx);
      observer?.events(events);
      if (current !== null) {
        if (!current.movedOn.includes(call.tx)) current.movedOn.push(call.tx);
        tracker.finish(call.tx, current.footprint);
        note(events, call.tx);
      }
    }
    r = run.next(events);
  }
  close();
  if (ended) return { steps, runnable: runnableAt, choices };
  const { steps: traceSteps, outcomes, preemptions } = r.value;
  return { steps, runnable: runnableAt, choices, trace: { steps: traceSteps, outcomes, preemptions, final: engine.tables() } };
}

/**
 * Happens-before of a run's steps: for each step, the earlier steps it
 * (transitively) depends on.
 */
export class HappensBefore {
  private readonly before: Uint8Array[] = [];

  /** `unordered`: as `dependent` takes it. */
  constructor(private readonly unordered?: ReadonlySet<string>) {}

  /** Adds the next step and returns the indices of the earlier steps it races with directly (dependent, with no dependent step in between). */
  push(steps: readonly DependencyStep[], j: number): number[] {
    const row = new Uint8Array(j);
    const direct: number[] = [];
    for (let i = j - 1; i >= 0; i--) {
      if (row[i]) continue;
      if (!dependent(steps[i], steps[j], this.unordered)) continue;
      direct.push(i);
      row[i] = 1;
      const b = this.before[i];
      for (let k = 0; k < i; k++) if (b[k]) row[k] = 1;
    }
    this.before[j] = row;
    return direct;
  }

  /** True when step i happens before step j (i < j). */
  precedes(i: number, j: number): boolean {
    return this.before[j][i] === 1;
  }
}

/**
 * A canonical name of a run's equivalence class (Mazurkiewicz trace): the
 * lexicographically least step order, by transaction, among the orders that
 * keep every dependent pair of steps in place.
 */
export function canonicalOrder(steps: readonly DependencyStep[], hb: HappensBefore): string {
  const n = steps.length;
  const emitted = new Uint8Array(n);
  const out: TxId[] = [];
  for (let round = 0; round < n; round++) {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (emitted[j]) continue;
      let ready = true;
      for (let i = 0; i < j; i++) {
        if (!emitted[i] && hb.precedes(i, j)) {
          ready = false;
          break;
        }
      }
      if (ready && (best === -1 || steps[j].tx < steps[best].tx)) best = j;
    }
    emitted[best] = 1;
    out.push(steps[best].tx);
  }
  return out.join(',');
}
