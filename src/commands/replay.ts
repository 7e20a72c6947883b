import { MemoryEngine } from '../adapters/memory/engine.ts';
import { readCounterexample, type Counterexample } from '../explorer/counterexample.ts';
import { replay, specOf, type ReplayReport } from '../explorer/replay.ts';
import { formatReplayReport } from '../explorer/replay-report.ts';
import { runOnEngine } from '../explorer/runner.ts';
import { stepOrder } from '../explorer/schedule.ts';
import { openPostgres } from './postgres-target.ts';

/** Replays a counterexample's step order on PostgreSQL and compares it with the model, step by step. */
export async function replayOnPostgres(cx: Counterexample, db: string | undefined): Promise<ReplayReport> {
  const spec = specOf(cx);
  // Check the schedule against the model before starting a server: a schedule that does not fit is bad input.
  runOnEngine(new MemoryEngine(spec.scenario.schema), spec, stepOrder(cx.schedule));
  const target = await openPostgres(spec.scenario.schema, db);
  try {
    return await replay(target.backend, spec, cx.schedule, target.sql);
  } finally {
    await target.release();
  }
}

/** `lockstep replay <file> [--db URL] [--json]`: exit 0 confirmed, 1 diverged. */
export async function replayCommand(file: string, options: { db?: string; json?: boolean }): Promise<number> {
  const cx = readCounterexample(file);
  const report = await replayOnPostgres(cx, options.db);
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatReplayReport(report, cx)}\n`);
  return report.status === 'confirmed' ? 0 : 1;
}
