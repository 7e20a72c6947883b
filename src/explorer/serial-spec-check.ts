import { DefinitionError } from '../errors.ts';
import { seedTables, type Scenario, type WorkloadTx } from '../model/scenario.ts';
import type { Tables } from '../model/schema.ts';
import { modelEngine } from './model-engine.ts';
import { runOnEngine } from './runner.ts';
import { choiceSchedule } from './schedule.ts';
import { runSerial, sameResult, sameTables } from './serializability.ts';

/** The strategies already checked, by scenario (a strategy object may be shared by scenarios with other seeds). */
const checked = new WeakMap<Scenario, Set<string>>();

/**
 * Checks the serial spec against the strategy's programs where they must
 * agree: each operation of the scenario's own workload, run alone from the
 * seed, reports what the serial spec says and leaves the same tables. A
 * serial spec that disagrees would make every interleaving look "not
 * serializable", a race that is not there; this says so instead, naming the
 * operation and both answers.
 *
 * ```ts
 * checkSerialSpec(giftOnce, 'naive'); // throws DefinitionError when the spec says 'done' and the program 'ok'
 * ```
 */
export function checkSerialSpec(scenario: Scenario, strategyName: string): void {
  const strategy = scenario.strategies[strategyName];
  if (checked.get(scenario)?.has(strategyName)) return;
  const engine = modelEngine(scenario.schema);
  for (const tx of firstOfEachOperation(scenario)) {
    const isolation = scenario.isolationLevels[0];
    const alone = runOnEngine(engine, { scenario, strategy, isolation, workload: [tx] }, choiceSchedule([]));
    const outcome = alone.outcomes[0];
    const state = structuredClone(seedTables(scenario)) as Tables;
    const expected = runSerial(scenario, tx, state, 1);
    const what = `Scenario ${scenario.id}: ${tx.operation} ${JSON.stringify(tx.args)} run alone under strategy ${strategyName}`;
    if (outcome.fate === 'aborted') {
      throw new DefinitionError(`${what} fails with ${outcome.error!.code} (${outcome.error!.message}); a program must succeed or answer when nothing runs beside it.`);
    }
    if (!sameResult(outcome.result!, expected)) {
      throw new DefinitionError(`${what} reports ${JSON.stringify(outcome.result)}, but the serial spec says ${JSON.stringify(expected)}; the serial spec must say what the operation does alone.`);
    }
    if (!sameTables(scenario, alone.final, state)) {
      throw new DefinitionError(`${what} leaves ${JSON.stringify(alone.final)}, but the serial spec leaves ${JSON.stringify(state)}; the serial spec must change the tables as the operation does alone.`);
    }
  }
  const done = checked.get(scenario) ?? new Set<string>();
  checked.set(scenario, done.add(strategyName));
}

/** The first transaction of each operation in the scenario's own workload. */
function firstOfEachOperation(scenario: Scenario): WorkloadTx[] {
  const seen = new Set<string>();
  return scenario.canonical.filter((t) => !seen.has(t.operation) && seen.add(t.operation));
}
