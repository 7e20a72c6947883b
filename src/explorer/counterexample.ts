import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { isolationLevels, type Event, type IsolationLevel, type TxId } from '../adapters/backend.ts';
import { fileProblem, InputError, readInputFile } from '../errors.ts';
import type { Scenario, Workload, WorkloadTx } from '../model/scenario.ts';
import type { Row, Tables } from '../model/schema.ts';
import { describeStatement, type Statement, type StatementResult } from '../model/statement.ts';
import { classifyRun, type Anomaly } from './anomaly.ts';
import { checkWorkloadArgs } from './workload-args.ts';
import type { Violation } from './violation.ts';
import { releasedStatement, type Step, type Trace } from './runner.ts';

/** One step of a counterexample, as people and files read it. */
export interface CounterexampleStep {
  readonly tx: TxId;
  readonly statement: string;
  /** How the statement stood once the step settled: its result, its error, or `blocked by T1`. */
  readonly outcome: string;
  /** Statements of other transactions that were blocked and completed during this step. */
  readonly released?: readonly { readonly tx: TxId; readonly outcome: string }[];
}

/**
 * A minimal failing run: the workload and the explicit step order (which
 * transaction ran each step), so it replays identically after the tool
 * changes, plus the steps as they happened and the broken rule.
 */
export interface Counterexample {
  /** The scenario's id. */
  readonly scenario: string;
  /**
   * Where the scenario is defined, for a scenario that is not built in: a
   * module path relative to the counterexample file's folder, which
   * `lockstep replay` loads. Set by the CLI when it writes the file.
   */
  readonly scenarioFile?: string;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  /** The exploration seed that found it (informational: the schedule alone replays it). */
  readonly seed?: number;
  readonly transactions: readonly ({ readonly id: TxId } & WorkloadTx)[];
  readonly schedule: readonly TxId[];
  readonly preemptions: number;
  readonly steps: readonly CounterexampleStep[];
  readonly violation: Violation;
  /** The anomaly of the run's dependency graph in Adya's terms, with its cycle; null when the rule broke without one. */
  readonly anomaly: Anomaly | null;
  readonly final: Tables;
}

/** The scenario each counterexample built or read in this process belongs to. */
const scenarioOfCounterexample = new WeakMap<Counterexample, Scenario>();

/** The scenario a counterexample was built from or read with, if this process built or read it. */
export function scenarioOf(cx: Counterexample): Scenario | undefined {
  return scenarioOfCounterexample.get(cx);
}

/** Builds the counterexample of a failing run. */
export function buildCounterexample(input: {
  scenario: Scenario;
  strategy: string;
  isolation: IsolationLevel;
  seed?: number;
  workload: Workload;
  trace: Trace;
  violation: Violation;
  /** Computed from the run when not given. */
  anomaly?: Anomaly | null;
}): Counterexample {
  const { trace, scenario } = input;
  const schedule = trace.steps.map((s) => s.tx);
  const anomaly =
    input.anomaly !== undefined
      ? input.anomaly
      : classifyRun({ scenario, strategy: scenario.strategies[input.strategy], isolation: input.isolation, workload: input.workload }, schedule);
  const cx: Counterexample = {
    scenario: scenario.id,
    strategy: input.strategy,
    isolation: input.isolation,
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
    transactions: input.workload.map((w, i) => ({ id: i + 1, operation: w.operation, args: w.args })),
    schedule,
    preemptions: trace.preemptions,
    steps: trace.steps.map((s) => describeStep(s, trace)),
    violation: input.violation,
    anomaly,
    final: trace.final,
  };
  scenarioOfCounterexample.set(cx, scenario);
  return cx;
}

function describeStep(step: Step, trace: Trace): CounterexampleStep {
  const own = step.events.find((e) => e.tx === step.tx)!;
  const released = describeReleased(trace.steps, step);
  return { tx: step.tx, statement: describeStatement(step.statement), outcome: describeEvent(step.statement, own), ...(released.length ? { released } : {}) };
}

/** Other transactions' statements that completed during `step` (released from a wait), in words. */
export function describeReleased(steps: readonly Step[], step: Step): { tx: TxId; outcome: string }[] {
  return step.events.filter((e) => e.tx !== step.tx).map((e) => ({ tx: e.tx, outcome: describeEvent(releasedStatement(steps, step, e.tx), e) }));
}

/** One outcome in words: `id=1 balance=3000`, `1 row`, `blocked by T1`, `error 40P01: deadlock detected`. */
export function describeEvent(statement: Statement, event: Event): string {
  if (event.kind === 'blocked') return `blocked by ${event.waitsFor.map((t) => `T${t}`).join(', ') || 'another transaction'}`;
  return describeResult(statement, event.result);
}

/** A statement result in words. */
export function describeResult(statement: Statement, result: StatementResult): string {
  if (result.error) return `error ${result.error.code}: ${result.error.message}`;
  switch (statement.kind) {
    case 'commit':
      return 'committed';
    case 'rollback':
      return 'rolled back';
    case 'select':
      return result.rows.length === 0 ? 'no rows' : result.rows.map(describeRow).join('; ');
    default:
      return `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`;
  }
}

function describeRow(row: Row): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`)
    .join(' ');
}


const fileTag = 'lockstep-counterexample';

/** The JSON text of a counterexample file. */
export function counterexampleJson(cx: Counterexample): string {
  return `${JSON.stringify({ format: fileTag, version: 1, ...cx }, null, 2)}\n`;
}

/**
 * Writes a counterexample file; an unwritable path is an input error. Give
 * `scenarioFile` (the module that defines the scenario) for a scenario that is
 * not built in: it is stored relative to the file's folder, so `lockstep
 * replay cx.json` finds the scenario again.
 *
 * ```ts
 * writeCounterexample('cx.json', report.counterexample!, { scenarioFile: './races/gift.ts' });
 * ```
 */
export function writeCounterexample(path: string, cx: Counterexample, options: { scenarioFile?: string } = {}): void {
  const { scenario, scenarioFile: _, ...rest } = cx;
  const stored = options.scenarioFile === undefined ? cx : { scenario, scenarioFile: relativeModulePath(dirname(resolve(path)), resolve(options.scenarioFile)), ...rest };
  try {
    writeFileSync(path, counterexampleJson(stored));
  } catch (e) {
    throw new InputError(`Cannot write the counterexample to ${path}: ${fileProblem(e)}.`);
  }
}

/** `./races/gift.ts` or `../races/gift.ts`: a path an import could take. */
function relativeModulePath(from: string, to: string): string {
  const path = relative(from, to);
  return path.startsWith('.') ? path : `./${path}`;
}

/**
 * Reads and checks a counterexample file against the scenarios it may
 * belong to (found by id among `scenarios`). Anything malformed (not JSON,
 * truncated, unknown scenario, strategy or isolation level, a schedule that
 * names no transaction of the workload) is an input error with one sentence.
 *
 * ```ts
 * const cx = readCounterexample('cx.json', [giftOnce]);
 * ```
 */
export function readCounterexample(path: string, scenarios: readonly Scenario[], name = path): Counterexample {
  const data = readCounterexampleJson(path, name);
  const bad = (what: string) => new InputError(`${name} is not a valid counterexample file: ${what}.`);
  const scenario = scenarios.find((s) => s.id === data.scenario);
  if (!scenario) throw bad(`unknown scenario ${JSON.stringify(data.scenario)} (known: ${scenarios.map((s) => s.id).join(', ')})`);
  if (!Object.hasOwn(scenario.strategies, data.strategy)) {
    throw bad(`scenario ${scenario.id} has no strategy ${JSON.stringify(data.strategy)} (known: ${Object.keys(scenario.strategies).join(', ')})`);
  }
  if (!isolationLevels.includes(data.isolation) || !scenario.isolationLevels.includes(data.isolation)) {
    throw bad(`isolation ${JSON.stringify(data.isolation)} is not one of ${scenario.isolationLevels.join(', ')}`);
  }
  if (!Array.isArray(data.transactions) || data.transactions.length === 0) throw bad('"transactions" must be a non-empty list');
  data.transactions.forEach((t: any, i: number) => {
    if (typeof t !== 'object' || t === null || t.id !== i + 1) throw bad(`transaction ${i + 1} must have "id": ${i + 1}`);
    if (!Object.hasOwn(scenario.operations, t.operation)) {
      throw bad(`transaction ${i + 1} runs unknown operation ${JSON.stringify(t.operation)} (known: ${Object.keys(scenario.operations).join(', ')})`);
    }
  });
  const n = data.transactions.length;
  if (!Array.isArray(data.schedule) || !data.schedule.every((t: unknown) => Number.isInteger(t) && (t as number) >= 1 && (t as number) <= n)) {
    throw bad(`"schedule" must list transaction ids between 1 and ${n}`);
  }
  checkWorkloadArgs(scenario, data.transactions, name);
  const cx = data as Counterexample;
  scenarioOfCounterexample.set(cx, scenario);
  return cx;
}

/**
 * The JSON of a counterexample file, checked only for its format tag and
 * version: what the CLI reads first to learn which scenario (and scenario
 * file) the counterexample needs.
 */
export function readCounterexampleJson(path: string, name = path): { readonly scenario: string; readonly scenarioFile?: string } & Record<string, any> {
  let text: string;
  try {
    text = readInputFile(path);
  } catch (e) {
    throw new InputError(`Cannot read the counterexample file ${name}: ${fileProblem(e)}.`);
  }
  let data: any;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${name} is not a counterexample file: it is not valid JSON (truncated or corrupted?).`);
  }
  const bad = (what: string) => new InputError(`${name} is not a valid counterexample file: ${what}.`);
  if (typeof data !== 'object' || data === null || data.format !== fileTag) throw bad(`it lacks "format": "${fileTag}"`);
  if (data.version !== 1) throw bad(`version ${JSON.stringify(data.version)} is not supported (expected 1)`);
  if (typeof data.scenario !== 'string') throw bad('"scenario" must be a scenario id');
  if (data.scenarioFile !== undefined && typeof data.scenarioFile !== 'string') throw bad('"scenarioFile" must be a path');
  return data;
}

/** The workload a counterexample runs. */
export function workloadOf(cx: Counterexample): Workload {
  return cx.transactions.map((t) => ({ operation: t.operation, args: t.args }));
}
