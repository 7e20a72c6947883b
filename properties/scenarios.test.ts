import { describe, expect, it } from 'vitest';
import { scenarios } from '../src/model/scenarios/index.ts';
import { expectRace, expectRaceFree } from '../src/vitest.ts';
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
 * random schedules of the scenario's own numbers (SCENARIOS.md). Each check
 * is one `lockstep/vitest` assertion, so a failure prints the counterexample.
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
        const race = { scenario, strategy: name, isolation, seed: propertySeed };
        const n = scenario.canonical.length;
        if (strategy.expected[isolation] === 'fails') {
          const above2 = shrinksAbove2.has(`${scenario.id} ${name} ${isolation}`);
          const title = above2
            ? 'is caught, shrunk to at most 2 preemptions (the 2-transaction, 1-preemption case is in its domain suite)'
            : 'is caught, minimal: 2 transactions, 1 preemption';
          it(`${name} under ${isolation} ${title}`, () => {
            if (above2) {
              const cx = expectRace({ ...race, runs: 2000 * runsFactor }).counterexample!;
              expect(cx.transactions.length).toBeLessThanOrEqual(scenario.transactions.max);
              expect(cx.preemptions).toBeLessThanOrEqual(2);
            } else {
              expectRace({ ...race, runs: 2000 * runsFactor }, { transactions: 2, preemptions: 1 });
            }
          });
          it(`${name} under ${isolation} is caught on the scenario's own workload`, () => {
            expectRace({ ...race, workload: scenario.canonical, mode: 'random', runs: 200 });
          });
        } else {
          it(`${name} under ${isolation} passes 2,000 random runs`, () => {
            expectRaceFree({ ...race, mode: 'random', runs: 2000 * runsFactor });
          });
          it(`${name} under ${isolation} passes the scenario's own workload (${n} transactions)`, () => {
            expectRaceFree({ ...race, workload: scenario.canonical, mode: 'random', runs: 300 * runsFactor });
          });
        }
      }
    }
  });
}
