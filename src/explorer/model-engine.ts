import type { Engine, RacingEngine } from '../adapters/engine.ts';
import { MemoryEngine } from '../adapters/memory/engine.ts';
import type { DependencyGraph } from '../adapters/memory/dependency-graph.ts';
import type { Schema } from '../model/schema.ts';
import type { TxId } from '../model/transaction.ts';

/*
 * The one place the explorer makes engines: everything else in src/explorer
 * sees the model through `Engine` (src/adapters/engine.ts), and
 * test/architecture/layers.test.ts keeps it so.
 */

/**
 * The model of PostgreSQL for `schema`: the memory engine.
 *
 * ```ts
 * const trace = runOnEngine(modelEngine(scenario.schema), plan, stepOrder(schedule));
 * ```
 */
export function modelEngine(schema: Schema): Engine {
  return new MemoryEngine(schema);
}

/** The model with its races among waiters decided by `resolve` (else first come, first served) and logged; replay follows PostgreSQL's choices with it. */
export function racingModel(schema: Schema, resolve: (ordinal: number) => TxId | undefined): RacingEngine {
  return new MemoryEngine(schema, resolve);
}

/** A model that records every read and write of a run, for the run's dependency graph. */
export interface RecordingEngine extends Engine {
  /** The dependency graph among the transactions the run committed (Adya's DSG). */
  dependencies(): DependencyGraph;
}

/**
 * The model, recording every read and write: slower than `modelEngine`, for
 * drawing one run rather than exploring many.
 *
 * ```ts
 * const engine = recordingModel(scenario.schema);
 * runOnEngine(engine, plan, stepOrder(schedule));
 * engine.dependencies().edges; // [{ from: 1, to: 2, kind: 'rw', ... }]
 * ```
 */
export function recordingModel(schema: Schema): RecordingEngine {
  const engine = new MemoryEngine(schema);
  engine.recordHistory = true;
  return engine;
}

/** The dependency graph of what `run` does on a model that records every read. */
export function recordedDependencies(schema: Schema, run: (engine: Engine) => void): DependencyGraph {
  const engine = recordingModel(schema);
  run(engine);
  return engine.dependencies();
}
