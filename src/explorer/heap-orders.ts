import { foreignKeysOf, foreignKeysReferencing } from '../model/foreign-keys.ts';
import type { Schema } from '../model/schema.ts';
import type { Statement } from '../model/statement.ts';
import { heapOrder } from './footprint.ts';

/**
 * Which tables' heap order a search must keep: the order in which inserts
 * and updates took their line pointers (`heapOrder` in `footprint.ts`). Only
 * some statements can tell two heap orders apart:
 *
 * - a plain SELECT returns its rows sorted (ORDER BY, then the primary key)
 *   and aggregates them whatever their order;
 * - a plain INSERT (no ON CONFLICT) meets other row versions only in its
 *   unique-index checks, where at most one version with its key is live or
 *   in progress at a time (every later inserter of the key waits for it or
 *   fails), so the order the check walks the heap in finds the same one;
 * - everything else on a table may: an UPDATE or DELETE of several rows
 *   locks them in heap order, an upsert's arbiter check meets updated and
 *   deleted versions, foreign key checks and actions scan the other table.
 *   (A locking SELECT sorts its rows by key before it locks them, as the
 *   compiled SQL's ORDER BY makes PostgreSQL do; it is counted here anyway,
 *   which is conservative: it only costs schedules.)
 *
 * So a table whose statements are only plain SELECTs and plain INSERTs
 * (and that no foreign key involves) may have its heap writes reordered:
 * two inserts into it commute. Programs decide their statements as they
 * run, so the set is learnt: a table starts unordered unless a foreign key
 * involves it, and becomes ordered the first time a run submits any other
 * statement on it (`observe`); the search then starts again from scratch,
 * since its reduction so far relied on the order not mattering
 * (`exhaustive.ts`). That is sound because, up to the first such
 * statement, every step behaves the same whatever the table's heap order:
 * each equivalence class of runs cut there has an explored member, and
 * the member submits the same statement (its transaction got the same
 * results), so if any run meets one, some explored run does.
 */
export class HeapOrders {
  /** The heap-order pseudo-tables (`heapOrder(table)`) of the tables whose heap order no statement seen so far reads. */
  readonly unordered = new Set<string>();
  /** Set when a statement made a table ordered since the last `restart`. */
  changed = false;

  constructor(schema: Schema) {
    for (const table of Object.keys(schema)) {
      if (foreignKeysOf(schema, table).length === 0 && foreignKeysReferencing(schema, table).length === 0) this.unordered.add(heapOrder(table));
    }
  }

  /** A statement a run submitted: a table it may read the heap order of becomes ordered. */
  observe(statement: Statement): void {
    if (!('table' in statement) || typeof statement.table !== 'string') return;
    if (statement.kind === 'select' && statement.lock === undefined) return;
    if (statement.kind === 'insert' && statement.onConflict === undefined) return;
    if (this.unordered.delete(heapOrder(statement.table))) this.changed = true;
  }

  /** The search starts again with the tables ordered so far. */
  restart(): void {
    this.changed = false;
  }
}
