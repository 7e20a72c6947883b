import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { Aggregate, DbError, SelectStatement, Statement, Where } from '../../src/model/statement.ts';
import { failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Aggregates (issue #13 item 8): `count(*)` and `sum(column)` over a where
 * clause, with PostgreSQL's visibility at each isolation level and its
 * SIREAD locks under serializable, run step by step on the model and on
 * PostgreSQL (15 with DATABASE_URL, and the embedded 17), each step's
 * events asserted exactly on both sides.
 */
const schema = defineSchema({
  lots: { columns: { id: 'int', owner: 'int', amount: { type: 'int', nullable: true }, big: 'bigint' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;

const seed: Tables = {
  lots: [
    { id: 1, owner: 1, amount: 2147483647, big: 2 ** 62 },
    { id: 2, owner: 1, amount: 2147483647, big: 2 ** 62 },
    { id: 3, owner: 2, amount: null, big: 1 },
  ],
};

const Both = sideBySide(schema, seed);

const commit: Statement = { kind: 'commit' };
const aggregate = (a: Aggregate<Db['lots']>, where: Where<Db['lots']>): SelectStatement<Db, 'lots'> => ({ kind: 'select', table: 'lots', where, aggregate: a });
const count = (where: Where<Db['lots']>) => aggregate('count', where);
const sum = (column: 'amount' | 'big' | 'id', where: Where<Db['lots']>) => aggregate({ sum: column }, where);
const insertLot = (id: number, owner: number, amount: number | null): Statement => ({ kind: 'insert', table: 'lots', rows: [{ id, owner, amount, big: 0 }] });
const ssiFailure: DbError = { code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' };

describe('count(*) and sum(column), on the model and on PostgreSQL', () => {
  let both: SideBySide;
  beforeEach(async () => {
    both = new Both();
  });

  it('count is a number; sum skips nulls, is null over no rows or only nulls, and past 2^31 and 2^53 is what PostgreSQL computes (bigint, numeric)', async () => {
    await both.reset('read-committed');
    await both.rows(1, count({}), [{ count: 3 }]);
    await both.rows(1, count({ owner: 9 }), [{ count: 0 }]);
    await both.rows(1, sum('amount', { owner: 9 }), [{ sum: null }]);
    await both.rows(1, sum('amount', { owner: 2 }), [{ sum: null }]);
    await both.rows(1, sum('amount', {}), [{ sum: 4294967294 }]);
    await both.rows(1, sum('big', { owner: 1 }), [{ sum: 2 ** 63 }]);
    await both.rows(1, sum('id', { id: { in: [1, 3] } }), [{ sum: 4 }]);
    await both.rows(1, commit, []);
  });

  it('read committed: each aggregate sees what was committed before it, its own writes included, not another’s uncommitted ones', async () => {
    await both.reset('read-committed');
    await both.rows(1, insertLot(4, 1, 5), [{ id: 4, owner: 1, amount: 5, big: 0 }]);
    await both.rows(1, count({ owner: 1 }), [{ count: 3 }]);
    await both.rows(2, count({ owner: 1 }), [{ count: 2 }]);
    await both.rows(2, sum('amount', { owner: 2 }), [{ sum: null }]);
    await both.rows(1, { kind: 'update', table: 'lots', where: { id: 3 }, set: { amount: 7 } }, [{ id: 3, owner: 2, amount: 7, big: 1 }]);
    await both.rows(1, commit, []);
    await both.rows(2, count({ owner: 1 }), [{ count: 3 }]);
    await both.rows(2, sum('amount', { owner: 2 }), [{ sum: 7 }]);
    await both.rows(2, commit, []);
  });

  it('repeatable read: the aggregates of a transaction read its snapshot, before and after another commits', async () => {
    await both.reset('repeatable-read');
    await both.rows(2, count({ owner: 1 }), [{ count: 2 }]);
    await both.rows(1, { kind: 'delete', table: 'lots', where: { id: 1 } }, [seed.lots[0]]);
    await both.rows(1, commit, []);
    await both.rows(2, count({ owner: 1 }), [{ count: 2 }]);
    await both.rows(2, sum('big', { owner: 1 }), [{ sum: 2 ** 63 }]);
    await both.rows(2, commit, []);
    await both.rows(3, count({ owner: 1 }), [{ count: 1 }]);
    await both.rows(3, commit, []);
  });

  it('serializable: two ledgers that check a sum over a predicate, then insert into it, are a write skew; one fails with 40001', async () => {
    await both.reset('serializable');
    await both.rows(1, sum('amount', { owner: 2 }), [{ sum: null }]);
    await both.rows(2, sum('amount', { owner: 2 }), [{ sum: null }]);
    await both.rows(1, insertLot(4, 2, 5), [{ id: 4, owner: 2, amount: 5, big: 0 }]);
    await both.rows(2, insertLot(5, 2, 5), [{ id: 5, owner: 2, amount: 5, big: 0 }]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [failed(2, ssiFailure)]);
  });

  it('serializable: a count by key locks that key only (an index scan), so reads and writes of other rows make no cycle; the same by a predicate (a sequential scan) locks the relation', async () => {
    const bump = (id: number): Statement => ({ kind: 'update', table: 'lots', where: { id }, set: { owner: 3 } });
    await both.reset('serializable');
    await both.rows(1, count({ id: 1 }), [{ count: 1 }]);
    await both.rows(2, count({ id: 3 }), [{ count: 1 }]);
    await both.rows(1, bump(3), [{ ...seed.lots[2], owner: 3 }]);
    await both.rows(2, bump(2), [{ ...seed.lots[1], owner: 3 }]);
    await both.rows(1, commit, []);
    await both.rows(2, commit, []);

    await both.reset('serializable');
    await both.rows(1, count({ owner: 1 }), [{ count: 2 }]);
    await both.rows(2, count({ owner: 2 }), [{ count: 1 }]);
    await both.rows(1, bump(3), [{ ...seed.lots[2], owner: 3 }]);
    await both.rows(2, bump(2), [{ ...seed.lots[1], owner: 3 }]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [failed(2, ssiFailure)]);
  });
});
