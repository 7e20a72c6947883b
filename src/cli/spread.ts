import { readFileSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileProblem, InputError } from '../errors.ts';
import { exploreAsync, type ExploreOptions, type ExploreReport } from '../explorer/explore.ts';
import { exploreOnWorkers, exploreShard, type Shard, type ShardResult } from '../explorer/parallel.ts';
import type { CommandIo } from './io.ts';
import { checkWritable, parseInteger } from './options.ts';
import type { LoadedScenario } from './scenario-files.ts';

/** `--workers`, `--shard` and `--shard-out` as given. */
export interface SpreadCommandOptions {
  readonly workers?: string;
  readonly shard?: string;
  readonly shardOut?: string;
  readonly out?: string;
  readonly replay?: boolean;
  readonly report?: string;
  readonly svg?: string;
  readonly markdown?: boolean;
  readonly maxTime?: string;
}

/** How `lockstep explore` spreads its work: in this process, on worker threads, or as one shard of a split. */
export interface Spread {
  readonly workers?: number;
  readonly shard?: Shard;
  /** The shard result file (relative to the working folder), with `--shard`. */
  readonly shardOut?: string;
  /** Runs the exploration in this process or on the worker threads. */
  explore(options: ExploreOptions): Promise<ExploreReport>;
}

/** What a shard file records beside the shard's result, for `lockstep merge` to print what `explore` would. */
export interface ShardCommand {
  /** The search options of the rerun command (`--mode exhaustive --txs 3`). */
  readonly search: string;
  readonly maxTransactions?: number;
  /** The module of a scenario loaded from a file (absolute path), for the counterexample file. */
  readonly scenarioFile?: string;
}

/** A shard file: the shard's result and the command's notes. */
export type ShardFile = ShardResult & { readonly command: ShardCommand };

/** Largest `--workers`. */
const maxWorkers = 64;

/**
 * Checks `--workers N` (1 to 64), `--shard i/n` (1 <= i <= n) and
 * `--shard-out FILE`; a shard's options that belong to the merge (`--out`,
 * `--replay`, reports) are refused.
 */
export function parseSpread(options: SpreadCommandOptions, source: LoadedScenario | undefined, cwd: string): Spread {
  const workers = options.workers === undefined ? undefined : parseInteger('--workers', options.workers, 1, maxWorkers);
  const shard = options.shard === undefined ? undefined : parseShard(options.shard);
  if (options.shardOut !== undefined && shard === undefined) throw new InputError('--shard-out applies only to --shard.');
  if (options.maxTime !== undefined && (workers !== undefined || shard !== undefined)) throw new InputError('--max-time does not combine with --workers or --shard: their parts must not depend on the clock.');
  if (shard) {
    const merged: [string, unknown][] = [['--out', options.out], ['--replay', options.replay], ['--report', options.report], ['--svg', options.svg], ['--markdown', options.markdown]];
    const refused = merged.find(([, v]) => v !== undefined && v !== false);
    if (refused) throw new InputError(`${refused[0]} does not apply to a shard; give it to lockstep merge.`);
  }
  const shardOut = shard ? checkWritable(options.shardOut ?? `shard-${shard.index}-of-${shard.count}.json`, cwd) : undefined;
  const scenarioModule = source?.file ?? builtInScenarioModule();
  return {
    workers,
    shard,
    shardOut,
    explore: (o) => (workers === undefined ? exploreAsync(o) : exploreOnWorkers({ ...o, workers, scenarioModule })),
  };
}

/** `i/n` with whole numbers 1 <= i <= n. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || index < 1 || count < 1 || index > count || count > 10_000) throw new InputError(`--shard must be i/n with whole numbers 1 <= i <= n <= 10000, not "${text}".`);
  return { index, count };
}

/** The module of the built-in scenarios next to the CLI (TypeScript when lockstep runs from its sources). */
function builtInScenarioModule(): string {
  return fileURLToPath(new URL(`../model/scenarios/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
}

/**
 * `lockstep explore --shard i/n`: runs the shard, writes its result file and
 * says what it covered; exit 0 when the shard found no violation, 1 when it
 * did (the verdict of the whole exploration is `lockstep merge`'s).
 */
export async function runShard(options: ExploreOptions, spread: Spread, command: ShardCommand, json: boolean, io: CommandIo): Promise<number> {
  const source = command.scenarioFile;
  const parallel = spread.workers === undefined ? {} : { workers: spread.workers, scenarioModule: source ?? builtInScenarioModule() };
  const result = await exploreShard({ ...options, shard: spread.shard!, ...parallel });
  const file: ShardFile = { ...result, command };
  const path = spread.shardOut!;
  try {
    writeFileSync(resolve(io.cwd, path), `${JSON.stringify(file, null, 2)}\n`);
  } catch (e) {
    throw new InputError(`Cannot write the shard result to ${path}: ${fileProblem(e)}.`);
  }
  if (json) {
    io.stdout(`${JSON.stringify(file)}\n`);
  } else {
    const { shard, exploration: e, result: r } = result;
    const noun = e.mode === 'exhaustive' ? 'units' : 'runs';
    const found = r.failure === undefined ? 'no violation' : `a violation at ${noun === 'units' ? 'unit' : 'run'} ${r.failure}`;
    io.stdout(
      `Shard ${shard.index}/${shard.count} of ${e.scenario} · ${e.strategy} · ${e.isolation} (seed ${e.seed}): ${noun} ${r.from} to ${r.to - 1} of ${result.parts}, ${found}.\n` +
        `Wrote ${path}; combine every shard with: npx lockstep merge <the ${shard.count} shard files>\n`,
    );
  }
  return result.result.failure === undefined ? 0 : 1;
}

/** Reads a shard file; a missing file or one that is not JSON is one sentence. */
export function readShardFile(path: string, cwd: string): ShardFile {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    throw new InputError(`Cannot read the shard file ${path}: ${fileProblem(e)}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`${path} is not a shard result: it is not valid JSON.`);
  }
  const command = (value as { command?: unknown } | null)?.command;
  if (typeof command !== 'object' || command === null || typeof (command as ShardCommand).search !== 'string') {
    throw new InputError(`${path} is not a shard result (lockstep explore --shard writes them).`);
  }
  return value as ShardFile;
}
