import type * as fc from 'fast-check';
import type { TxId } from '../src/adapters/backend.ts';
import type { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { runWithDependencies } from '../src/explorer/dependency-run.ts';
import type { RunPlan, Trace } from '../src/explorer/runner.ts';

/**
 * Runs `spec` on `engine` with fast-check's scheduler choosing every step:
 * each runnable transaction awaits a scheduled promise before its next
 * statement, and the scheduler releases one of them. The run is replayed from
 * the start with the choices so far after each release (the engine is
 * synchronous), so the scheduler sees exactly lockstep's runnable sets.
 */
export async function traceUnderScheduler(engine: MemoryEngine, spec: RunPlan, s: fc.Scheduler): Promise<Trace> {
  const prefix: TxId[] = [];
  for (;;) {
    let runnableNow: readonly TxId[] = [];
    const run = runWithDependencies(engine, spec, (runnable, _last, depth) => {
      if (depth < prefix.length) return prefix[depth];
      runnableNow = runnable;
      return undefined;
    });
    if (run.trace) return run.trace;
    prefix.push(await s.waitFor(Promise.race(runnableNow.map((t) => s.schedule(Promise.resolve(t), `T${t}`)))));
  }
}
