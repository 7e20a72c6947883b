import { MemoryEngine } from '../adapters/memory/engine.ts';
import { readCounterexample, type Counterexample } from '../explorer/counterexample.ts';
import { replay, specOf, type ReplayReport } from '../explorer/replay.ts';
import { formatReplayReport } from '../explorer/replay-report.ts';
import { runOnEngine } from '../explorer/runner.ts';
import { stepOrder } from '../explorer/schedule.ts';
import { InputError } from '../input-error.ts';
import { checkRun } from '../explorer/checks.ts';
import { openPostgres } from './postgres-target.ts';
import { writeFileSync } from 'node:fs';
import { counterexampleSpec } from '../spec/emit-spec.ts';

/** Replays a counterexample's step order on PostgreSQL and compares it with the model, step by step. */
export async function replayOnPostgres(cx: Counterexample, db: string | undefined): Promise<ReplayReport> {
  const spec = specOf(cx);
  checkOnModel(cx);
  const target = await openPostgres(spec.scenario.schema, db);
  try {
    return await replay(target.backend, spec, cx.schedule, target.sql);
  } finally {
    await target.release();
  }
}

/**
 * Runs the counterexample on the model before any server starts: a workload
 * its programs or serial spec cannot run, or a schedule that does not fit the
 * workload, is bad input.
 */
function checkOnModel(cx: Counterexample): void {
  const spec = specOf(cx);
  let steps: number;
  try {
    const trace = runOnEngine(new MemoryEngine(spec.scenario.schema), spec, stepOrder(cx.schedule));
    checkRun(spec.scenario, trace);
    steps = trace.steps.length;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`The counterexample's workload does not run on the model (are the transactions' "args" right?): ${(e as Error).message}.`);
  }
  if (steps !== cx.schedule.length) {
    throw new InputError(`The schedule lists ${cx.schedule.length} steps but the workload finishes after ${steps}.`);
  }
}

/** `lockstep replay <file> [--db URL] [--json]`: exit 0 confirmed, 1 diverged. */
export async function replayCommand(file: string, options: { db?: string; json?: boolean; emitSpec?: string }): Promise<number> {
  const cx = readCounterexample(file);
  if (options.emitSpec !== undefined) writeSpecFile(options.emitSpec, cx);
  const report = await replayOnPostgres(cx, options.db);
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatReplayReport(report, cx)}\n`);
  return report.status === 'confirmed' ? 0 : 1;
}

/** `--emit-spec FILE`: the counterexample as an isolationtester spec file, written before the replay. */
function writeSpecFile(path: string, cx: Counterexample): void {
  checkOnModel(cx);
  try {
    writeFileSync(path, counterexampleSpec(cx));
  } catch (e) {
    throw new InputError(`Cannot write the spec to ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'its folder does not exist' : (e as Error).message}.`);
  }
}
