/**
 * lockstep/vitest: assertions for vitest (or any runner that shows a thrown
 * error). `expectRaceFree` fails a test with the shrunk counterexample when
 * lockstep finds a race; `expectRace` fails it when lockstep does not catch a
 * strategy known to be unsafe; `verdictSuite` declares one test per strategy
 * and isolation level of a scenario, each asserting the verdict the strategy
 * declares in `expected`.
 *
 * ```ts
 * import { expectRace, expectRaceFree, verdictSuite } from 'lockstep/vitest';
 * it('deducting with SELECT ... FOR UPDATE is race-free', () => {
 *   expectRaceFree({ scenario: pointsDeduct, strategy: 'for-update' });
 * });
 * verdictSuite(pointsDeduct);
 * ```
 */
import { describe, it } from 'vitest';
import { isolationLevels, type IsolationLevel } from './adapters/backend.ts';
import { InputError } from './errors.ts';
import type { AnomalyClass } from './explorer/anomaly.ts';
import { explore, type ExploreOptions, type ExploreReport } from './explorer/explore.ts';
import { formatExploreReport } from './explorer/explore-report.ts';
import { ruleName } from './explorer/violation.ts';
import type { SearchMode } from './explorer/search-mode.ts';
import type { Scenario } from './model/scenario.ts';

/** `explore`'s options, with `isolation`, `runs` and `seed` optional (see `raceDefaults`). */
export interface RaceOptions extends Omit<ExploreOptions, 'isolation' | 'runs' | 'seed'> {
  /** Default `read-committed`. */
  readonly isolation?: IsolationLevel;
  /** Default 1000. */
  readonly runs?: number;
  /** Default 1: a test explores the same runs every time. */
  readonly seed?: number;
}

/** What `expectRaceFree`, `expectRace` and `verdictSuite` explore unless told otherwise. */
export const raceDefaults = { isolation: 'read-committed', runs: 1000, seed: 1 } as const satisfies Pick<ExploreOptions, 'isolation' | 'runs' | 'seed'>;

/** What the race `expectRace` looks for must be, beyond being found; each field is checked only when given. */
export interface ExpectedRace {
  /** The broken rule: an invariant's name, or `not serializable`. */
  readonly rule?: string;
  /** The anomaly class of the shrunk counterexample; null when the rule broke without an isolation anomaly. */
  readonly anomaly?: AnomalyClass | null;
  /** Transactions in the shrunk counterexample. */
  readonly transactions?: number;
  /** Preemptions in the shrunk counterexample. */
  readonly preemptions?: number;
}

/** A test's failure: lockstep found a race it should not have, or did not find the one it should have. `report` is the exploration. */
export class RaceAssertionError extends Error {
  readonly report: ExploreReport;
  /** `caller`: the assertion that failed; the stack starts at its caller, so a runner points at the test's line. */
  constructor(message: string, report: ExploreReport, caller?: (...args: never[]) => unknown) {
    super(message);
    this.name = 'RaceAssertionError';
    this.report = report;
    if (caller) Error.captureStackTrace(this, caller);
  }
}

/**
 * Explores a strategy and throws when lockstep finds a run that breaks a rule:
 * the error's message is the shrunk counterexample (workload, interleaving
 * table, violated rule, anomaly) and the `explore` call that reruns it.
 * Returns the report when every run passed.
 *
 * ```ts
 * it('for-update is race-free', () => {
 *   expectRaceFree({ scenario: pointsDeduct, strategy: 'for-update' }); // read-committed, 1000 runs, seed 1
 * });
 * ```
 */
export function expectRaceFree(options: RaceOptions): ExploreReport {
  const resolved = withDefaults(options);
  const report = explore(resolved);
  if (report.status === 'failed') throw new RaceAssertionError(formatExploreReport(report, { rerun: rerunCall(resolved) }), report, expectRaceFree);
  return report;
}

/**
 * Explores a strategy known to be unsafe and throws unless lockstep finds a
 * race, and (when `expected` says) one that breaks that rule, with that
 * anomaly, shrunk to that many transactions and preemptions. Returns the
 * report, whose `counterexample` can be asserted on further or replayed on
 * PostgreSQL.
 *
 * ```ts
 * it('naive deduction loses an update', async () => {
 *   const report = expectRace({ scenario: pointsDeduct, strategy: 'naive' }, { anomaly: 'lost update', transactions: 2, preemptions: 1 });
 *   expect((await replay(report.counterexample!)).status).toBe('confirmed');
 * });
 * ```
 */
export function expectRace(options: RaceOptions, expected: ExpectedRace = {}): ExploreReport {
  const resolved = withDefaults(options);
  const report = explore(resolved);
  const head = `${report.scenario} · ${report.strategy} · ${report.isolation}`;
  const rerun = rerunCall(resolved);
  if (report.status === 'passed') {
    const searched = report.mode === 'exhaustive' ? `all ${report.stats.runs} schedules of the workload passed` : `${report.stats.runs} runs passed`;
    throw new RaceAssertionError(`expected lockstep to find a race in ${head}, but ${searched}\nRerun: ${rerun}`, report, expectRace);
  }
  const cx = report.counterexample!;
  const found: Required<ExpectedRace> = { rule: ruleName(cx.violation), anomaly: cx.anomaly?.class ?? null, transactions: cx.transactions.length, preemptions: cx.preemptions };
  const differences = (Object.keys(found) as (keyof ExpectedRace)[])
    .filter((key) => expected[key] !== undefined && expected[key] !== found[key])
    .map((key) => `  ${key}: expected ${show(expected[key])}, found ${show(found[key])}`);
  if (differences.length > 0) {
    const message = [`lockstep found a race in ${head}, but not the one expected:`, ...differences, '', formatExploreReport(report, { rerun })].join('\n');
    throw new RaceAssertionError(message, report, expectRace);
  }
  return report;
}

/** Options of `verdictSuite`: what every test explores. */
export interface VerdictSuiteOptions {
  /** Default 1000. */
  readonly runs?: number;
  /** Default 1. */
  readonly seed?: number;
  /** Default `default` (see `SearchMode`). */
  readonly mode?: SearchMode;
  /** Only these isolation levels; default every level a strategy declares a verdict for. */
  readonly isolation?: readonly IsolationLevel[];
}

/**
 * Declares a vitest suite named after the scenario with one test per
 * strategy and isolation level the strategy declares in `expected`, named
 * like `naive · read-committed fails` or `for-update · serializable passes`:
 * a strategy expected to fail must be caught (`expectRace`), one expected to
 * pass must pass (`expectRaceFree`). Call it at the top level of a test file
 * or inside a `describe`.
 *
 * ```ts
 * // points.test.ts
 * verdictSuite(pointsDeduct, { runs: 2000 });
 * ```
 */
export function verdictSuite(scenario: Scenario, options: VerdictSuiteOptions = {}): void {
  const levels = options.isolation ?? isolationLevels;
  const cells: { strategy: string; isolation: IsolationLevel; verdict: 'passes' | 'fails' }[] = [];
  for (const [strategy, { expected }] of Object.entries(scenario.strategies)) {
    for (const isolation of isolationLevels) {
      const verdict = expected[isolation];
      if (verdict !== undefined && levels.includes(isolation)) cells.push({ strategy, isolation, verdict });
    }
  }
  if (cells.length === 0) {
    const under = options.isolation ? ` under ${options.isolation.join(', ')}` : '';
    throw new InputError(`Scenario ${scenario.id} declares no expected verdict${under}: give its strategies an \`expected\` such as { 'read-committed': 'fails' }.`);
  }
  const explored = { ...(options.runs !== undefined ? { runs: options.runs } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.mode ? { mode: options.mode } : {}) };
  describe(scenario.id, () => {
    for (const { strategy, isolation, verdict } of cells) {
      it(`${strategy} · ${isolation} ${verdict}`, () => {
        const race = { scenario, strategy, isolation, ...explored };
        if (verdict === 'fails') expectRace(race);
        else expectRaceFree(race);
      });
    }
  });
}

function withDefaults(options: RaceOptions): ExploreOptions {
  return { ...options, isolation: options.isolation ?? raceDefaults.isolation, runs: options.runs ?? raceDefaults.runs, seed: options.seed ?? raceDefaults.seed };
}

/** Workloads longer than this are not spelt out in a rerun line. */
const longWorkload = 160;

/**
 * The `explore` call that reruns an exploration, in code form:
 * `explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 })`.
 * The scenario is named by its id in camel case, the name lockstep's own scenarios are exported under.
 */
function rerunCall(options: ExploreOptions): string {
  const fields = [`scenario: ${camelCase(options.scenario.id)}`, `strategy: ${show(options.strategy)}`, `isolation: ${show(options.isolation)}`, `runs: ${options.runs}`, `seed: ${options.seed}`];
  if (options.mode !== undefined) fields.push(`mode: ${show(options.mode)}`);
  if (options.workload !== undefined) {
    const json = JSON.stringify(options.workload);
    fields.push(json.length <= longWorkload ? `workload: ${json}` : `workload /* ${options.workload.length} transactions */`);
  }
  for (const key of ['maxTransactions', 'transactions', 'preemptionBound', 'depth'] as const) {
    if (options[key] !== undefined) fields.push(`${key}: ${options[key]}`);
  }
  return `explore({ ${fields.join(', ')} })`;
}

function camelCase(id: string): string {
  const name = id.replace(/[^A-Za-z0-9_$]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return /^[A-Za-z_$]/.test(name) ? name : `_${name}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
