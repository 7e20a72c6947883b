import type { TxId } from '../model/transaction.ts';
import { createTx, StatementFailure, type OperationResult, type Program } from '../model/program.ts';
import type { SerialState } from '../model/scenario.ts';
import type { Schema, Tables } from '../model/schema.ts';
import { modelEngine } from './model-engine.ts';

/**
 * A serial spec that runs the transaction's own program alone on a memory
 * engine, for workloads whose statements are their whole intent (the
 * anomaly catalogue's classic tests, generated statement programs). Running
 * alone, nothing interleaves, so this is what the program means serially.
 * A program that fails even alone reports null and changes nothing.
 *
 * ```ts
 * serial: runAlone(itemsSchema, program) // (state, args, { id }) => result
 * ```
 */
export function runAlone<Db, A>(schema: Schema, program: Program<Db, A>): (state: SerialState<Db>, args: A, ctx: { readonly id: TxId }) => OperationResult {
  const engine = modelEngine(schema);
  return (state, args, { id }) => {
    engine.reset(state as unknown as Tables, 'serializable');
    const run = program(createTx(id), args);
    let next = run.next();
    try {
      while (!next.done) {
        const [event] = engine.step(id, next.value);
        if (event.kind !== 'completed') throw new Error('a transaction running alone cannot block');
        next = run.next(event.result);
      }
    } catch (e) {
      if (!(e instanceof StatementFailure)) throw e;
      engine.abandon(id);
      return null;
    }
    const tables = engine.tables();
    for (const name of Object.keys(state) as (keyof Db)[]) {
      const rows = state[name];
      rows.splice(0, rows.length, ...(tables[name as string] as Db[keyof Db][]));
    }
    return next.value;
  };
}
