import { isolationLevels, type IsolationLevel } from '../adapters/backend.ts';
import { InputError } from '../errors.ts';
import type { Scenario, Strategy } from '../model/scenario.ts';
import { searchModes } from './search-mode.ts';
import type { ExploreOptions } from './explore.ts';

/** The strategy of `scenario` named `name`; an unknown name is an input error listing the known ones. */
export function strategyOf(scenario: Scenario, name: string): Strategy {
  if (!Object.hasOwn(scenario.strategies, name)) {
    throw new InputError(`Unknown strategy "${name}" for ${scenario.id}; choose one of ${Object.keys(scenario.strategies).join(', ')}.`);
  }
  return scenario.strategies[name];
}

/** Checks that `scenario` supports isolation level `name`. */
export function isolationOf(scenario: Scenario, name: string): IsolationLevel {
  const supported = scenario.isolationLevels.join(', ');
  if (!isolationLevels.includes(name as IsolationLevel)) throw new InputError(`Unknown isolation level "${name}"; choose one of ${supported}.`);
  if (!scenario.isolationLevels.includes(name as IsolationLevel)) {
    throw new InputError(`Scenario ${scenario.id} does not support isolation level ${name}; choose one of ${supported}.`);
  }
  return name as IsolationLevel;
}

/** Checks what `explore` is given, so a library caller gets one sentence rather than a JavaScript error. */
export function checkExploreOptions(options: ExploreOptions): void {
  strategyOf(options.scenario, options.strategy);
  isolationOf(options.scenario, options.isolation);
  const whole = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) throw new InputError(`${name} must be a whole number of at least ${min}, not ${value}.`);
  };
  whole('runs', options.runs, 1);
  if (!Number.isSafeInteger(options.seed)) throw new InputError(`seed must be a whole number, not ${options.seed}.`);
  whole('maxTransactions', options.maxTransactions, 1);
  whole('transactions', options.transactions, 1);
  whole('preemptionBound', options.preemptionBound, 0);
  whole('depth', options.depth, 1);
  if (options.maxTimeMs !== undefined && !(options.maxTimeMs > 0)) throw new InputError(`maxTimeMs must be a positive number of milliseconds, not ${options.maxTimeMs}.`);
  if (options.workload !== undefined) {
    if (!Array.isArray(options.workload) || options.workload.length === 0) throw new InputError('workload must list at least one transaction ({ operation, args }).');
    for (const [i, t] of options.workload.entries()) {
      if (!Object.hasOwn(options.scenario.operations, t?.operation)) {
        throw new InputError(`workload transaction ${i + 1} runs unknown operation ${JSON.stringify(t?.operation)}; ${options.scenario.id} has ${Object.keys(options.scenario.operations).join(', ')}.`);
      }
    }
  }
  if (options.mode !== undefined && !searchModes.includes(options.mode)) throw new InputError(`Unknown search mode "${options.mode}"; choose one of ${searchModes.join(', ')}.`);
}
