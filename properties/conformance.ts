import { fc } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../src/adapters/backend.ts';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { createPostgresBackend, type PostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { scheduleArbitrary, workloadArbitrary } from '../src/explorer/arbitraries.ts';
import { explore } from '../src/explorer/explore.ts';
import { replay, runPlanOf, type ReplayReport } from '../src/explorer/replay.ts';
import { runOnEngine } from '../src/explorer/runner.ts';
import { choiceSchedule } from '../src/explorer/schedule.ts';
import type { Scenario } from '../src/model/scenario.ts';
import { scenarios } from '../src/model/scenarios/index.ts';
import { propertySeed } from './seed.ts';

/**
 * Conformance: for random workloads and schedules of every scenario,
 * strategy and isolation level, PostgreSQL does at every step what the memory
 * engine does (blocked or not, rows, error codes), and ends with the same
 * fates and tables. `LOCKSTEP_CONFORMANCE_RUNS` sets the schedules per
 * combination (default 200 for the points-deduct/add/mixed scenarios, 40 for
 * the others). A sample that draws a workload and schedule already replayed
 * for the combination (the same run again) is not replayed twice.
 *
 * And every unsafe strategy's shrunk counterexample replays on PostgreSQL as
 * confirmed, breaking the same rule.
 *
 * The combinations are split into parts (`conformanceParts`), one test file
 * each (`properties/conformance-<part>.test.ts`, which calls
 * `conformanceSuite('<part>')`), so that vitest's workers share them and no
 * single file is a run's critical path. Every combination is in exactly one
 * part: the last part takes every scenario no other part names.
 */
const thoroughlyReplayed = new Set(['points-deduct', 'points-add', 'points-mixed']);

/** Random schedules replayed per scenario, strategy and isolation level. */
export const conformanceRuns = (scenario: Scenario): number => Number(process.env.LOCKSTEP_CONFORMANCE_RUNS ?? (thoroughlyReplayed.has(scenario.id) ? 200 : 40));

/** Which combinations a part holds. */
type Part = (scenario: Scenario, isolation: IsolationLevel) => boolean;

const points = (isolation: IsolationLevel): Part => (scenario, level) => thoroughlyReplayed.has(scenario.id) && level === isolation;
const lotsAndRewards = new Set(['points-read-during-update', 'points-expiry-vs-use', 'points-fifo', 'points-hot-lot', 'welcome-gift', 'reward-redeem', 'reward-grant-query']);
const ordersAndQueues = new Set(['order-stock', 'order-lines', 'payment-confirm', 'idempotency-key', 'counter-upsert', 'job-queue']);
const named: Record<string, Part> = {
  // points-deduct/add/mixed, 200 schedules per combination: most of the replays, one isolation level a file.
  'points-read-committed': points('read-committed'),
  'points-repeatable-read': points('repeatable-read'),
  'points-serializable': points('serializable'),
  // The lot and read scenarios of points, and the reward ones.
  'lots-rewards': (scenario) => lotsAndRewards.has(scenario.id),
  // Orders, upserts and the job queue.
  'orders-queues': (scenario) => ordersAndQueues.has(scenario.id),
};

/** The parts, by name, in the order of their share of the replays (largest first): each has its test file. */
export const conformanceParts: Readonly<Record<string, Part>> = {
  ...named,
  // Top3, tokens, tasks, isolation: every scenario no part above names.
  others: (scenario, isolation) => !Object.values(named).some((part) => part(scenario, isolation)),
};

/** The scenario's isolation levels that `part` holds. */
export function levelsIn(part: string, scenario: Scenario): IsolationLevel[] {
  const holds = conformanceParts[part];
  if (holds === undefined) throw new Error(`no conformance part ${part}; the parts are ${Object.keys(conformanceParts).join(', ')}`);
  return scenario.isolationLevels.filter((isolation) => holds(scenario, isolation));
}

function divergence(report: ReplayReport): string {
  const s = report.firstDivergence !== undefined ? report.steps[report.firstDivergence - 1] : undefined;
  if (s) return `step ${s.index} T${s.tx} ${s.statementText}: model ${JSON.stringify(s.model)} / postgres ${JSON.stringify(s.postgres)}`;
  return `fates ${JSON.stringify(report.transactions)}; final ${JSON.stringify(report.finalState)}`;
}

/** Defines the conformance tests of one part: a `describe` per scenario it holds, on the test file's database. */
export function conformanceSuite(part: string): void {
  let server: Provisioned;
  beforeAll(async () => {
    server = await provisionPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const scenario of scenarios) {
    const levels = levelsIn(part, scenario);
    if (levels.length === 0) continue;
    const runs = conformanceRuns(scenario);
    describe(`conformance: ${scenario.id}`, () => {
      let backend: PostgresBackend;
      beforeAll(async () => {
        backend = await createPostgresBackend(server.url, scenario.schema);
      });
      afterAll(async () => {
        await backend?.close();
      });

      for (const [name, strategy] of Object.entries(scenario.strategies)) {
        for (const isolation of levels) {
          it(`${name} under ${isolation}: ${runs} random schedules replay identically on PostgreSQL`, async () => {
            const engine = new MemoryEngine(scenario.schema);
            const max = scenario.transactions.max;
            const samples = fc.sample(fc.tuple(workloadArbitrary(scenario), scheduleArbitrary(max, max * 8)), { numRuns: runs, seed: propertySeed });
            const replayed = new Set<string>();
            for (const [workload, choices] of samples) {
              const spec = { scenario, strategy, isolation, workload };
              const schedule = runOnEngine(engine, spec, choiceSchedule(choices)).steps.map((s) => s.tx);
              const run = JSON.stringify([workload, schedule]);
              if (replayed.has(run)) continue;
              replayed.add(run);
              const report = await replay(backend, spec, schedule);
              if (report.status !== 'confirmed') {
                expect.fail(`${scenario.id} ${name} ${isolation} workload ${JSON.stringify(workload)} schedule ${JSON.stringify(schedule)} diverged: ${divergence(report)}`);
              }
            }
          });
          if (strategy.expected[isolation] === 'fails') {
            it(`${name} under ${isolation}: the shrunk counterexample replays on PostgreSQL as confirmed`, async () => {
              const cx = explore({ scenario, strategy: name, isolation, runs: 2000, seed: propertySeed }).counterexample!;
              const report = await replay(backend, runPlanOf(cx, scenario), cx.schedule);
              if (report.status !== 'confirmed') expect.fail(`${scenario.id} ${name} ${isolation} counterexample ${JSON.stringify(cx.transactions)} schedule ${JSON.stringify(cx.schedule)} diverged: ${divergence(report)}`);
              expect(report.violationReproduced).toBe(true);
            });
          }
        }
      }
    });
  }
}
