import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isolationLevels, type IsolationLevel } from './adapters/backend.ts';
import { InputError } from './input-error.ts';
import { findScenario, scenarios } from './model/scenarios.ts';
import type { Scenario } from './model/scenario.ts';

/** Checks of CLI arguments; each failure is an `InputError` naming the valid choices. */

export function parseScenario(id: string): Scenario {
  const scenario = findScenario(id);
  if (!scenario) throw new InputError(`Unknown scenario "${id}"; choose one of ${scenarios.map((s) => s.id).join(', ')}.`);
  return scenario;
}

export function parseStrategy(scenario: Scenario, name: string | undefined): string {
  const known = Object.keys(scenario.strategies);
  if (name === undefined) throw new InputError(`Choose a strategy with --strategy; ${scenario.id} has ${known.join(', ')}.`);
  if (!(name in scenario.strategies)) throw new InputError(`Unknown strategy "${name}" for ${scenario.id}; choose one of ${known.join(', ')}.`);
  return name;
}

export function parseIsolation(scenario: Scenario, name: string): IsolationLevel {
  const supported = scenario.isolationLevels.join(', ');
  if (!isolationLevels.includes(name as IsolationLevel)) throw new InputError(`Unknown isolation level "${name}"; choose one of ${supported}.`);
  if (!scenario.isolationLevels.includes(name as IsolationLevel)) {
    throw new InputError(`Scenario ${scenario.id} does not support isolation level ${name}; choose one of ${supported}.`);
  }
  return name as IsolationLevel;
}

export function parseInteger(option: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InputError(`${option} must be a whole number, not "${value}".`);
  const n = Number(value);
  if (n < min || n > max) throw new InputError(`${option} must be between ${min} and ${max}, not ${n}.`);
  return n;
}

/** Fails early when `path` cannot be written, so an exploration is not wasted. */
export function checkWritable(path: string): string {
  const full = resolve(path);
  try {
    if (existsSync(full)) accessSync(full, constants.W_OK);
    else accessSync(dirname(full), constants.W_OK);
  } catch {
    throw new InputError(`Cannot write to ${path}: the file or its folder is not writable or does not exist.`);
  }
  return path;
}
