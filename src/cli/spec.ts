import { resolve } from 'node:path';
import { provisionPostgres } from '../adapters/postgres/provision.ts';
import { parseInteger } from './options.ts';
import { fileProblem, InputError, InterruptedError, readInputFile } from '../errors.ts';
import { formatIsolationtesterPermutation, isolationtesterHeader } from '../isolationtester/isolationtester-format.ts';
import { permutationCount, permutationSample, specPermutations, type Permutation } from '../isolationtester/permutations.ts';
import { parseDuration } from '../stress/duration.ts';
import { formatCount, progressPrinter } from './progress.ts';
import { specJson } from '../isolationtester/spec-json.ts';
import { parseSpec, stepsByName, type Spec } from '../isolationtester/spec-parser.ts';
import type { PermutationRun } from '../isolationtester/permutation-run.ts';
import { BlockedSessionError, SpecRunner, StepTimeoutError } from '../isolationtester/spec-runner.ts';
import { shrinkFailingCheck, type ShrinkResult } from '../isolationtester/spec-shrink.ts';
import { formatSpecTable } from '../isolationtester/spec-table.ts';
import { releaseOnAbort } from '../adapters/postgres/postgres-target.ts';
import type { CommandIo } from './io.ts';

/** Options of `lockstep spec`, as commander passes them. */
export interface SpecCommandOptions {
  readonly db?: string;
  readonly permutations?: string;
  readonly seed?: string;
  readonly check?: string;
  readonly format?: string;
  readonly json?: boolean;
  readonly stepTimeout?: string;
  readonly maxTime?: string;
}

/** Most permutations `--permutations n` samples: past it, memory and time are out of proportion. */
export const maxSampledPermutations = 100_000;
/** Most interleavings `--permutations all` runs without `--max-time`. */
export const maxAllPermutations = 1_000_000;

/** The output formats of `lockstep spec`; `table` is the default. */
export const specFormats = ['table', 'isolationtester', 'json'] as const;
export type SpecFormat = (typeof specFormats)[number];

/**
 * `lockstep spec <file.spec>`: runs a PostgreSQL isolationtester spec on
 * PostgreSQL with lockstep's settle rule. Exit 0 when it ran (and every
 * `--check` held), 1 when a check failed, 2 on bad input or a step that never
 * completes.
 */
export async function specCommand(file: string, options: SpecCommandOptions, io: CommandIo): Promise<number> {
  const format = parseFormat(options);
  const seed = parseInteger('--seed', options.seed ?? '1', -(2 ** 31), 2 ** 31 - 1);
  const stepTimeoutMs = parseStepTimeout(options.stepTimeout ?? '10');
  if (options.check !== undefined && options.check.trim() === '') throw new InputError('--check needs a SQL query returning one boolean.');
  const maxTimeMs = options.maxTime === undefined ? undefined : parseDuration('--max-time', options.maxTime);
  const sample = options.permutations ?? 'all';
  if (sample !== 'all' && !/^\d+$/.test(sample.trim())) throw new InputError(`--permutations must be "all" or a whole number, not "${sample}".`);
  const wanted = sample === 'all' ? undefined : parseInteger('--permutations', sample, 1);
  if (wanted !== undefined && wanted > maxSampledPermutations) {
    throw new InputError(`--permutations ${sample} is more than lockstep samples (at most ${formatCount(maxSampledPermutations)}); sample fewer, or run them all with --permutations all and a --max-time.`);
  }
  const spec = readSpec(file, io.cwd);
  const total = permutationCount(spec);
  if (wanted === undefined && total > maxAllPermutations && maxTimeMs === undefined) {
    throw new InputError(
      `${file} has ${formatCount(total)} interleavings, too many to run them all; sample some with --permutations n (at most ${formatCount(maxSampledPermutations)}), or bound the run with --max-time.`,
    );
  }
  const permutations: Iterable<Permutation> = wanted !== undefined ? permutationSample(spec, wanted, seed) : specPermutations(spec);
  const stepSession = stepsByName(spec);
  const sessionOf = (step: string) => stepSession.get(step)!.session;
  const deadline = maxTimeMs === undefined ? Infinity : performance.now() + maxTimeMs;

  const server = await provisionPostgres({ url: options.db, signal: io.signal });
  let runner: SpecRunner | undefined;
  const release = async () => {
    await runner?.close();
    await server.stop();
  };
  const unwatch = releaseOnAbort(io.signal, release);
  try {
    runner = await SpecRunner.connect(server.url, spec, { stepTimeoutMs, check: options.check, signal: io.signal });
    const active = runner;
    const runs: PermutationRun[] = [];
    const ran: Permutation[] = [];
    const skipped: string[][] = [];
    let stopped = false;
    // Progress counts from the first permutation, once the server and the sessions are there.
    const progress = progressPrinter(io, 'spec');
    if (format === 'isolationtester') io.stdout(isolationtesterHeader(spec.sessions.length));
    for (const p of permutations) {
      if (performance.now() >= deadline) {
        stopped = true;
        break;
      }
      progress(`${formatCount(runs.length + skipped.length)} of ${formatCount(wanted === undefined ? total : Math.min(wanted, total))} permutations`);
      let run: PermutationRun;
      try {
        run = { ...(await active.run(p)), index: runs.length + 1 };
      } catch (e) {
        // An interleaving lockstep generated may ask a blocked session to step: it cannot happen, so it is skipped.
        if (e instanceof BlockedSessionError && spec.permutations.length === 0) {
          skipped.push(p.map((s) => s.step));
          continue;
        }
        throw e;
      }
      runs.push(run);
      ran.push(p);
      for (const w of run.warnings) io.stderr(`${w}\n`);
      if (format === 'isolationtester') io.stdout(formatIsolationtesterPermutation(run, options.check !== undefined));
    }
    const of = wanted === undefined ? total : Math.min(wanted, total);
    let selection = wanted !== undefined ? `${runs.length + skipped.length} sampled with seed ${seed}` : spec.permutations.length > 0 ? "the spec's permutations" : 'every interleaving';
    if (stopped) {
      selection = `${formatCount(runs.length + skipped.length)} of ${formatCount(of)} (${selection.replace(/^\d+ /, '')}), stopped by --max-time ${options.maxTime}`;
      io.stderr(`Stopped by --max-time ${options.maxTime} after ${formatCount(runs.length + skipped.length)} of ${formatCount(of)} permutations.\n`);
    }
    let shrunk: ShrinkResult | undefined;
    if (runs.some((r) => r.check === false)) {
      shrunk = await shrinkFailingCheck(runs, ran, (p: Permutation) => active.run(p), sessionOf);
    }
    const shrunkOrder = shrunk ? { order: shrunk.permutation.map((s) => s.step), switches: shrunk.switches } : undefined;
    if (format === 'json') io.stdout(`${JSON.stringify(specJson(file, runs, shrunkOrder, skipped), null, 2)}\n`);
    if (format === 'table') io.stdout(formatSpecTable(runs, { file, server: `PostgreSQL ${active.version}`, selection, shrunk, skipped }));
    if (format === 'isolationtester' && skipped.length > 0) io.stderr(`${skippedSentence(skipped)}\n`);
    if (format === 'isolationtester' && shrunk) {
      io.stderr(`The check failed; fewest session switches that still fail (${shrunk.switches}): permutation ${shrunkOrder!.order.join(' ')}\n`);
    }
    return shrunk ? 1 : 0;
  } catch (e) {
    if (e instanceof StepTimeoutError) throw new InputError(e.message);
    if (io.signal?.aborted && !(e instanceof InterruptedError)) throw new InterruptedError();
    throw e;
  } finally {
    unwatch();
    await release();
  }
}

/** `Skipped 2 interleavings that ask a blocked session to take its next step, e.g. s1w s2w s2c s1c.` */
export function skippedSentence(skipped: readonly (readonly string[])[]): string {
  const n = skipped.length;
  return `Skipped ${n} interleaving${n === 1 ? '' : 's'} that ask${n === 1 ? 's' : ''} a blocked session to take its next step, e.g. ${skipped[0].join(' ')}.`;
}

function parseFormat(options: SpecCommandOptions): SpecFormat {
  if (options.json) {
    if (options.format !== undefined && options.format !== 'json') throw new InputError(`--json and --format ${options.format} contradict each other; choose one.`);
    return 'json';
  }
  const format = options.format ?? 'table';
  if (!specFormats.includes(format as SpecFormat)) throw new InputError(`Unknown format "${format}"; choose one of ${specFormats.join(', ')}.`);
  return format as SpecFormat;
}

function parseStepTimeout(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds > 0) || seconds > 3600) {
    throw new InputError(`--step-timeout must be a number of seconds between 0 and 3600, not "${value}".`);
  }
  // PostgreSQL's statement_timeout counts whole milliseconds, and 0 would mean none.
  if (seconds < 0.001) throw new InputError(`--step-timeout must be at least 0.001 seconds (PostgreSQL counts whole milliseconds), not "${value}".`);
  return Math.round(seconds * 1000);
}

function readSpec(file: string, cwd: string): Spec {
  let text: string;
  try {
    text = readInputFile(resolve(cwd, file));
  } catch (e) {
    throw new InputError(`Cannot read ${file}: ${fileProblem(e)}.`);
  }
  return parseSpec(text, file);
}
