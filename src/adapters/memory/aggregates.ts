import type { Row } from '../../model/schema.ts';
import type { Aggregate } from '../../model/statement.ts';

/**
 * The one row an aggregate select returns over the rows it read, as
 * PostgreSQL computes it: `count(*)` counts them (`{ count: 2 }`);
 * `sum(column)` adds the column's non-null values exactly (PostgreSQL sums
 * an int column as a bigint and a bigint column as a numeric, so it never
 * overflows) and is null when there is none (`{ sum: null }`). A sum past
 * 2^53 is held as the nearest JavaScript number, which is what the postgres
 * adapter reads from PostgreSQL's digits.
 *
 * ```ts
 * aggregateRow({ sum: 'amount' }, [{ id: 1, amount: 5 }, { id: 2, amount: null }]); // { sum: 5 }
 * ```
 */
export function aggregateRow(aggregate: Aggregate, rows: readonly Row[]): Row {
  if (aggregate === 'count') return { count: rows.length };
  const column = aggregate.sum;
  let total: bigint | null = null;
  for (const row of rows) {
    const v = row[column];
    if (typeof v === 'number') total = (total ?? 0n) + BigInt(v);
  }
  return { sum: total === null ? null : Number(total) };
}
