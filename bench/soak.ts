import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as fc from 'fast-check';
import { isolationLevels, type IsolationLevel, type TxId } from '../src/adapters/backend.ts';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { createPostgresBackend, type PostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres } from '../src/adapters/postgres/provision.ts';
import { scheduleArbitrary, workloadArbitrary } from '../src/explorer/arbitraries.ts';
import { checkRun, ruleName, type Violation } from '../src/explorer/violation.ts';
import { buildCounterexample, writeCounterexample } from '../src/explorer/counterexample.ts';
import { explore } from '../src/explorer/explore.ts';
import { replay, runPlanOf, type ReplayReport } from '../src/explorer/replay.ts';
import { runOnEngine, type RunPlan, type Trace } from '../src/explorer/runner.ts';
import { choiceSchedule } from '../src/explorer/schedule.ts';
import type { Scenario, Workload } from '../src/model/scenario.ts';
import { scenarios } from '../src/model/scenarios/index.ts';
import { knownGap } from '../properties/random-program-gaps.ts';
import { propertySeed } from '../properties/seed.ts';
import { statementPrograms, statementWorkloadArbitrary } from '../properties/statement-programs.ts';
import { parentChildPrograms, parentChildWorkloadArbitrary } from '../properties/foreign-key-programs.ts';

/**
 * `npm run soak`: the conformance property (properties/conformance.ts)
 * and the random-program property (properties/random-programs.test.ts) with
 * large counts, on PostgreSQL (DATABASE_URL, else an embedded server), within
 * a time budget. The same generators and seed as the properties, but every
 * schedule is replayed (a property stops at its first failure) and each
 * divergence is written as a counterexample file that `lockstep replay FILE`
 * replays.
 *
 * Settings (environment):
 * - LOCKSTEP_CONFORMANCE_RUNS: schedules per scenario, strategy and
 *   isolation level (default 2000);
 * - LOCKSTEP_FUZZ_RUNS: random statement programs per isolation level
 *   (default 2000);
 * - LOCKSTEP_SOAK_MINUTES: time budget (default 55). Every combination first
 *   gets what `npm test` replays (200 schedules for points-deduct, points-add
 *   and points-mixed, 40 for the others; every random program); then those
 *   three scenarios, where most transactions wait for one row, are filled up
 *   to the count, then the others in turns of 200, until the count or the
 *   budget is reached. The summary gives each combination's count;
 * - LOCKSTEP_SEED: the fast-check seed (default 1), as for the properties;
 * - LOCKSTEP_SOAK_OUT: where the summary and counterexamples go (default
 *   counterexamples/soak-<time>).
 */
const conformanceRuns = Number(process.env.LOCKSTEP_CONFORMANCE_RUNS ?? 2000);
const fuzzRuns = Number(process.env.LOCKSTEP_FUZZ_RUNS ?? 2000);
const budgetMs = Number(process.env.LOCKSTEP_SOAK_MINUTES ?? 55) * 60_000;
const turn = 200;
const thorough = new Set(['points-deduct', 'points-add', 'points-mixed']);
const out = resolve(process.env.LOCKSTEP_SOAK_OUT ?? join('counterexamples', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`));

const started = performance.now();
const elapsed = () => performance.now() - started;
const timeLeft = () => elapsed() < budgetMs;

/** One combination: its schedules (generated up front, replayed in turns) and what the replays found. */
interface Job {
  readonly name: string;
  readonly kind: 'conformance' | 'random-programs';
  readonly scenario: Scenario;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly samples: readonly [Workload, number[]][];
  readonly priority: boolean;
  done: number;
  replayed: number;
  /** Random programs in a documented model gap (not replayed). */
  skipped: number;
  /** Replays that followed PostgreSQL's outcome of a race the model allows. */
  followed: number;
  /** Replays whose schedule went on in its intended order after such a race. */
  reordered: number;
  /** Replays that said nothing (an earlier version's `raced`). */
  inconclusive: number;
  readonly divergences: Divergence[];
  counterexampleReplay?: 'confirmed' | string;
}

interface Divergence {
  readonly file: string;
  readonly step: string;
}

const jobs: Job[] = [];
for (const scenario of scenarios) {
  const max = scenario.transactions.max;
  for (const strategy of Object.keys(scenario.strategies)) {
    for (const isolation of scenario.isolationLevels) {
      const samples = fc.sample(fc.tuple(workloadArbitrary(scenario), scheduleArbitrary(max, max * 8)), { numRuns: conformanceRuns, seed: propertySeed });
      jobs.push(newJob(`${scenario.id} ${strategy} ${isolation}`, 'conformance', scenario, strategy, isolation, samples, thorough.has(scenario.id)));
    }
  }
}
for (const isolation of isolationLevels) {
  const samples = fc.sample(fc.tuple(statementWorkloadArbitrary(), scheduleArbitrary(3, 24)), { numRuns: fuzzRuns, seed: propertySeed });
  jobs.push(newJob(`random programs ${isolation}`, 'random-programs', statementPrograms, 'statements', isolation, samples, true));
  const parentChild = fc.sample(fc.tuple(parentChildWorkloadArbitrary(), scheduleArbitrary(3, 24)), { numRuns: fuzzRuns, seed: propertySeed });
  jobs.push(newJob(`random parent/child programs ${isolation}`, 'random-programs', parentChildPrograms, 'statements', isolation, parentChild, true));
}

function newJob(name: string, kind: Job['kind'], scenario: Scenario, strategy: string, isolation: IsolationLevel, samples: readonly [Workload, number[]][], priority: boolean): Job {
  return { name, kind, scenario, strategy, isolation, samples, priority, done: 0, replayed: 0, skipped: 0, followed: 0, reordered: 0, inconclusive: 0, divergences: [] };
}

mkdirSync(out, { recursive: true });
const server = await provisionPostgres();
const onConflictSkipReads = Number.parseInt(server.version, 10) < 17;
/** The backend of the scenario being replayed; one at a time, so the soak holds a few connections only. */
let current: { scenario: Scenario; backend: PostgresBackend } | undefined;
console.log(`Soak on PostgreSQL ${server.version}: ${jobs.length} combinations, up to ${conformanceRuns} schedules each (${fuzzRuns} random programs per level), budget ${budgetMs / 60_000} min; output in ${relative(process.cwd(), out) || out}`);

try {
  // First pass: every combination, and each unsafe strategy's shrunk counterexample.
  for (const job of jobs) {
    if (!timeLeft()) break;
    await runJob(job, job.kind === 'random-programs' ? fuzzRuns : job.priority ? 200 : 40);
    if (job.kind === 'conformance' && job.scenario.strategies[job.strategy].expected[job.isolation] === 'fails') await replayCounterexample(job);
    progress(job);
  }
  // Then the combinations where most transactions wait for one row, to the full count; then the others, a turn at a time.
  for (const job of jobs.filter((j) => j.priority)) {
    if (!timeLeft()) break;
    await runJob(job, job.samples.length);
    progress(job);
  }
  for (let more = true; more && timeLeft(); ) {
    more = false;
    for (const job of jobs) {
      if (!timeLeft()) break;
      if (job.done >= job.samples.length) continue;
      await runJob(job, job.done + turn);
      progress(job);
      more = true;
    }
  }
} finally {
  await current?.backend.close();
  await server.stop();
}
writeSummary();

async function backendFor(scenario: Scenario): Promise<PostgresBackend> {
  if (current?.scenario !== scenario) {
    await current?.backend.close();
    current = undefined;
    const backend = await createPostgresBackend(server.url, scenario.schema);
    current = { scenario, backend };
  }
  return current.backend;
}

/** Replays the job's schedules up to `until` (or until the budget runs out). */
async function runJob(job: Job, until: number): Promise<void> {
  const backend = await backendFor(job.scenario);
  const engine = new MemoryEngine(job.scenario.schema);
  const strategy = job.scenario.strategies[job.strategy];
  const end = Math.min(until, job.samples.length);
  for (; job.done < end && timeLeft(); job.done++) {
    const [workload, choices] = job.samples[job.done];
    const spec: RunPlan = { scenario: job.scenario, strategy, isolation: job.isolation, workload };
    const trace = runOnEngine(engine, spec, choiceSchedule(choices));
    if (job.kind === 'random-programs' && knownGap(spec, trace, onConflictSkipReads) !== null) {
      job.skipped++;
      continue;
    }
    const schedule = trace.steps.map((s) => s.tx);
    const report = await replay(backend, spec, schedule);
    job.replayed++;
    if (report.racesFollowed.length > 0) job.followed++;
    if (report.reorderedFrom !== undefined) job.reordered++;
    if (report.status === 'confirmed') continue;
    if (report.raced) {
      job.inconclusive++;
      continue;
    }
    job.divergences.push(writeDivergence(job, spec, schedule, report, trace));
  }
}

/** An unsafe strategy's shrunk counterexample must replay as confirmed, breaking the same rule (the conformance property's second test). */
async function replayCounterexample(job: Job): Promise<void> {
  const cx = explore({ scenario: job.scenario, strategy: job.strategy, isolation: job.isolation, runs: 2000, seed: propertySeed }).counterexample;
  if (!cx) {
    job.counterexampleReplay = 'no counterexample found';
    return;
  }
  const backend = await backendFor(job.scenario);
  const report = await replay(backend, runPlanOf(cx, job.scenario), cx.schedule);
  if (report.status === 'confirmed' && report.violationReproduced) {
    job.counterexampleReplay = 'confirmed';
    return;
  }
  const file = join(out, `${fileName(job)}-counterexample.json`);
  writeCounterexample(file, cx);
  job.counterexampleReplay = `${report.status === 'confirmed' ? 'confirmed, but the violation does not reproduce' : `diverged at step ${report.firstDivergence ?? '(final state)'}`}: ${relative(process.cwd(), file)}`;
}

/** Writes the diverging schedule as a counterexample file; its violation names the divergence (and the model's broken rule, if any). */
function writeDivergence(job: Job, spec: RunPlan, schedule: readonly TxId[], report: ReplayReport, trace: Trace): Divergence {
  const s = report.firstDivergence !== undefined ? report.steps[report.firstDivergence - 1] : undefined;
  const step = s
    ? `step ${s.index} T${s.tx} ${s.statementText}: model ${describeSide(s.model)} / postgres ${describeSide(s.postgres)}`
    : `every step matched, but ${report.finalState.match ? 'the fates' : 'the final tables'} differ`;
  const modelRule = checkRun(job.scenario, trace);
  const violation: Violation = {
    kind: 'invariant',
    invariant: 'replays-like-the-model',
    message: `PostgreSQL ${server.version} diverged from the model at ${step}${modelRule ? ` (the model's run breaks ${ruleName(modelRule)})` : ''}.`,
  };
  const cx = buildCounterexample({ scenario: job.scenario, strategy: job.strategy, isolation: job.isolation, seed: propertySeed, workload: spec.workload, trace, violation, anomaly: null });
  const file = join(out, `${fileName(job)}-${job.divergences.length + 1}.json`);
  writeCounterexample(file, cx, job.kind === 'random-programs' ? { scenarioFile: resolve(job.scenario === parentChildPrograms ? 'properties/foreign-key-programs.ts' : 'properties/statement-programs.ts') } : {});
  console.log(`  DIVERGED ${job.name}: ${step} -> ${relative(process.cwd(), file)}`);
  return { file, step };
}

function describeSide(side: { outcome: string; released: readonly { tx: number; outcome: string }[] }): string {
  return [side.outcome, ...side.released.map((r) => `T${r.tx} released: ${r.outcome}`)].join('; ');
}

function fileName(job: Job): string {
  return job.name.replace(/[^a-z0-9]+/gi, '-');
}

function progress(job: Job): void {
  const minutes = (elapsed() / 60_000).toFixed(1);
  console.log(`${minutes.padStart(5)} min  ${job.name}: ${job.replayed} replayed${job.skipped ? `, ${job.skipped} in a model gap` : ''}, ${job.divergences.length} diverged${job.counterexampleReplay && job.counterexampleReplay !== 'confirmed' ? `; counterexample ${job.counterexampleReplay}` : ''}`);
}

function writeSummary(): void {
  const total = (f: (j: Job) => number) => jobs.reduce((n, j) => n + f(j), 0);
  const divergences = jobs.flatMap((j) => j.divergences.map((d) => ({ job: j, ...d })));
  const badCounterexamples = jobs.filter((j) => j.counterexampleReplay !== undefined && j.counterexampleReplay !== 'confirmed');
  const full = jobs.filter((j) => j.done >= j.samples.length).length;
  const lines = [
    `# Soak on PostgreSQL ${server.version}`,
    '',
    `Seed ${propertySeed}; ${(elapsed() / 60_000).toFixed(1)} min (budget ${budgetMs / 60_000} min).`,
    '',
    `- combinations: ${jobs.length} (${jobs.filter((j) => j.kind === 'conformance').length} scenario × strategy × isolation level, ${jobs.filter((j) => j.kind === 'random-programs').length} random-program levels); ${full} reached their full count`,
    `- schedules replayed: ${total((j) => j.replayed)} (and ${total((j) => j.skipped)} random programs in a documented model gap, not replayed)`,
    `- replays that followed PostgreSQL's outcome of a race: ${total((j) => j.followed)}, of which ${total((j) => j.reordered)} went on in the schedule's intended order`,
    `- inconclusive replays: ${total((j) => j.inconclusive)}`,
    `- shrunk counterexamples of unsafe strategies replayed: ${jobs.filter((j) => j.counterexampleReplay !== undefined).length}, not confirmed: ${badCounterexamples.length}`,
    `- divergences: ${divergences.length}`,
    '',
  ];
  if (divergences.length > 0) {
    lines.push('## Divergences', '', 'Replay one with `npx lockstep replay FILE`.', '');
    for (const d of divergences) lines.push(`- ${d.job.name}: ${d.step}`, `  \`${relative(process.cwd(), d.file)}\``);
    lines.push('');
  }
  if (badCounterexamples.length > 0) {
    lines.push('## Counterexamples not confirmed', '');
    for (const j of badCounterexamples) lines.push(`- ${j.name}: ${j.counterexampleReplay}`);
    lines.push('');
  }
  lines.push('## Combinations', '', '| combination | schedules | replayed | diverged | followed a race | reordered |', '|---|---:|---:|---:|---:|---:|');
  for (const j of jobs) lines.push(`| ${j.name} | ${j.done} | ${j.replayed} | ${j.divergences.length} | ${j.followed} | ${j.reordered} |`);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(join(out, 'summary.md'), text);
  console.log(`\n${lines.slice(0, 11).join('\n')}`);
  if (divergences.length > 0) for (const d of divergences) console.log(`  ${d.job.name}: ${relative(process.cwd(), d.file)}`);
  console.log(`\nSummary: ${relative(process.cwd(), join(out, 'summary.md'))}`);
  process.exitCode = divergences.length > 0 || badCounterexamples.length > 0 ? 1 : 0;
}
