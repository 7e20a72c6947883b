import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { strategyOf } from '../explorer/explore-options.ts';
import { InputError } from '../errors.ts';
import type { Scenario } from '../model/scenario.ts';

/** Checks of CLI arguments; each failure is an `InputError` naming the valid choices. */

export function parseStrategy(scenario: Scenario, name: string | undefined): string {
  if (name === undefined) throw new InputError(`Choose a strategy with --strategy; ${scenario.id} has ${Object.keys(scenario.strategies).join(', ')}.`);
  strategyOf(scenario, name);
  return name;
}

export function parseInteger(option: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InputError(`${option} must be a whole number, not "${value}".`);
  const n = Number(value);
  if (n < min || n > max) throw new InputError(`${option} must be between ${min} and ${max}, not ${n}.`);
  return n;
}

/** Most runs `--runs` takes: past it a search takes days; `--max-time` bounds a long one instead. */
export const maxRuns = 1_000_000_000;

/** `--runs n`, at most `maxRuns`, with a sentence saying what to do instead. */
export function parseRuns(value: string): number {
  const n = parseInteger('--runs', value, 1, Number.MAX_SAFE_INTEGER);
  if (n > maxRuns) throw new InputError(`--runs ${value} is more than lockstep runs (at most ${maxRuns.toLocaleString('en-US')}); for a long search, give a large --runs with --max-time.`);
  return n;
}

/** Fails early when `path` cannot be written (its folder missing, not a folder or not writable; the path a folder), so an exploration is not wasted. */
export function checkWritable(path: string, cwd: string): string {
  const full = resolve(cwd, path);
  const folder = dirname(full);
  const problem =
    existsSync(folder) && !statSync(folder).isDirectory()
      ? `${dirname(path)} is not a folder`
      : existsSync(full) && statSync(full).isDirectory()
        ? 'it is a folder'
        : existsSync(folder) && writable(existsSync(full) ? full : folder)
          ? null
          : 'the file or its folder is not writable or does not exist';
  if (problem !== null) throw new InputError(`Cannot write to ${path}: ${problem}.`);
  return path;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
