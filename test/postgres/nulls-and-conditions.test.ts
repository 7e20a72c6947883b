import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { DbError, SelectStatement, Statement, Where } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * NULL, bigint, IN lists, ranges and the place of NULLs in an ORDER BY, run
 * step by step on the model and on PostgreSQL, each step's events asserted
 * exactly on both sides (run with DATABASE_URL for PostgreSQL 15, without it
 * for the embedded 17: the same events on both).
 */
const schema = defineSchema({
  seats: {
    columns: { id: 'int', event: 'int', holder: { type: 'int', nullable: true }, note: { type: 'text', nullable: true } },
    primaryKey: ['id'],
    unique: [['holder']],
  },
  counters: { columns: { id: 'int', n: 'bigint', m: { type: 'bigint', nullable: true }, small: 'int' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;
type S = Statement<Db>;

const seed: Tables = {
  seats: [
    { id: 1, event: 1, holder: null, note: 'aisle' },
    { id: 2, event: 1, holder: 7, note: null },
    { id: 3, event: 2, holder: null, note: null },
    { id: 4, event: 3, holder: 5, note: 'front' },
  ],
  counters: [
    { id: 1, n: 3_000_000_000, m: null, small: 0 },
    { id: 2, n: 2 ** 62, m: 2 ** 53 - 1, small: 2147483647 },
  ],
};

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: S = { kind: 'commit' };
const rollback: S = { kind: 'rollback' };
const seats = (where: Where<Db['seats']>, options: Pick<SelectStatement<Db, 'seats'>, 'orderBy' | 'limit' | 'lock'> = {}): SelectStatement<Db, 'seats'> => ({
  kind: 'select',
  table: 'seats',
  where,
  ...options,
});
const [seat1, seat2, seat3, seat4] = seed.seats;
const notNull = (column: string, relation: string): DbError => ({ code: '23502', message: `null value in column "${column}" of relation "${relation}" violates not-null constraint` });
const inFailedTransaction: DbError = { code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' };

describe('NULL, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('IS NULL and IS NOT NULL; an equality, ne, a bound or an IN list never matches a null', async () => {
    await both.rows(1, seats({ holder: null }), [seat1, seat3]);
    await both.rows(1, seats({ holder: { ne: null } }), [seat2, seat4]);
    await both.rows(1, seats({ holder: 7 }), [seat2]);
    await both.rows(1, seats({ holder: { ne: 7 } }), [seat4]);
    await both.rows(1, seats({ holder: { lt: 100 } }), [seat2, seat4]);
    await both.rows(1, seats({ holder: { in: [5, null] } }), [seat4]);
    await both.rows(1, seats({ note: null, holder: null }), [seat3]);
    // Comparisons with null itself match nothing; IS NULL on a NOT NULL column is fine SQL that matches nothing.
    await both.rows(1, seats({ holder: { gte: null } }), []);
    await both.rows(1, seats({ holder: { in: [null] } }), []);
    await both.rows(1, seats({ event: null }), []);
    await both.rows(1, seats({ event: { ne: null } }), seed.seats);
    await both.rows(1, commit, []);
  });

  it('NULLs are distinct in a unique index: two transactions insert a null holder without waiting; the same holder waits, then 23505', async () => {
    const row5 = { id: 5, event: 1, holder: null, note: null };
    const row6 = { id: 6, event: 1, holder: null, note: null };
    await both.rows(1, { kind: 'insert', table: 'seats', rows: [row5] }, [row5]);
    await both.rows(2, { kind: 'insert', table: 'seats', rows: [row6] }, [row6]);
    await both.rows(1, { kind: 'update', table: 'seats', where: { id: 5 }, set: { holder: 9 } }, [{ ...row5, holder: 9 }]);
    await both.expect(2, { kind: 'update', table: 'seats', where: { id: 6 }, set: { holder: 9 } }, [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), failed(2, { code: '23505', message: 'duplicate key value violates unique constraint "seats_holder_key"' })]);
    await both.rows(2, rollback, []);
    // ON CONFLICT DO NOTHING finds no conflict in a null key.
    await both.rows(3, { kind: 'insert', table: 'seats', rows: [row6], onConflict: 'nothing' }, [row6]);
    await both.rows(3, commit, []);
    await both.tables({ seats: [...seed.seats, { ...row5, holder: 9 }, row6], counters: seed.counters });
  });

  it('setting a column to null, and an increment of null is null', async () => {
    await both.rows(1, { kind: 'update', table: 'seats', where: { id: 2 }, set: { holder: null, note: 'freed' } }, [{ ...seat2, holder: null, note: 'freed' }]);
    await both.rows(1, { kind: 'update', table: 'seats', where: { holder: null, event: 1 }, set: { holder: { add: 1 } } }, [
      { ...seat1, holder: null },
      { ...seat2, holder: null, note: 'freed' },
    ]);
    await both.rows(1, { kind: 'update', table: 'counters', where: { id: 1 }, set: { m: { add: 1 } } }, [seed.counters[0]]);
    await both.rows(1, commit, []);
  });

  it('a null in a NOT NULL column is 23502 with PostgreSQL’s message, in an insert or an update; the transaction is then aborted', async () => {
    await both.expect(1, { kind: 'insert', table: 'seats', rows: [{ id: 5, event: null as never, holder: null, note: null }] }, [failed(1, notNull('event', 'seats'))]);
    await both.expect(1, seats({}), [failed(1, inFailedTransaction)]);
    await both.rows(1, rollback, []);
    // The second row of a multi-row insert: the first was inserted, then the statement failed.
    await both.expect(2, { kind: 'insert', table: 'seats', rows: [{ id: 5, event: 1, holder: null, note: null }, { id: 6, event: null as never, holder: null, note: null }] }, [
      failed(2, notNull('event', 'seats')),
    ]);
    await both.rows(2, rollback, []);
    await both.expect(3, { kind: 'update', table: 'counters', where: { id: { gte: 1 } }, set: { n: null as never } }, [failed(3, notNull('n', 'counters'))]);
    await both.rows(3, rollback, []);
    await both.tables(seed);
  });

  it('23502 and 22003 come before the row lock: an update of a locked row that writes a null or overflows fails without waiting', async () => {
    await both.rows(1, seats({ id: 1 }, { lock: 'update' }), [seat1]);
    await both.expect(2, { kind: 'update', table: 'seats', where: { id: 1 }, set: { event: null as never } }, [failed(2, notNull('event', 'seats'))]);
    await both.rows(2, rollback, []);
    await both.rows(1, { kind: 'select', table: 'counters', where: { id: 2 }, lock: 'update' }, [seed.counters[1]]);
    await both.expect(3, { kind: 'update', table: 'counters', where: { id: 2 }, set: { small: { add: 1 } } }, [failed(3, { code: '22003', message: 'integer out of range' })]);
    await both.rows(3, rollback, []);
    // A value an int cannot hold fails when PostgreSQL binds it, before the statement runs.
    await both.expect(4, { kind: 'update', table: 'counters', where: { id: 2 }, set: { small: 2 ** 31 } }, [
      failed(4, { code: '22003', message: 'value "2147483648" is out of range for type integer' }),
    ]);
    await both.rows(4, rollback, []);
    await both.rows(1, commit, []);
  });

  it('read committed: a waiter on a row whose holder became null goes on with the new version', async () => {
    await both.rows(1, { kind: 'update', table: 'seats', where: { id: 2 }, set: { holder: null } }, [{ ...seat2, holder: null }]);
    await both.expect(2, { kind: 'update', table: 'seats', where: { id: 2 }, set: { note: 'x' } }, [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...seat2, holder: null, note: 'x' }])]);
    await both.rows(2, commit, []);
  });
});

describe('bigint, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('holds values past 32 bits, and raises 22003 "bigint out of range" past 64', async () => {
    await both.rows(1, { kind: 'update', table: 'counters', where: { id: 1 }, set: { n: { add: 3_000_000_000 } } }, [{ ...seed.counters[0], n: 6_000_000_000 }]);
    await both.rows(1, { kind: 'select', table: 'counters', where: { n: { gt: 2 ** 32, lt: 2 ** 33 } } }, [{ ...seed.counters[0], n: 6_000_000_000 }]);
    await both.rows(1, { kind: 'insert', table: 'counters', rows: [{ id: 3, n: -(2 ** 63), m: 2 ** 53 - 1, small: 1 }] }, [{ id: 3, n: -(2 ** 63), m: 2 ** 53 - 1, small: 1 }]);
    await both.rows(1, { kind: 'select', table: 'counters', where: {}, orderBy: [['n', 'desc']], limit: 2 }, [seed.counters[1], { ...seed.counters[0], n: 6_000_000_000 }]);
    await both.rows(1, commit, []);
    await both.expect(2, { kind: 'update', table: 'counters', where: { id: 2 }, set: { n: { add: 2 ** 62 } } }, [failed(2, { code: '22003', message: 'bigint out of range' })]);
    await both.rows(2, rollback, []);
    await both.expect(2, { kind: 'update', table: 'counters', where: { id: 3 }, set: { n: { add: -1 } } }, [failed(2, { code: '22003', message: 'bigint out of range' })]);
    await both.rows(2, rollback, []);
    await both.rows(2, { kind: 'update', table: 'counters', where: { id: 2 }, set: { m: { add: 2 ** 53 - 1 }, n: { add: -(2 ** 62) } } }, [{ id: 2, n: 0, m: 2 ** 54 - 2, small: 2147483647 }]);
    await both.rows(2, commit, []);
  });
});

describe('IN lists, ranges and ORDER BY with NULLs, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('an IN list and a range select, update and delete their rows', async () => {
    await both.rows(1, seats({ id: { in: [4, 1, 9] } }), [seat1, seat4]);
    await both.rows(1, seats({ id: { gt: 1, lte: 3 } }), [seat2, seat3]);
    await both.rows(1, seats({ event: { gte: 2, lt: 3 }, id: { in: [3, 4] } }), [seat3]);
    await both.rows(1, { kind: 'update', table: 'seats', where: { event: { in: [2, 3] } }, set: { event: { add: 10 } } }, [
      { ...seat3, event: 12 },
      { ...seat4, event: 13 },
    ]);
    await both.rows(1, { kind: 'delete', table: 'seats', where: { id: { gte: 2, lt: 4 } } }, [seat2, { ...seat3, event: 12 }]);
    await both.rows(1, commit, []);
    await both.tables({ seats: [seat1, { ...seat4, event: 13 }], counters: seed.counters });
  });

  it('NULLs sort last ascending and first descending, before the primary key breaks ties', async () => {
    await both.rows(1, seats({}, { orderBy: [['holder', 'asc']] }), [seat4, seat2, seat1, seat3]);
    await both.rows(1, seats({}, { orderBy: [['holder', 'desc']] }), [seat1, seat3, seat2, seat4]);
    await both.rows(1, seats({}, { orderBy: [['note', 'desc'], ['holder', 'asc']], limit: 3 }), [seat2, seat3, seat4]);
    await both.rows(1, seats({ event: { lte: 2 } }, { orderBy: [['holder', 'asc']], limit: 2, lock: 'update' }), [seat2, seat1]);
    await both.rows(1, commit, []);
  });

  it('a locking read by an IN list waits for a locked row; after the holder commits it rechecks the list', async () => {
    await both.rows(1, { kind: 'update', table: 'seats', where: { id: 2 }, set: { holder: 8 } }, [{ ...seat2, holder: 8 }]);
    await both.expect(2, seats({ holder: { in: [5, 7] } }, { lock: 'update' }), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [seat4])]);
    await both.rows(2, commit, []);
  });
});
