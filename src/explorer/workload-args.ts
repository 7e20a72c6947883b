import * as fc from 'fast-check';
import { InputError } from '../errors.ts';
import type { Scenario, Workload } from '../model/scenario.ts';

/** The shapes of an operation's arguments as its arbitrary draws them, by scenario and operation. */
const shapesOf = new WeakMap<Scenario, Map<string, { shapes: Set<string>; example: unknown }>>();

/**
 * Checks that each transaction's arguments (from a counterexample or workload
 * file) have a shape the operation's arbitrary draws: the same keys, and
 * integers where it draws integers, strings where it draws strings. A
 * `"amount": 300.5` or `"100"` would otherwise run on the model (JavaScript
 * would add or concatenate) and on PostgreSQL (which would convert), and the
 * two could even agree on a run no application makes.
 */
export function checkWorkloadArgs(scenario: Scenario, workload: Workload, source: string): void {
  workload.forEach((t, i) => {
    const { shapes, example } = argumentShapes(scenario, t.operation);
    if (!shapes.has(shapeOf(t.args))) {
      throw new InputError(
        `${source}: transaction ${i + 1}'s args ${JSON.stringify(t.args) ?? 'undefined'} do not fit operation ${t.operation} of ${scenario.id}, whose arguments look like ${JSON.stringify(example)}.`,
      );
    }
  });
}

function argumentShapes(scenario: Scenario, operation: string): { shapes: Set<string>; example: unknown } {
  let byOperation = shapesOf.get(scenario);
  if (!byOperation) shapesOf.set(scenario, (byOperation = new Map()));
  let found = byOperation.get(operation);
  if (!found) {
    const samples = fc.sample(scenario.operations[operation].args, { numRuns: 50, seed: 1 });
    found = { shapes: new Set(samples.map(shapeOf)), example: samples[0] };
    byOperation.set(operation, found);
  }
  return found;
}

/** `{amount:int,user:int}`: a value's type, deeply, with integers apart from other numbers. */
function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${[...new Set(value.map(shapeOf))].sort().join('|')}]`;
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'number';
  if (typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${k}:${shapeOf((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return typeof value;
}
