import { describe, expectTypeOf, test } from 'vitest';
import type { Tx, TxGenerator } from '../../src/model/program.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { NumberColumn, SelectStatement } from '../../src/model/statement.ts';

/**
 * Aggregates in the types: `tx.count` yields a number, `tx.sum` a number or
 * null and takes only a number column. Each `@ts-expect-error` fails this
 * file if the line below it compiles.
 */
const ledger = defineSchema({
  lots: { columns: { id: 'int', owner: 'int', remaining: { type: 'int', nullable: true }, big: 'bigint', note: 'text', open: 'bool' }, primaryKey: ['id'] },
  spends: { columns: { id: 'int', user: 'int', amount: 'int' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof ledger>;

describe('aggregates', () => {
  test('count yields a number, sum a number or null; sum takes an int or bigint column only', () => {
    expectTypeOf<Tx<Db>['count']>().returns.toEqualTypeOf<TxGenerator<number>>();
    expectTypeOf<Tx<Db>['sum']>().returns.toEqualTypeOf<TxGenerator<number | null>>();
    expectTypeOf<NumberColumn<Db['lots']>>().toEqualTypeOf<'id' | 'owner' | 'remaining' | 'big'>();
    const summed: SelectStatement<Db, 'lots'> = { kind: 'select', table: 'lots', where: {}, aggregate: { sum: 'big' } };
    // @ts-expect-error: a bool column is not summed
    const wrong: SelectStatement<Db, 'lots'> = { kind: 'select', table: 'lots', where: {}, aggregate: { sum: 'open' } };
    expectTypeOf(summed).not.toBeAny();
    expectTypeOf(wrong).not.toBeAny();
    function* program(tx: Tx<Db>) {
      const n: number = yield* tx.count('lots', { owner: 1 });
      const total: number | null = yield* tx.sum('lots', 'remaining', { owner: 1, open: true });
      // @ts-expect-error: a text column is not summed
      yield* tx.sum('lots', 'note', {});
      // @ts-expect-error: a misspelt column
      yield* tx.count('lots', { ownr: 1 });
      return yield* tx.commit({ n, total });
    }
    expectTypeOf(program).toBeFunction();
  });

  test('docs/api.md: a sum and a count', () => {
    function* spend(tx: Tx<Db>, a: { user: number; amount: number }) {
      const held = (yield* tx.sum('lots', 'remaining', { owner: a.user })) ?? 0; // sum of no rows is null
      if (held < a.amount) return yield* tx.rollback('insufficient');
      yield* tx.insert('spends', { id: tx.id, user: a.user, amount: a.amount });
      return yield* tx.commit(yield* tx.count('spends', { user: a.user }));
    }
    expectTypeOf(spend).toBeFunction();
  });
});
