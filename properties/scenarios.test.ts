import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { scheduleArbitrary, workloadArbitrary } from '../src/explorer/arbitraries.ts';
import { checkedRun, explore } from '../src/explorer/explore.ts';
import { scenarios } from '../src/model/scenarios.ts';
import { propertySeed, runsFactor } from './seed.ts';

/**
 * Failures that need two different operations (a reader and a writer, a
 * completion and a deletion). Their smallest counterexample is 2 transactions
 * and 1 preemption (the domain suites run it), but fast-check shrinks the
 * workload while holding the schedule fixed, and from 3 or 4 transactions it
 * can stop before 2 (and then at 2 preemptions): here the shrunk
 * counterexample is only bounded by the scenario's largest workload and 2
 * preemptions.
 */
const shrinksAbove2 = new Set([
  'points-read-during-update naive read-committed',
  'reward-grant-query autocommit read-committed',
  'reward-grant-query autocommit repeatable-read',
  'task-complete-delete naive read-committed',
  'dirty-read autocommit read-committed',
  'dirty-read autocommit repeatable-read',
]);

/**
 * For every scenario, strategy and isolation level: an unsafe strategy is
 * caught and shrinks to the smallest counterexample (2 transactions, 1
 * preemption); a safe one passes 2,000 random workloads and schedules, and
 * random schedules of the scenario's own numbers (SCENARIOS.md).
 */
for (const scenario of scenarios) {
  describe(scenario.id, () => {
    it('declares a verdict for every strategy under every isolation level it supports', () => {
      for (const [name, strategy] of Object.entries(scenario.strategies)) {
        expect(Object.keys(strategy.expected).sort(), name).toEqual([...scenario.isolationLevels].sort());
      }
    });

    for (const [name, strategy] of Object.entries(scenario.strategies)) {
      for (const isolation of scenario.isolationLevels) {
        const spec = (workload: any) => ({ scenario, strategy, isolation, workload });
        if (strategy.expected[isolation] === 'fails') {
          const title = shrinksAbove2.has(`${scenario.id} ${name} ${isolation}`)
            ? 'is caught, shrunk to at most 2 preemptions (the 2-transaction, 1-preemption case is in its domain suite)'
            : 'is caught, minimal: 2 transactions, 1 preemption';
          it(`${name} under ${isolation} ${title}`, () => {
            const report = explore({ scenario, strategy: name, isolation, runs: 2000 * runsFactor, seed: propertySeed });
            expect(report.status).toBe('failed');
            if (shrinksAbove2.has(`${scenario.id} ${name} ${isolation}`)) {
              expect(report.counterexample!.transactions.length).toBeLessThanOrEqual(scenario.transactions.max);
              expect(report.counterexample!.preemptions).toBeLessThanOrEqual(2);
            } else {
              expect(report.counterexample!.transactions).toHaveLength(2);
              expect(report.counterexample!.preemptions).toBe(1);
            }
          });
          it(`${name} under ${isolation} is caught on the scenario's own workload`, () => {
            const engine = new MemoryEngine(scenario.schema);
            const n = scenario.canonical.length;
            const failing = fc.sample(scheduleArbitrary(n, n * 8), { numRuns: 200, seed: propertySeed }).find(
              (choices) => checkedRun(engine, spec(scenario.canonical), choices).violation !== null,
            );
            expect(failing).toBeDefined();
          });
        } else {
          const engine = new MemoryEngine(scenario.schema);
          const max = scenario.transactions.max;
          test.prop([workloadArbitrary(scenario), scheduleArbitrary(max, max * 8)], { numRuns: 2000 * runsFactor, seed: propertySeed })(
            `${name} under ${isolation} passes 2,000 random runs`,
            (workload, choices) => {
              expect(checkedRun(engine, spec(workload), choices).violation).toBeNull();
            },
          );
          const n = scenario.canonical.length;
          test.prop([scheduleArbitrary(n, n * 8)], { numRuns: 300 * runsFactor, seed: propertySeed })(
            `${name} under ${isolation} passes the scenario's own workload (${n} transactions)`,
            (choices) => {
              expect(checkedRun(engine, spec(scenario.canonical), choices).violation).toBeNull();
            },
          );
        }
      }
    }
  });
}
