import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { ConflictUpdate, DbError, LockMode, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Upserts (issue #13 item 5), `INSERT ... ON CONFLICT (columns) DO UPDATE
 * SET ... [WHERE ...] RETURNING *`, run step by step on the model and on
 * PostgreSQL, each step's events asserted exactly on both sides (the same on
 * PostgreSQL 15, with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  t: { columns: { id: 'int', k: 'int', v: 'int' }, primaryKey: ['id'], unique: [['k']] },
});
type Row = DatabaseOf<typeof schema>['t'];

const seed: Tables = {
  t: [
    { id: 1, k: 10, v: 100 },
    { id: 2, k: 20, v: 200 },
    { id: 3, k: 30, v: 300 },
  ],
};
const [row1, row2, row3] = seed.t as Row[];

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
/** `insert into t values (...) on conflict (k) do update set v = t.v + excluded.v`, or the SET list and target given. */
const upsert = (rows: Row[], onConflict: Partial<ConflictUpdate<Row>> = {}): Statement => ({
  kind: 'insert',
  table: 't',
  rows,
  onConflict: { columns: ['k'], update: { v: { add: 1 } }, ...onConflict },
});
const insert = (row: Row): Statement => ({ kind: 'insert', table: 't', rows: [row] });
const select = (id: number, lock?: LockMode): Statement => (lock ? { kind: 'select', table: 't', where: { id }, lock } : { kind: 'select', table: 't', where: { id } });
const update = (id: number, set: Partial<Row>): Statement => ({ kind: 'update', table: 't', where: { id }, set });
const remove = (id: number): Statement => ({ kind: 'delete', table: 't', where: { id } });
const concurrentUpdate: DbError = { code: '40001', message: 'could not serialize access due to concurrent update' };
const concurrentDelete: DbError = { code: '40001', message: 'could not serialize access due to concurrent delete' };
const secondTime: DbError = { code: '21000', message: 'ON CONFLICT DO UPDATE command cannot affect row a second time' };
const deadlock: DbError = { code: '40P01', message: 'deadlock detected' };
const ssiFailure: DbError = { code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' };

describe('upserts under read committed, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('inserts a new key, updates an existing one (increments, excluded values, constants), returning the rows in order', async () => {
    await both.rows(1, upsert([{ id: 4, k: 40, v: 1 }, { id: 5, k: 10, v: 7 }]), [{ id: 4, k: 40, v: 1 }, { ...row1, v: 101 }]);
    await both.rows(1, upsert([{ id: 6, k: 20, v: 7 }], { update: { v: { excluded: 'v' } } }), [{ ...row2, v: 7 }]);
    await both.rows(1, upsert([{ id: 3, k: 99, v: 9 }], { columns: ['id'], update: { k: { excluded: 'k' }, v: 0 } }), [{ id: 3, k: 99, v: 0 }]);
    await both.rows(1, commit, []);
    await both.tables({ t: [{ ...row1, v: 101 }, { ...row2, v: 7 }, { id: 3, k: 99, v: 0 }, { id: 4, k: 40, v: 1 }] });
  });

  it('a WHERE the existing row fails leaves it, not returned, but locked', async () => {
    await both.rows(1, upsert([{ id: 5, k: 10, v: 7 }, { id: 6, k: 20, v: 7 }], { where: { v: { gte: 150 } } }), [{ ...row2, v: 201 }]);
    await both.expect(2, update(1, { v: 0 }), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...row1, v: 0 }])]);
    await both.rows(2, commit, []);
  });

  it('a row inserted by a transaction still running: the upsert waits, then updates it (committed) or inserts (rolled back)', async () => {
    await both.rows(2, insert({ id: 4, k: 40, v: 1 }), [{ id: 4, k: 40, v: 1 }]);
    await both.expect(1, upsert([{ id: 5, k: 40, v: 5 }]), [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, [{ id: 4, k: 40, v: 2 }]), completed(2, [])]);
    await both.rows(1, commit, []);
    await both.rows(2, insert({ id: 6, k: 60, v: 1 }), [{ id: 6, k: 60, v: 1 }]);
    await both.expect(1, upsert([{ id: 7, k: 60, v: 5 }]), [blocked(1, [2])]);
    await both.expect(2, rollback, [completed(1, [{ id: 7, k: 60, v: 5 }]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('a row updated by a transaction still running: the upsert waits, then updates the newest version; a key changed away, or a delete, and it inserts', async () => {
    await both.rows(2, update(1, { v: 5 }), [{ ...row1, v: 5 }]);
    await both.expect(1, upsert([{ id: 5, k: 10, v: 0 }]), [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, [{ ...row1, v: 6 }]), completed(2, [])]);
    await both.rows(1, commit, []);
    await both.rows(2, update(2, { k: 21 }), [{ ...row2, k: 21 }]);
    await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, [{ id: 5, k: 20, v: 0 }]), completed(2, [])]);
    await both.rows(1, commit, []);
    await both.rows(2, remove(3), [row3]);
    await both.expect(1, upsert([{ id: 6, k: 30, v: 0 }]), [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, [{ id: 6, k: 30, v: 0 }]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('a row locked FOR UPDATE: the upsert waits for the lock; its holder updates the row, and the upsert updates the newest version; deletes it, and it inserts', async () => {
    await both.rows(2, select(1, 'update'), [row1]);
    await both.expect(1, upsert([{ id: 5, k: 10, v: 0 }]), [blocked(1, [2])]);
    await both.rows(2, update(1, { v: 5 }), [{ ...row1, v: 5 }]);
    await both.expect(2, commit, [completed(1, [{ ...row1, v: 6 }]), completed(2, [])]);
    await both.rows(1, commit, []);
    await both.rows(2, select(2, 'update'), [row2]);
    await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
    await both.rows(2, remove(2), [row2]);
    await both.expect(2, commit, [completed(1, [{ id: 5, k: 20, v: 0 }]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('locks FOR NO KEY UPDATE (a FOR KEY SHARE holder does not stop it), or FOR UPDATE when the SET list names a key column, even unchanged', async () => {
    await both.rows(2, select(1, 'key-share'), [row1]);
    await both.rows(1, upsert([{ id: 5, k: 10, v: 0 }]), [{ ...row1, v: 101 }]);
    await both.expect(3, upsert([{ id: 5, k: 10, v: 0 }], { update: { k: { excluded: 'k' } } }), [blocked(3, [1])]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [completed(2, []), completed(3, [{ ...row1, v: 101 }])]);
    await both.expect(4, select(1, 'key-share'), [blocked(4, [3])]);
    await both.expect(3, commit, [completed(3, []), completed(4, [{ ...row1, v: 101 }])]);
    await both.rows(4, commit, []);
  });

  it('two upserts of each other\'s rows in opposite orders deadlock; the one closing the cycle fails with 40P01', async () => {
    await both.rows(1, upsert([{ id: 5, k: 10, v: 0 }]), [{ ...row1, v: 101 }]);
    await both.rows(2, upsert([{ id: 5, k: 20, v: 0 }]), [{ ...row2, v: 201 }]);
    await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
    await both.expect(2, upsert([{ id: 5, k: 10, v: 0 }]), [completed(1, [{ ...row2, v: 201 }]), failed(2, deadlock)]);
    await both.rows(1, commit, []);
  });

  it('a statement of several rows waits at the second, keeping the first; ROLLBACK TO a savepoint gives back what it locked and wrote', async () => {
    await both.rows(2, select(2, 'update'), [row2]);
    await both.rows(1, { kind: 'savepoint', name: 'a' }, []);
    await both.expect(1, upsert([{ id: 5, k: 10, v: 0 }, { id: 6, k: 20, v: 0 }]), [blocked(1, [2])]);
    await both.expect(3, update(1, { v: 0 }), [blocked(3, [1])]);
    await both.expect(2, commit, [completed(1, [{ ...row1, v: 101 }, { ...row2, v: 201 }]), completed(2, [])]);
    await both.expect(1, { kind: 'rollback-to', name: 'a' }, [completed(1, []), completed(3, [{ ...row1, v: 0 }])]);
    await both.rows(3, commit, []);
    await both.rows(1, select(2), [row2]);
    await both.rows(1, commit, []);
    await both.tables({ t: [{ ...row1, v: 0 }, row2, row3] });
  });

  it('two proposed rows with one key, or the key of a row the statement updated: 21000', async () => {
    await both.expect(1, upsert([{ id: 4, k: 40, v: 1 }, { id: 5, k: 40, v: 2 }]), [failed(1, secondTime)]);
    await both.rows(1, rollback, []);
    await both.expect(1, upsert([{ id: 4, k: 10, v: 1 }, { id: 5, k: 10, v: 2 }]), [failed(1, secondTime)]);
    await both.rows(1, rollback, []);
    await both.rows(1, upsert([{ id: 4, k: 40, v: 1 }]), [{ id: 4, k: 40, v: 1 }]);
    await both.rows(1, upsert([{ id: 5, k: 40, v: 1 }]), [{ id: 4, k: 40, v: 2 }]);
    await both.rows(1, commit, []);
  });

  it('an increment out of range fails with 22003 after the lock wait, not before; a SET constant out of range when the statement is bound', async () => {
    await both.rows(2, select(1, 'update'), [row1]);
    await both.expect(1, upsert([{ id: 5, k: 10, v: 0 }], { update: { v: { add: 2147483600 } } }), [blocked(1, [2])]);
    await both.expect(2, commit, [failed(1, { code: '22003', message: 'integer out of range' }), completed(2, [])]);
    await both.expect(3, upsert([{ id: 5, k: 10, v: 0 }], { update: { v: 2 ** 31 } }), [failed(3, { code: '22003', message: 'value "2147483648" is out of range for type integer' })]);
  });

  it('a speculative insertion that waited at the primary key and finds its key taken meanwhile goes back and updates that row', async () => {
    await both.rows(2, insert({ id: 4, k: 50, v: 1 }), [{ id: 4, k: 50, v: 1 }]);
    await both.expect(1, upsert([{ id: 4, k: 40, v: 1 }]), [blocked(1, [2])]);
    await both.rows(3, insert({ id: 6, k: 40, v: 6 }), [{ id: 6, k: 40, v: 6 }]);
    await both.rows(3, commit, []);
    await both.expect(2, rollback, [completed(1, [{ id: 6, k: 40, v: 7 }]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('a key taken by a transaction still running in the other unique index: waits, then 23505 (committed)', async () => {
    await both.rows(2, insert({ id: 4, k: 50, v: 1 }), [{ id: 4, k: 50, v: 1 }]);
    await both.expect(1, upsert([{ id: 4, k: 40, v: 1 }]), [blocked(1, [2])]);
    await both.expect(2, commit, [failed(1, { code: '23505', message: 'duplicate key value violates unique constraint "t_pkey"' }), completed(2, [])]);
  });
});

describe('upserts under repeatable read and serializable, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
  });

  for (const isolation of ['repeatable-read', 'serializable'] as const) {
    it(`${isolation}: a conflicting row committed after the snapshot is 40001, whether it was inserted, updated, or only locked and updated`, async () => {
      await both.reset(isolation);
      await both.rows(1, select(3), [row3]);
      await both.rows(2, insert({ id: 4, k: 40, v: 1 }), [{ id: 4, k: 40, v: 1 }]);
      await both.rows(2, update(1, { v: 5 }), [{ ...row1, v: 5 }]);
      await both.rows(2, commit, []);
      await both.expect(1, upsert([{ id: 5, k: 40, v: 0 }]), [failed(1, concurrentUpdate)]);
      await both.rows(1, rollback, []);
      await both.rows(1, select(3), [row3]);
      await both.rows(2, update(1, { v: 6 }), [{ ...row1, v: 6 }]);
      await both.rows(2, commit, []);
      await both.expect(1, upsert([{ id: 5, k: 10, v: 0 }]), [failed(1, concurrentUpdate)]);
      await both.rows(1, rollback, []);
      await both.rows(1, select(3), [row3]);
      await both.rows(2, select(2, 'update'), [row2]);
      await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
      await both.rows(2, update(2, { v: 5 }), [{ ...row2, v: 5 }]);
      await both.expect(2, commit, [failed(1, concurrentUpdate), completed(2, [])]);
      await both.rows(1, rollback, []);
    });

    it(`${isolation}: a row locked and then deleted is 40001 "concurrent delete"; a row whose delete committed before is simply inserted`, async () => {
      await both.reset(isolation);
      await both.rows(1, select(3), [row3]);
      await both.rows(2, select(2, 'update'), [row2]);
      await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
      await both.rows(2, remove(2), [row2]);
      await both.expect(2, commit, [failed(1, concurrentDelete), completed(2, [])]);
      await both.rows(1, rollback, []);
      await both.rows(1, select(3), [row3]);
      await both.rows(2, remove(1), [row1]);
      await both.rows(2, commit, []);
      await both.rows(1, upsert([{ id: 1, k: 10, v: 0 }]), [{ id: 1, k: 10, v: 0 }]);
      await both.rows(1, commit, []);
    });

    it(`${isolation}: a row the snapshot sees is updated; one updated by a transaction still running is waited for, then 40001`, async () => {
      await both.reset(isolation);
      await both.rows(1, upsert([{ id: 5, k: 10, v: 0 }]), [{ ...row1, v: 101 }]);
      await both.rows(2, update(2, { v: 5 }), [{ ...row2, v: 5 }]);
      await both.expect(1, upsert([{ id: 5, k: 20, v: 0 }]), [blocked(1, [2])]);
      await both.expect(2, commit, [failed(1, concurrentUpdate), completed(2, [])]);
    });
  }

  it('serializable: two upserts each of the row the other read (write skew) fail one with 40001', async () => {
    await both.reset('serializable');
    await both.rows(1, select(2), [row2]);
    await both.rows(2, select(1), [row1]);
    await both.rows(1, upsert([{ id: 5, k: 10, v: 0 }]), [{ ...row1, v: 101 }]);
    await both.rows(2, upsert([{ id: 5, k: 20, v: 0 }]), [{ ...row2, v: 201 }]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [failed(2, ssiFailure)]);
  });

  it('serializable: an upsert that inserts conflicts with a predicate read of the table; one that updates, with a read of the row', async () => {
    await both.reset('serializable');
    await both.rows(1, { kind: 'select', table: 't', where: { v: { gte: 1000 } } }, []);
    await both.rows(2, { kind: 'select', table: 't', where: { v: { gte: 1000 } } }, []);
    await both.rows(1, upsert([{ id: 4, k: 40, v: 1000 }]), [{ id: 4, k: 40, v: 1000 }]);
    await both.rows(2, upsert([{ id: 5, k: 50, v: 1000 }]), [{ id: 5, k: 50, v: 1000 }]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [failed(2, ssiFailure)]);
  });
});
