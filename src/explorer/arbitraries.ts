import * as fc from 'fast-check';
import type { Scenario, Workload, WorkloadTx } from '../model/scenario.ts';

/**
 * Workloads of a scenario: between `min` and `max` transactions, each one of
 * the scenario's operations with generated arguments. Shrinks toward fewer
 * transactions, then toward the first operation and smaller arguments.
 */
export function workloadArbitrary(scenario: Scenario, maxTransactions = scenario.transactions.max): fc.Arbitrary<Workload> {
  const operations = Object.entries(scenario.operations).map(([operation, op]) =>
    op.args.map((args): WorkloadTx => ({ operation, args })),
  );
  const tx = operations.length === 1 ? operations[0] : fc.oneof(...operations);
  return fc.array(tx, { minLength: scenario.transactions.min, maxLength: Math.max(scenario.transactions.min, maxTransactions) });
}

/**
 * Schedules as choice lists (see `choiceSchedule`): numbers from 0 to the
 * number of transactions, so most choice points switch transactions (0, keep
 * going, comes up once in n + 1); shrinking removes choices and moves them
 * toward 0, which removes preemptions.
 */
export function scheduleArbitrary(maxTransactions: number, maxChoices: number): fc.Arbitrary<number[]> {
  return fc.array(fc.nat({ max: maxTransactions }), { maxLength: maxChoices });
}
