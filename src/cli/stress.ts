import { InputError, InterruptedError } from '../errors.ts';
import { parseDuration } from '../stress/duration.ts';
import { stressProfile } from '../stress/profiles.ts';
import { stress, type StressOptions } from '../stress/stress.ts';
import { formatStressReport } from '../stress/stress-report-text.ts';
import { checkReportFiles, writeReportFile } from './report-files.ts';
import { renderStressHtml } from '../reports/stress-html.ts';
import type { CommandIo } from './io.ts';
import { parseInteger, parseStrategy } from './options.ts';
import { isolationOf } from '../explorer/explore-options.ts';
import { ScenarioRegistry } from './registry.ts';

/** Options of `lockstep stress`, as commander passes them. */
export interface StressCommandOptions {
  readonly scenarios: readonly string[];
  readonly strategy?: string;
  readonly isolation?: string;
  readonly profile?: string;
  readonly clients?: string;
  readonly pool?: string;
  readonly duration?: string;
  readonly transactions?: string;
  readonly rate?: string;
  readonly burst?: string;
  readonly idle?: string;
  readonly workload?: string;
  readonly threshold: readonly string[];
  readonly seed?: string;
  readonly acquireTimeout?: string;
  readonly protocol?: string;
  readonly json?: boolean;
  readonly db?: string;
  readonly report?: string;
}

/**
 * `lockstep stress [scenario] --strategy S ...`: runs the scenario's programs
 * under load on PostgreSQL; exit 0 when every rule and threshold holds, 1
 * when one does not, 2 on bad input, 130 when interrupted.
 */
export async function stressCommand(id: string | undefined, options: StressCommandOptions, io: CommandIo): Promise<number> {
  const profile = options.profile === undefined ? undefined : stressProfile(options.profile);
  if (id === undefined && profile === undefined) throw new InputError('Name a scenario (lockstep stress points-deduct --strategy naive) or a profile with --profile.');
  const registry = await ScenarioRegistry.load(options.scenarios, io.cwd);
  const scenario = registry.get(id ?? profile!.scenario);
  const strategy = parseStrategy(scenario, options.strategy);
  const isolation = options.isolation === undefined ? undefined : isolationOf(scenario, options.isolation);
  if (options.duration !== undefined && options.transactions !== undefined) throw new InputError('Give either --duration or --transactions, not both.');
  if (options.rate !== undefined && options.duration === undefined) {
    throw new InputError('--rate needs --duration, not --transactions: an open model runs for a time, whatever the number of transactions.');
  }
  if (options.rate !== undefined && options.burst !== undefined) throw new InputError('Give either --rate or --burst, not both.');
  if (options.idle !== undefined && options.burst === undefined && profile?.burst === undefined) throw new InputError('--idle applies only with --burst.');
  if (options.workload !== undefined && options.workload !== 'generated' && options.workload !== 'canonical') {
    throw new InputError(`--workload must be generated or canonical, not "${options.workload}".`);
  }
  const reportFiles = checkReportFiles({ report: options.report }, io.cwd);
  if (options.protocol !== undefined && options.protocol !== 'extended' && options.protocol !== 'simple') {
    throw new InputError(`--protocol must be extended or simple, not "${options.protocol}".`);
  }
  const stressOptions: StressOptions = {
    scenario,
    strategy,
    isolation,
    profile,
    clients: optionalInteger('--clients', options.clients, 1, 10_000),
    pool: optionalInteger('--pool', options.pool, 1, 10_000),
    transactions: optionalInteger('--transactions', options.transactions, 1),
    durationMs: options.duration === undefined ? undefined : parseDuration('--duration', options.duration),
    rate: options.rate === undefined ? undefined : parseRate(options.rate),
    burst: burstOf(options, profile?.burst),
    workload: options.workload as 'generated' | 'canonical' | undefined,
    thresholds: options.threshold,
    seed: optionalInteger('--seed', options.seed, -(2 ** 31), 2 ** 31 - 1),
    acquireTimeoutMs: options.acquireTimeout === undefined ? undefined : parseDuration('--acquire-timeout', options.acquireTimeout),
    protocol: options.protocol as 'extended' | 'simple' | undefined,
    db: options.db,
    signal: io.signal,
  };
  let report;
  try {
    report = await stress(stressOptions);
  } catch (e) {
    if (io.signal?.aborted) throw new InterruptedError('Interrupted: the run schema was dropped and every connection ended.');
    throw e;
  }
  io.stdout(options.json ? `${JSON.stringify(report)}\n` : `${formatStressReport(report)}\n`);
  if (reportFiles.html) writeReportFile(reportFiles.html, renderStressHtml(report));
  return report.status === 'passed' ? 0 : 1;
}

/** `--burst N --idle T`, either of them over the profile's burst. */
function burstOf(options: StressCommandOptions, fromProfile: { size: number; idleMs: number } | undefined): StressOptions['burst'] {
  if (options.burst === undefined && options.idle === undefined) return undefined;
  return {
    size: options.burst === undefined ? fromProfile!.size : parseInteger('--burst', options.burst, 1, 10_000),
    idleMs: options.idle === undefined ? (fromProfile?.idleMs ?? 5000) : parseDuration('--idle', options.idle),
  };
}

function optionalInteger(option: string, value: string | undefined, min: number, max?: number): number | undefined {
  return value === undefined ? undefined : parseInteger(option, value, min, max);
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(rate > 0)) throw new InputError(`--rate must be a number of transactions per second above 0, not "${value}".`);
  return rate;
}
