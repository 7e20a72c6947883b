import { fc } from '@fast-check/vitest';
import type { IsolationLevel } from '../src/adapters/backend.ts';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { scheduleArbitrary } from '../src/explorer/arbitraries.ts';
import { checkRun } from '../src/explorer/violation.ts';
import { checkedRun, type CheckedRun } from '../src/explorer/explore.ts';
import { runOnEngine } from '../src/explorer/runner.ts';
import { stepOrder } from '../src/explorer/schedule.ts';
import type { Scenario, Workload } from '../src/model/scenario.ts';
import type { TxId } from '../src/adapters/backend.ts';
import { propertySeed } from './seed.ts';

/** `runs` random schedules of one workload (the scenario's own by default) under a strategy and isolation level. */
export function randomRuns(scenario: Scenario, strategy: string, isolation: IsolationLevel, runs: number, workload: Workload = scenario.canonical): CheckedRun[] {
  const engine = new MemoryEngine(scenario.schema);
  const n = workload.length;
  return fc
    .sample(scheduleArbitrary(n, n * 8), { numRuns: runs, seed: propertySeed })
    .map((choices) => checkedRun(engine, { scenario, strategy: scenario.strategies[strategy], isolation, workload }, choices));
}

/** One run in an explicit step order (the transaction of every step, as counterexample files store it). */
export function runInOrder(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: Workload, order: readonly TxId[]): CheckedRun {
  const spec = { scenario, strategy: scenario.strategies[strategy], isolation, workload };
  const trace = runOnEngine(new MemoryEngine(scenario.schema), spec, stepOrder(order));
  return { trace, violation: checkRun(scenario, trace) };
}

/** The strategies and isolation levels a scenario expects to pass. */
export function passing(scenario: Scenario): [string, IsolationLevel][] {
  const out: [string, IsolationLevel][] = [];
  for (const [name, strategy] of Object.entries(scenario.strategies)) {
    for (const isolation of scenario.isolationLevels) if (strategy.expected[isolation] === 'passes') out.push([name, isolation]);
  }
  return out;
}

/** How many transactions reported each result, e.g. `{ ok: 1, 'already-claimed': 4 }`; an aborted one counts under its SQLSTATE. */
export function resultCounts(run: CheckedRun): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of run.trace.outcomes) {
    const key = o.fate === 'aborted' ? o.error!.code : JSON.stringify(o.result).replace(/^"|"$/g, '');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
