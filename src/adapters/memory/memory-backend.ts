import type { Backend, Event, IsolationLevel, StepForecast, TxId } from '../backend.ts';
import type { Schema, Tables } from '../../model/schema.ts';
import { describeStatement, type Statement } from '../../model/statement.ts';
import { MemoryEngine } from './engine.ts';

/**
 * The memory engine behind the asynchronous `Backend` interface, so code
 * written for PostgreSQL (`runOnBackend`, replay) runs on the model too.
 * Exploration calls the synchronous `MemoryEngine` directly.
 *
 * ```ts
 * const backend = new MemoryBackend(pointsSchema);
 * const trace = await runOnBackend(backend, spec, choiceSchedule([0, 1]));
 * ```
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly engine: MemoryEngine;

  constructor(schema: Schema) {
    this.engine = new MemoryEngine(schema);
  }

  async reset(seed: Tables, isolation: IsolationLevel): Promise<void> {
    this.engine.reset(seed, isolation);
  }

  /** Steps the engine; `expected` and `forecast` are ignored, the engine is the model. */
  async step(tx: TxId, statement: Statement, _expected?: readonly Event[], _forecast?: StepForecast): Promise<Event[]> {
    return this.engine.step(tx, statement);
  }

  async abandon(tx: TxId): Promise<Event[]> {
    return this.engine.abandon(tx);
  }

  async tables(): Promise<Tables> {
    return this.engine.tables();
  }

  /** The model's short form: `update accounts set balance=2700 where id=1`. */
  describe(statement: Statement): string {
    return describeStatement(statement);
  }

  async close(): Promise<void> {}
}
