import { fc } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { createPostgresBackend, type PostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { SqlCompiler } from '../src/adapters/postgres/sql-compiler.ts';
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
 * the others, which keeps this file to a few minutes on two cores).
 *
 * And every unsafe strategy's shrunk counterexample replays on PostgreSQL as
 * confirmed, breaking the same rule.
 */
const thoroughlyReplayed = new Set(['points-deduct', 'points-add', 'points-mixed']);
const runsFor = (scenario: Scenario) => Number(process.env.LOCKSTEP_CONFORMANCE_RUNS ?? (thoroughlyReplayed.has(scenario.id) ? 200 : 40));

let server: Provisioned;
beforeAll(async () => {
  server = await provisionPostgres();
});
afterAll(async () => {
  await server?.stop();
});

function divergence(report: ReplayReport): string {
  const s = report.firstDivergence !== undefined ? report.steps[report.firstDivergence - 1] : undefined;
  if (s) return `step ${s.index} T${s.tx} ${s.statementText}: model ${JSON.stringify(s.model)} / postgres ${JSON.stringify(s.postgres)}`;
  return `fates ${JSON.stringify(report.transactions)}; final ${JSON.stringify(report.finalState)}`;
}

for (const scenario of scenarios) {
  const runs = runsFor(scenario);
  describe(`conformance: ${scenario.id}`, () => {
    let backend: PostgresBackend;
    beforeAll(async () => {
      backend = await createPostgresBackend(server.url, scenario.schema);
    });
    afterAll(async () => {
      await backend?.close();
    });

    for (const [name, strategy] of Object.entries(scenario.strategies)) {
      for (const isolation of scenario.isolationLevels) {
        it(`${name} under ${isolation}: ${runs} random schedules replay identically on PostgreSQL`, async () => {
          const engine = new MemoryEngine(scenario.schema);
          const compiler = new SqlCompiler(scenario.schema, backend.schemaName);
          const max = scenario.transactions.max;
          const samples = fc.sample(fc.tuple(workloadArbitrary(scenario), scheduleArbitrary(max, max * 8)), { numRuns: runs, seed: propertySeed });
          for (const [workload, choices] of samples) {
            const spec = { scenario, strategy, isolation, workload };
            const schedule = runOnEngine(engine, spec, choiceSchedule(choices)).steps.map((s) => s.tx);
            const report = await replay(backend, spec, schedule, (s) => compiler.statement(s).sql);
            if (report.status !== 'confirmed') {
              expect.fail(`${scenario.id} ${name} ${isolation} workload ${JSON.stringify(workload)} schedule ${JSON.stringify(schedule)} diverged: ${divergence(report)}`);
            }
          }
        });
        if (strategy.expected[isolation] === 'fails') {
          it(`${name} under ${isolation}: the shrunk counterexample replays on PostgreSQL as confirmed`, async () => {
            const cx = explore({ scenario, strategy: name, isolation, runs: 2000, seed: propertySeed }).counterexample!;
            const compiler = new SqlCompiler(scenario.schema, backend.schemaName);
            const report = await replay(backend, runPlanOf(cx, scenario), cx.schedule, (s) => compiler.statement(s).sql);
            if (report.status !== 'confirmed') expect.fail(`${scenario.id} ${name} ${isolation} counterexample ${JSON.stringify(cx.transactions)} schedule ${JSON.stringify(cx.schedule)} diverged: ${divergence(report)}`);
            expect(report.violationReproduced).toBe(true);
          });
        }
      }
    }
  });
}
