import { resolve } from 'node:path';
import { checkWritable, parseInteger, parseRuns, parseStrategy } from './options.ts';
import { isolationOf } from '../explorer/explore-options.ts';
import { InputError } from '../errors.ts';
import type { Scenario } from '../model/scenario.ts';
import type { ExploreOptions, ExploreProgress } from '../explorer/explore.ts';
import { parseDuration } from '../stress/duration.ts';
import { formatCount, progressPrinter } from './progress.ts';
import { readWorkloadFile } from '../explorer/workloads.ts';
import { parseSearchMode } from '../explorer/search-mode.ts';
import { writeCounterexample } from '../explorer/counterexample.ts';
import { formatExploreReport, rerunCommand } from '../explorer/explore-report.ts';
import { exploreMarkdown, replayMarkdown } from '../reports/markdown.ts';
import { checkReportFiles, writeExploreReports } from './report-files.ts';
import { formatReplayReport } from '../explorer/replay-report.ts';
import { replayCounterexample } from '../explorer/replay-counterexample.ts';
import type { CommandIo } from './io.ts';
import { ScenarioRegistry } from './registry.ts';
import type { LoadedScenario } from './scenario-files.ts';
import { parseSpread, runShard, type SpreadCommandOptions } from './spread.ts';

export interface ExploreCommandOptions extends SpreadCommandOptions {
  readonly scenarios: readonly string[];
  readonly strategy?: string;
  readonly isolation: string;
  readonly runs: string;
  readonly seed: string;
  readonly maxTransactions?: string;
  readonly out?: string;
  readonly json?: boolean;
  readonly replay?: boolean;
  readonly db?: string;
  readonly mode: string;
  readonly txs?: string;
  readonly preemptionBound?: string;
  readonly workload?: string;
  readonly depth?: string;
  readonly markdown?: boolean;
  readonly report?: string;
  readonly svg?: string;
  readonly maxTime?: string;
}

/**
 * `lockstep explore <scenario> --strategy <name> ...`: exit 0 when no
 * violation is found, 1 when one is (or, with `--replay`, when PostgreSQL
 * diverged from the model).
 */
export async function exploreCommand(id: string, options: ExploreCommandOptions, io: CommandIo): Promise<number> {
  const registry = await ScenarioRegistry.load(options.scenarios, io.cwd);
  const scenario = registry.get(id);
  const source = registry.sourceOf(scenario);
  const strategy = parseStrategy(scenario, options.strategy);
  const isolation = isolationOf(scenario, options.isolation);
  const runs = parseRuns(options.runs);
  const seed = parseInteger('--seed', options.seed, -(2 ** 31), 2 ** 31 - 1);
  const maxTransactions =
    options.maxTransactions === undefined ? undefined : parseInteger('--max-transactions', options.maxTransactions, scenario.transactions.min, 12);
  const out = options.out === undefined ? undefined : checkWritable(options.out, io.cwd);
  if (options.json && options.markdown) throw new InputError('Choose one of --json and --markdown.');
  const reportFiles = checkReportFiles(options, io.cwd, [{ what: '--out', path: options.out }]);
  const search = parseSearchOptions(scenario, options, source, io.cwd);
  const spread = parseSpread(options, source, io.cwd);
  if (spread.shard) {
    const command = { search: search.rerunArgs, maxTransactions, scenarioFile: source?.file };
    return runShard({ scenario, strategy, isolation, runs, seed, maxTransactions, ...search.options }, spread, command, options.json === true, io);
  }
  const maxTimeMs = options.maxTime === undefined ? undefined : parseDuration('--max-time', options.maxTime);
  const progress = progressPrinter(io, 'explore');
  const onProgress = (p: ExploreProgress) => progress(`${formatCount(p.runs)} ${search.options.mode === 'exhaustive' ? 'schedules' : `of ${formatCount(runs)} runs`}`);
  // Ctrl-C is caught between parts of the search (500 runs or 25 exhaustive schedules).
  const report = await spread.explore({ scenario, strategy, isolation, runs, seed, maxTransactions, ...search.options, maxTimeMs, onProgress, signal: io.signal });
  const cx = report.counterexample;
  if (cx && out) writeCounterexample(resolve(io.cwd, out), cx, { scenarioFile: source?.file });
  const replayed = cx && options.replay ? await replayCounterexample(cx, { db: options.db, scenario, signal: io.signal }) : undefined;
  const rerun = rerunCommand(report, maxTransactions, search.rerunArgs);
  writeExploreReports(reportFiles, report, scenario, rerun, io, replayed);
  if (options.json) {
    io.stdout(`${JSON.stringify(replayed ? { ...report, replay: replayed } : report)}\n`);
  } else if (options.markdown) {
    io.stdout(exploreMarkdown(report, scenario, { rerun }));
    if (replayed) io.stdout(`\n${replayMarkdown(replayed, cx!)}`);
  } else {
    io.stdout(`${formatExploreReport(report, { maxTransactions, out, search: search.rerunArgs })}\n`);
    if (replayed) io.stdout(`\n${formatReplayReport(replayed, cx!)}\n`);
    else if (options.replay) io.stdout('Nothing to replay: no counterexample was found.\n');
  }
  return report.status === 'passed' && (!replayed || replayed.status === 'confirmed') ? 0 : 1;
}

/**
 * Checks `--mode`, `--txs`, `--preemption-bound`, `--depth` and `--workload`:
 * options of another mode are refused rather than ignored.
 */
function parseSearchOptions(scenario: Scenario, options: ExploreCommandOptions, source: LoadedScenario | undefined, cwd: string): { options: Partial<ExploreOptions>; rerunArgs: string } {
  const mode = parseSearchMode(options.mode);
  const only = (flag: string, value: string | undefined, wanted: string) => {
    if (value !== undefined && mode !== wanted) throw new InputError(`${flag} applies only to --mode ${wanted}.`);
  };
  only('--txs', options.txs, 'exhaustive');
  only('--preemption-bound', options.preemptionBound, 'exhaustive');
  only('--depth', options.depth, 'pct');
  if (options.txs !== undefined && options.workload !== undefined) throw new InputError('Give either --txs or --workload, not both.');
  if (options.workload !== undefined && options.maxTransactions !== undefined) throw new InputError('Give either --max-transactions or --workload, not both.');
  if (mode === 'exhaustive' && options.maxTransactions !== undefined) throw new InputError('--max-transactions does not apply to --mode exhaustive; give --txs.');
  const transactions = options.txs === undefined ? undefined : parseInteger('--txs', options.txs, 1, 8);
  const preemptionBound = options.preemptionBound === undefined ? undefined : parseInteger('--preemption-bound', options.preemptionBound, 0, 1000);
  const depth = options.depth === undefined ? undefined : parseInteger('--depth', options.depth, 1, 16);
  const workload = options.workload === undefined ? undefined : readWorkloadFile(options.workload, scenario, cwd);
  // A scenario from a --scenarios file needs the file again to rerun; one from lockstep.config is found again by itself.
  let rerunArgs = source?.given !== undefined ? ` --scenarios ${source.given}` : '';
  if (mode !== 'default') rerunArgs += ` --mode ${mode}`;
  if (transactions !== undefined) rerunArgs += ` --txs ${transactions}`;
  if (preemptionBound !== undefined) rerunArgs += ` --preemption-bound ${preemptionBound}`;
  if (depth !== undefined) rerunArgs += ` --depth ${depth}`;
  if (options.workload !== undefined) rerunArgs += ` --workload ${options.workload}`;
  return { options: { mode, transactions, preemptionBound, depth, workload }, rerunArgs };
}

