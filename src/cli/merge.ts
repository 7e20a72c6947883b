import { resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { writeCounterexample } from '../explorer/counterexample.ts';
import { formatExploreReport } from '../explorer/explore-report.ts';
import { mergeShards } from '../explorer/parallel.ts';
import type { CommandIo } from './io.ts';
import { checkWritable } from './options.ts';
import { readShardFile } from './spread.ts';

export interface MergeCommandOptions {
  readonly json?: boolean;
  readonly out?: string;
}

/**
 * `lockstep merge <shard files...>`: combines the result files of every
 * shard of one `explore --shard i/n` split and prints what `lockstep explore`
 * would have printed in one process (timing aside): exit 0 passed, 1 a
 * violation, 2 shards that do not make one exploration.
 */
export async function mergeCommand(files: readonly string[], options: MergeCommandOptions, io: CommandIo): Promise<number> {
  const out = options.out === undefined ? undefined : checkWritable(options.out, io.cwd);
  const shards = files.map((f) => readShardFile(f, io.cwd));
  const report = mergeShards(shards, files);
  const { command } = shards[0];
  for (const [k, s] of shards.entries()) {
    if (s.command.search !== command.search || s.command.maxTransactions !== command.maxTransactions) {
      throw new InputError(`${files[k]} is a shard of another exploration than ${files[0]}: its options differ.`);
    }
  }
  const cx = report.counterexample;
  if (cx && out) writeCounterexample(resolve(io.cwd, out), cx, { scenarioFile: command.scenarioFile });
  if (options.json) io.stdout(`${JSON.stringify(report)}\n`);
  else io.stdout(`${formatExploreReport(report, { maxTransactions: command.maxTransactions, out, search: command.search })}\n`);
  return report.status === 'passed' ? 0 : 1;
}
