import type { Counterexample } from '../explorer/counterexample.ts';
import type { Scenario } from '../model/scenario.ts';
import { counterexampleLanes } from './counterexample-lanes.ts';
import type { CycleEdge } from './cycle-svg.ts';
import { damageStep, type DamageStep } from './damage-step.ts';
import { cycleSteps, dirtyReadStep, type DirtyReadStep, type StepDependency } from './dependency-steps.ts';
import { layoutLanes, type LaneLayout } from './lane-layout.ts';
import { runHistory, type RunHistory } from './step-history.ts';

/** Everything a report shows of one counterexample, computed once. */
export interface CounterexampleView {
  readonly cx: Counterexample;
  readonly scenario: Scenario;
  readonly history: RunHistory;
  /** The anomaly's cycle, edge by edge, placed on steps. */
  readonly cycle: readonly StepDependency[];
  readonly dirty: DirtyReadStep | null;
  readonly damage: DamageStep;
  readonly lanes: LaneLayout;
  /** Prefix of the ids this counterexample's drawings define. */
  readonly idPrefix: string;
}

/**
 * Runs the counterexample again on the memory engine and lays it out: its
 * dependency cycle with steps, its damage step and its swimlanes.
 */
export function viewCounterexample(cx: Counterexample, scenario: Scenario, idPrefix = 'ls-'): CounterexampleView {
  const history = runHistory(cx, scenario);
  const cycle = cycleSteps(history, scenario.schema, cx.anomaly);
  const dirty = dirtyReadStep(history, scenario.schema, cx.anomaly);
  const damage = damageStep(scenario, history, cycle, dirty);
  const lanes = layoutLanes(counterexampleLanes(cx, history, cycle, damage, idPrefix));
  return { cx, scenario, history, cycle, dirty, damage, lanes, idPrefix };
}

/** The cycle's edges as the cycle graph draws them. */
export function cycleEdges(view: CounterexampleView): CycleEdge[] {
  return view.cycle.map((e) => ({ from: e.from, to: e.to, kind: e.kind, item: e.item, sentence: e.sentence }));
}

/** What an arrow of the cycle means, in one sentence. */
export const cycleMeaning =
  'An arrow Ti → Tj means Ti must come before Tj in any serial order that gives the same reads and writes (ww: Tj overwrote Ti; wr: Tj read what Ti wrote; rw: Ti read a version Tj replaced); a cycle means no serial order exists.';
