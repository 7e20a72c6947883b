import * as fc from 'fast-check';
import { InputError } from '../errors.ts';
import type { Scenario, Workload, WorkloadTx } from '../model/scenario.ts';

/**
 * Where a stress run's transactions come from:
 * - `'generated'`: drawn from the scenario's own `args` arbitraries (each
 *   transaction an operation picked uniformly, then its arguments), seeded,
 *   so the same seed gives the same transactions;
 * - `'canonical'`: the scenario's canonical workload, repeated;
 * - a `Workload`: these transactions, repeated;
 * - a function: the transaction at each position (0, 1, ...).
 */
export type StressWorkload = 'generated' | 'canonical' | Workload | ((index: number) => WorkloadTx);

/** Transactions drawn from the arbitraries at a time. */
const chunk = 1000;

/**
 * The transaction at each position of a run (0, 1, ...), from `workload`.
 * Generated transactions are sampled with `fc.sample` in chunks of 1000, the
 * chunk `k` from seed `seed + k`, so a run of any length is reproducible.
 *
 * ```ts
 * const at = workloadSource(pointsDeduct, 'generated', 1);
 * at(0); // { operation: 'deduct', args: { user: 1, amount: 2100 } }
 * ```
 */
export function workloadSource(scenario: Scenario, workload: StressWorkload, seed: number): (index: number) => WorkloadTx {
  if (typeof workload === 'function') return workload;
  if (workload === 'canonical') return repeated(scenario, scenario.canonical, 'its canonical workload');
  if (workload === 'generated') return generated(scenario, seed);
  if (!Array.isArray(workload)) throw new InputError(`workload must be 'generated', 'canonical', a list of transactions or a function, not ${JSON.stringify(workload)}.`);
  return repeated(scenario, workload, 'the workload given');
}

function repeated(scenario: Scenario, workload: Workload, what: string): (index: number) => WorkloadTx {
  if (workload.length === 0) throw new InputError(`Scenario ${scenario.id} has no transactions in ${what}.`);
  for (const tx of workload) {
    if (!Object.hasOwn(scenario.operations, tx.operation)) {
      throw new InputError(`Scenario ${scenario.id} has no operation "${tx.operation}" (in ${what}); its operations are ${Object.keys(scenario.operations).join(', ')}.`);
    }
  }
  return (index) => workload[index % workload.length];
}

function generated(scenario: Scenario, seed: number): (index: number) => WorkloadTx {
  const arbitrary = fc.oneof(
    ...Object.entries(scenario.operations).map(([operation, op]) => op.args.map((args): WorkloadTx => ({ operation, args }))),
  );
  const chunks = new Map<number, WorkloadTx[]>();
  return (index) => {
    const k = Math.floor(index / chunk);
    let txs = chunks.get(k);
    if (txs === undefined) {
      chunks.clear();
      chunks.set(k, (txs = fc.sample(arbitrary, { seed: (seed + k) | 0, numRuns: chunk })));
    }
    return txs[index % chunk];
  };
}
