import { describe, expectTypeOf, test } from 'vitest';
import type { Tx } from '../../src/model/program.ts';
import { defineSchema, type DatabaseOf, type RowOf, type ValueOf } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

/**
 * Nullable columns and bigint in the row types: `{ type, nullable: true }`
 * adds `| null` to the column's type, the short forms and `nullable: false`
 * stay NOT NULL, and a bigint is a number. Each `@ts-expect-error` fails this
 * file if the line below it compiles.
 */
const schema = defineSchema({
  seats: {
    columns: { id: 'int', event: 'bigint', holder: { type: 'int', nullable: true }, note: { type: 'text', nullable: true }, paid: { type: 'bool', nullable: false }, big: { type: 'bigint', nullable: true } },
    primaryKey: ['id'],
    unique: [['holder']],
  },
});
type Db = DatabaseOf<typeof schema>;
type Seat = { id: number; event: number; holder: number | null; note: string | null; paid: boolean; big: number | null };

describe('nullable columns in the row types', () => {
  test('a nullable column holds its type or null; the others never null', () => {
    expectTypeOf<Db>().toEqualTypeOf<{ readonly seats: Seat }>();
    expectTypeOf<RowOf<typeof schema.seats>>().toEqualTypeOf<Seat>();
    expectTypeOf<ValueOf<'bigint'>>().toEqualTypeOf<number>();
    expectTypeOf<ValueOf<{ type: 'text'; nullable: true }>>().toEqualTypeOf<string | null>();
    expectTypeOf<ValueOf<{ type: 'bool' }>>().toEqualTypeOf<boolean>();
  });

  test('rows read are typed with their nulls', () => {
    function* program(tx: Tx<Db>) {
      const rows = yield* tx.select('seats', { holder: null });
      expectTypeOf(rows).toEqualTypeOf<Seat[]>();
      expectTypeOf(rows[0].holder).toEqualTypeOf<number | null>();
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('IS NULL, IS NOT NULL, null in a comparison, setting null and inserting null compile', () => {
    function* program(tx: Tx<Db>) {
      yield* tx.select('seats', { holder: null, note: { ne: null } });
      yield* tx.select('seats', { holder: { in: [1, null] }, big: { gte: 3_000_000_000, lt: 2 ** 40 } });
      // A null literal for a NOT NULL column in a where clause is fine SQL (it matches nothing).
      yield* tx.select('seats', { id: null });
      yield* tx.update('seats', { id: 1 }, { holder: null, note: null, big: { add: 1 } });
      yield* tx.insert('seats', { id: 2, event: 1, holder: null, note: null, paid: false, big: null });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('a null for a NOT NULL column in a row or a set list does not compile', () => {
    function* program(tx: Tx<Db>) {
      // @ts-expect-error: event is NOT NULL
      yield* tx.insert('seats', { id: 2, event: null, holder: null, note: null, paid: false, big: null });
      // @ts-expect-error: paid is NOT NULL (nullable: false)
      yield* tx.update('seats', { id: 1 }, { paid: null });
      // @ts-expect-error: an increment is a number
      yield* tx.update('seats', { id: 1 }, { big: { add: null } });
      // @ts-expect-error: holder is an int or null
      yield* tx.select('seats', { holder: 'x' });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('docs/api.md: picking a free seat', () => {
    const seating = defineSchema({
      seats: { columns: { id: 'int', event: 'bigint', holder: { type: 'int', nullable: true } }, primaryKey: ['id'], unique: [['holder']] },
    });
    expectTypeOf<DatabaseOf<typeof seating>['seats']>().toEqualTypeOf<{ id: number; event: number; holder: number | null }>();
    function* pickSeat(tx: Tx<DatabaseOf<typeof seating>>, a: { guest: number }) {
      const [free] = yield* tx.select('seats', { holder: null, event: { in: [1, 2] } }, { orderBy: [['event', 'asc']], limit: 1, lock: 'update', skipLocked: true });
      if (!free) return yield* tx.rollback('sold-out');
      yield* tx.update('seats', { id: free.id, holder: null }, { holder: a.guest });
      return yield* tx.commit(free.id);
    }
    expectTypeOf(pickSeat).toBeFunction();
  });

  test('locking reads take the four lock strengths, with SKIP LOCKED or NOWAIT', () => {
    function* program(tx: Tx<Db>) {
      yield* tx.select('seats', { id: 1 }, { lock: 'key-share' });
      yield* tx.select('seats', { id: 1 }, { lock: 'no-key-update', nowait: true });
      yield* tx.selectOne('seats', { holder: null }, { lock: 'update', skipLocked: true });
      // @ts-expect-error: no such lock
      yield* tx.select('seats', { id: 1 }, { lock: 'exclusive' });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('a statement written as a value takes the nulls too', () => {
    const s = { kind: 'update', table: 'seats', where: { holder: { ne: null } }, set: { holder: null } } satisfies Statement<Db>;
    expectTypeOf(s).toExtend<Statement<Db>>();
  });
});
