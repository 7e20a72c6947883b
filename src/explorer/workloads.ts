import { resolve } from 'node:path';
import { fileProblem, InputError, readInputFile } from '../errors.ts';
import { checkWorkloadArgs } from './workload-args.ts';
import type { Scenario, Workload, WorkloadTx } from '../model/scenario.ts';

/**
 * The scenario's default workload of `n` transactions, which exhaustive
 * search explores when no `--workload` file is given: its own workload
 * (SCENARIOS.md's numbers), taking the operations in turn so a mixed scenario
 * gets a mix.
 *
 * ```ts
 * defaultWorkload(pointsMixed, 3); // add 100, deduct 100, add 100
 * ```
 */
export function defaultWorkload(scenario: Scenario, n: number): Workload {
  const byOperation = new Map<string, WorkloadTx[]>();
  for (const t of scenario.canonical) {
    const list = byOperation.get(t.operation) ?? [];
    list.push(t);
    byOperation.set(t.operation, list);
  }
  const queues = [...byOperation.values()];
  const out: WorkloadTx[] = [];
  for (let round = 0; queues.length > 0 && out.length < n; round++) {
    for (const q of queues) if (out.length < n) out.push(q[round % q.length]);
  }
  return out;
}

/**
 * Reads a workload file: a JSON list of `{ "operation": ..., "args": ... }`,
 * or an object whose `"transactions"` is such a list (so a counterexample file
 * works too). Anything malformed, or an operation the scenario does not have,
 * is an input error with one sentence.
 */
export function readWorkloadFile(path: string, scenario: Scenario, cwd = '.'): Workload {
  let text: string;
  try {
    text = readInputFile(resolve(cwd, path));
  } catch (e) {
    throw new InputError(`Cannot read the workload file ${path}: ${fileProblem(e)}.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${path} is not a workload file: it is not valid JSON.`);
  }
  const list = Array.isArray(data) ? data : (data as { transactions?: unknown } | null)?.transactions;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InputError(`${path} is not a workload file: expected a non-empty list of {"operation", "args"} (or an object with "transactions").`);
  }
  const known = Object.keys(scenario.operations);
  const workload = list.map((t: unknown, i: number): WorkloadTx => {
    if (typeof t !== 'object' || t === null || typeof (t as WorkloadTx).operation !== 'string' || !('args' in t)) {
      throw new InputError(`${path} is not a workload file: transaction ${i + 1} must be an object with "operation" and "args".`);
    }
    const { operation, args } = t as WorkloadTx;
    if (!known.includes(operation)) {
      throw new InputError(`${path}: transaction ${i + 1} runs unknown operation "${operation}"; ${scenario.id} has ${known.join(', ')}.`);
    }
    return { operation, args };
  });
  checkWorkloadArgs(scenario, workload, path);
  return workload;
}
