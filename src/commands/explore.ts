import { checkWritable, parseInteger, parseIsolation, parseScenario, parseStrategy } from '../cli-options.ts';
import { writeCounterexample } from '../explorer/counterexample.ts';
import { explore } from '../explorer/explore.ts';
import { formatExploreReport } from '../explorer/explore-report.ts';
import { formatReplayReport } from '../explorer/replay-report.ts';
import { replayOnPostgres } from './replay.ts';

export interface ExploreCommandOptions {
  readonly strategy?: string;
  readonly isolation: string;
  readonly runs: string;
  readonly seed: string;
  readonly maxTransactions?: string;
  readonly out?: string;
  readonly json?: boolean;
  readonly replay?: boolean;
  readonly db?: string;
}

/**
 * `lockstep explore <scenario> --strategy <name> ...`: exit 0 when no
 * violation is found, 1 when one is (or, with `--replay`, when PostgreSQL
 * diverged from the model).
 */
export async function exploreCommand(id: string, options: ExploreCommandOptions): Promise<number> {
  const scenario = parseScenario(id);
  const strategy = parseStrategy(scenario, options.strategy);
  const isolation = parseIsolation(scenario, options.isolation);
  const runs = parseInteger('--runs', options.runs, 1);
  const seed = parseInteger('--seed', options.seed, -(2 ** 31), 2 ** 31 - 1);
  const maxTransactions =
    options.maxTransactions === undefined ? undefined : parseInteger('--max-transactions', options.maxTransactions, scenario.transactions.min, 12);
  const out = options.out === undefined ? undefined : checkWritable(options.out);
  const report = explore({ scenario, strategy, isolation, runs, seed, maxTransactions });
  const cx = report.counterexample;
  if (cx && out) writeCounterexample(out, cx);
  const replayed = cx && options.replay ? await replayOnPostgres(cx, options.db) : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify(replayed ? { ...report, replay: replayed } : report)}\n`);
  } else {
    process.stdout.write(`${formatExploreReport(report, { maxTransactions, out })}\n`);
    if (replayed) process.stdout.write(`\n${formatReplayReport(replayed, cx!)}\n`);
    else if (options.replay) process.stdout.write('Nothing to replay: no counterexample was found.\n');
  }
  return report.status === 'passed' && (!replayed || replayed.status === 'confirmed') ? 0 : 1;
}
