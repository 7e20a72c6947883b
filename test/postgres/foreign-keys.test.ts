import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { DbError, LockMode, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Foreign keys (issue #13 item 4): a child insert or a change of its
 * referencing columns checks the parent at the end of the statement FOR
 * KEY SHARE; deleting a parent, or changing its key, finds its children
 * (NO ACTION and RESTRICT fail with 23503, CASCADE deletes them); with the
 * waits and deadlocks these locks cause. Run step by step on the model and
 * on PostgreSQL, each step's events asserted exactly on both sides (the
 * same on PostgreSQL 15, with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  p: { columns: { id: 'int', k: 'int', v: 'int' }, primaryKey: ['id'], unique: [['k']] },
  c: {
    columns: { id: 'int', p: { type: 'int', nullable: true }, n: 'int' },
    primaryKey: ['id'],
    foreignKeys: [{ columns: ['p'], references: { table: 'p', columns: ['id'] } }],
  },
  d: { columns: { id: 'int', p: 'int' }, primaryKey: ['id'], foreignKeys: [{ columns: ['p'], references: { table: 'p', columns: ['id'] }, onDelete: 'cascade' }] },
  e: { columns: { id: 'int', k: 'int' }, primaryKey: ['id'], foreignKeys: [{ columns: ['k'], references: { table: 'p', columns: ['k'] }, onDelete: 'restrict' }] },
});
type Db = DatabaseOf<typeof schema>;

const seed: Tables = {
  p: [
    { id: 1, k: 10, v: 100 },
    { id: 2, k: 20, v: 200 },
    { id: 3, k: 30, v: 300 },
    { id: 4, k: 40, v: 400 },
  ],
  c: [{ id: 1, p: 1, n: 0 }],
  d: [
    { id: 1, p: 1 },
    { id: 2, p: 1 },
    { id: 3, p: 2 },
  ],
  e: [{ id: 1, k: 30 }],
};
const [p1, p2, p3, p4] = seed.p;

const Both = sideBySide(schema, seed);

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const insert = <T extends keyof Db & string>(table: T, row: Db[T]): Statement<Db> => ({ kind: 'insert', table, rows: [row] }) as Statement<Db>;
const lockP = (id: number, mode: LockMode): Statement<Db> => ({ kind: 'select', table: 'p', where: { id }, lock: mode });
const deleteP = (id: number): Statement<Db> => ({ kind: 'delete', table: 'p', where: { id } });
const updateP = (id: number, set: Partial<Db['p']>): Statement<Db> => ({ kind: 'update', table: 'p', where: { id }, set });
const childViolation = (table: string, constraint: string): DbError => ({ code: '23503', message: `insert or update on table "${table}" violates foreign key constraint "${constraint}"` });
const parentViolation = (constraint: string, table: string): DbError => ({ code: '23503', message: `update or delete on table "p" violates foreign key constraint "${constraint}" on table "${table}"` });
const concurrentUpdate: DbError = { code: '40001', message: 'could not serialize access due to concurrent update' };
const readWriteDependencies: DbError = { code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' };
const deadlock: DbError = { code: '40P01', message: 'deadlock detected' };
const line = (id: number, p: number | null, n = 0): Db['c'] => ({ id, p, n });

describe('foreign keys, on the model and on PostgreSQL', () => {
  let both: SideBySide;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('a child row needs its parent (23503 names the child table and the constraint); a null reference is not checked; a unique index may be referenced', async () => {
    await both.expect(1, insert('c', line(5, 9)), [failed(1, childViolation('c', 'c_p_fkey'))]);
    await both.rows(1, rollback, []);
    await both.rows(1, insert('c', line(5, null)), [line(5, null)]);
    await both.rows(1, insert('e', { id: 2, k: 20 }), [{ id: 2, k: 20 }]);
    await both.expect(1, insert('e', { id: 3, k: 2 }), [failed(1, childViolation('e', 'e_k_fkey'))]);
    await both.rows(1, rollback, []);
    // An update checks the parent only when it changes the reference.
    await both.rows(1, { kind: 'update', table: 'c', where: { id: 1 }, set: { p: null } }, [line(1, null)]);
    await both.expect(1, { kind: 'update', table: 'c', where: { id: 1 }, set: { p: 7 } }, [failed(1, childViolation('c', 'c_p_fkey'))]);
    await both.rows(1, rollback, []);
    await both.tables(seed);
  });

  it('a child insert locks the parent FOR KEY SHARE: a stock update goes on, FOR UPDATE and a key change wait', async () => {
    await both.rows(1, insert('c', line(5, 1)), [line(5, 1)]);
    await both.rows(2, updateP(1, { v: 99 }), [{ ...p1, v: 99 }]);
    await both.rows(2, commit, []);
    await both.expect(2, lockP(1, 'update'), [blocked(2, [1])]);
    await both.expect(3, updateP(1, { k: 11 }), [blocked(3, [2])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...p1, v: 99 }])]);
    await both.expect(2, commit, [completed(2, []), completed(3, [{ ...p1, v: 99, k: 11 }])]);
    await both.rows(3, commit, []);
  });

  it('a child insert waits for a parent locked FOR UPDATE, not for one locked FOR NO KEY UPDATE; it fails once the parent is deleted', async () => {
    await both.rows(1, lockP(1, 'no-key-update'), [p1]);
    await both.rows(2, insert('c', line(5, 1)), [line(5, 1)]);
    await both.rows(1, commit, []);
    await both.rows(2, commit, []);
    await both.rows(1, lockP(4, 'update'), [p4]);
    await both.expect(2, insert('c', line(6, 4)), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [line(6, 4)])]);
    await both.rows(2, commit, []);
    await both.rows(1, { kind: 'delete', table: 'c', where: { p: 4 } }, [line(6, 4)]);
    await both.rows(1, deleteP(4), [p4]);
    await both.expect(2, insert('c', line(7, 4)), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), failed(2, childViolation('c', 'c_p_fkey'))]);
    await both.rows(2, rollback, []);
  });

  it('deleting or re-keying a referenced parent fails with 23503 (NO ACTION and RESTRICT), the first constraint in creation order first', async () => {
    await both.expect(1, deleteP(1), [failed(1, parentViolation('c_p_fkey', 'c'))]);
    await both.rows(1, rollback, []);
    await both.expect(1, updateP(3, { k: 31 }), [failed(1, parentViolation('e_k_fkey', 'e'))]);
    await both.rows(1, rollback, []);
    await both.expect(1, deleteP(3), [failed(1, parentViolation('e_k_fkey', 'e'))]);
    await both.rows(1, rollback, []);
    // CASCADE is ON DELETE only: a key change is NO ACTION.
    await both.expect(1, updateP(2, { id: 12 }), [failed(1, parentViolation('d_p_fkey', 'd'))]);
    await both.rows(1, rollback, []);
    // A change that keeps the referenced key checks nothing.
    await both.rows(1, updateP(3, { id: 13 }), [{ ...p3, id: 13 }]);
    await both.rows(1, rollback, []);
    await both.tables(seed);
  });

  it('ON DELETE CASCADE deletes the children, waiting for their row locks', async () => {
    await both.rows(1, { kind: 'select', table: 'd', where: { id: 3 }, lock: 'key-share' }, [{ id: 3, p: 2 }]);
    await both.expect(2, deleteP(2), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [p2])]);
    await both.rows(2, commit, []);
    await both.tables({ ...seed, p: [p1, p3, p4], d: seed.d.slice(0, 2) });
  });

  it('a parent delete waits for a child inserter’s FOR KEY SHARE, then fails if it committed and goes on if it rolled back', async () => {
    await both.rows(1, insert('c', line(5, 2)), [line(5, 2)]);
    await both.expect(2, deleteP(2), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), failed(2, parentViolation('c_p_fkey', 'c'))]);
    await both.rows(2, rollback, []);
    await both.rows(1, insert('c', line(6, 4)), [line(6, 4)]);
    await both.expect(2, deleteP(4), [blocked(2, [1])]);
    await both.expect(1, rollback, [completed(1, []), completed(2, [p4])]);
    await both.rows(2, commit, []);
  });

  it('two order lines for one product, then both lock it FOR UPDATE: deadlock; a stock update instead does not wait', async () => {
    await both.rows(1, insert('c', line(5, 1)), [line(5, 1)]);
    await both.rows(2, insert('c', line(6, 1)), [line(6, 1)]);
    await both.expect(1, lockP(1, 'update'), [blocked(1, [2])]);
    await both.expect(2, lockP(1, 'update'), [completed(1, [p1]), failed(2, deadlock)]);
    await both.rows(1, commit, []);
    await both.rows(2, rollback, []);
    await both.rows(1, insert('c', line(7, 3)), [line(7, 3)]);
    await both.rows(2, insert('c', line(8, 3)), [line(8, 3)]);
    await both.rows(1, updateP(3, { v: 299 }), [{ ...p3, v: 299 }]);
    await both.expect(2, updateP(3, { v: 298 }), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...p3, v: 298 }])]);
    await both.rows(2, commit, []);
  });

  it('repeatable read: the check reads the transaction snapshot (a parent deleted or re-keyed since is 40001, one inserted since is missing); a stock update since is no conflict', async () => {
    await both.reset('repeatable-read');
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, { kind: 'delete', table: 'c', where: { p: 4 } }, []);
    await both.rows(2, deleteP(4), [p4]);
    await both.rows(2, updateP(2, { v: 1 }), [{ ...p2, v: 1 }]);
    await both.rows(2, insert('p', { id: 5, k: 50, v: 500 }), [{ id: 5, k: 50, v: 500 }]);
    await both.rows(2, commit, []);
    await both.rows(1, insert('c', line(5, 2)), [line(5, 2)]);
    await both.expect(1, insert('c', line(6, 5)), [failed(1, childViolation('c', 'c_p_fkey'))]);
    await both.rows(1, rollback, []);
    await both.reset('repeatable-read');
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, deleteP(4), [p4]);
    await both.rows(2, commit, []);
    await both.expect(1, insert('c', line(5, 4)), [failed(1, concurrentUpdate)]);
    await both.rows(1, rollback, []);
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, updateP(3, { id: 13 }), [{ ...p3, id: 13 }]);
    await both.rows(2, commit, []);
    await both.expect(1, insert('c', line(6, 3)), [failed(1, concurrentUpdate)]);
    await both.rows(1, rollback, []);
  });

  it('repeatable read: a parent delete finds children committed since its snapshot (RESTRICT: 23503; CASCADE: 40001, the crosscheck)', async () => {
    await both.reset('repeatable-read');
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, insert('c', line(5, 4)), [line(5, 4)]);
    await both.rows(2, commit, []);
    await both.expect(1, deleteP(4), [failed(1, parentViolation('c_p_fkey', 'c'))]);
    await both.rows(1, rollback, []);
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, insert('d', { id: 4, p: 3 }), [{ id: 4, p: 3 }]);
    await both.rows(2, commit, []);
    await both.expect(1, { kind: 'delete', table: 'e', where: { id: 1 } }, [completed(1, [{ id: 1, k: 30 }])]);
    await both.expect(1, deleteP(3), [failed(1, concurrentUpdate)]);
    await both.rows(1, rollback, []);
    // A child deleted since the snapshot is gone for the check.
    await both.rows(1, lockP(1, 'key-share'), [p1]);
    await both.rows(2, { kind: 'delete', table: 'c', where: { id: 5 } }, [line(5, 4)]);
    await both.rows(2, commit, []);
    await both.rows(1, deleteP(4), [p4]);
    await both.rows(1, commit, []);
  });

  it('serializable: the order-line deadlock, and a cascade after a committed child delete', async () => {
    await both.reset('serializable');
    await both.rows(1, insert('c', line(5, 1)), [line(5, 1)]);
    await both.rows(2, insert('c', line(6, 1)), [line(6, 1)]);
    await both.expect(1, lockP(1, 'update'), [blocked(1, [2])]);
    await both.expect(2, lockP(1, 'update'), [completed(1, [p1]), failed(2, deadlock)]);
    await both.rows(1, commit, []);
    await both.rows(2, rollback, []);
    await both.rows(1, { kind: 'delete', table: 'd', where: { id: 3 } }, [{ id: 3, p: 2 }]);
    await both.rows(1, commit, []);
    await both.rows(2, deleteP(2), [p2]);
    await both.rows(2, commit, []);
    // A cascade reads the latest snapshot: a child another transaction deleted and committed since the transaction's snapshot is dead to it, no rw-conflict.
    await both.reset('serializable');
    await both.rows(2, updateP(4, { v: 1 }), [{ ...p4, v: 1 }]);
    await both.rows(1, { kind: 'delete', table: 'd', where: { p: 2 } }, [{ id: 3, p: 2 }]);
    await both.rows(1, deleteP(2), [p2]);
    await both.rows(1, commit, []);
    await both.rows(2, { kind: 'delete', table: 'd', where: { id: 1 } }, [{ id: 1, p: 1 }]);
    await both.rows(2, { kind: 'delete', table: 'c', where: { id: 1 } }, [line(1, 1)]);
    await both.rows(2, deleteP(1), [p1]);
    await both.rows(2, commit, []);
  });

  it('serializable: a parent delete whose cascade meets a child version a committed concurrent transaction wrote and replaced fails with 40001 before its RESTRICT check', async () => {
    await both.reset('serializable');
    await both.rows(1, updateP(4, { v: 1 }), [{ ...p4, v: 1 }]);
    // T2 inserts a child and re-points it (the first version is dead, by T2), then reads what T1 wrote: T2 -rw-> T1.
    await both.rows(2, insert('d', { id: 4, p: 2 }), [{ id: 4, p: 2 }]);
    await both.rows(2, { kind: 'update', table: 'd', where: { id: 4 }, set: { p: 1 } }, [{ id: 4, p: 1 }]);
    await both.rows(2, { kind: 'select', table: 'p', where: { id: 4 } }, [p4]);
    await both.rows(2, commit, []);
    // The cascade (d's trigger fires before e's) scans d at the latest snapshot: the dead version's creator, T2, is concurrent with T1's
    // snapshot, so T1 -rw-> T2, which closes T2 -rw-> T1 -rw-> T2 with T2 committed: 40001, before e's RESTRICT check would find e(1, 30).
    await both.expect(1, deleteP(3), [failed(1, readWriteDependencies)]);
    await both.rows(1, rollback, []);
  });

  it('serializable: a key change under NO ACTION first looks for another parent holding the old key (an index read of the parent), so a concurrent change of the parent’s keys closes a dangerous structure', async () => {
    await both.reset('serializable');
    // T2 changes p1's k by an upsert (whose conflict check leaves no SIREAD lock): e's NO ACTION update check first reads p where k = 10
    // at the latest snapshot (a SIREAD lock on p's index), then e. Found by the random parent/child programs (seed 6, program 65).
    await both.rows(2, { kind: 'insert', table: 'p', rows: [{ id: 1, k: 50, v: 0 }], onConflict: { columns: ['id'], update: { k: { excluded: 'k' } } } }, [{ ...p1, k: 50 }]);
    // T1 changes p3's id: new entries in p's indexes (T2 -rw-> T1); c's and d's checks scan those tables whole.
    await both.rows(1, updateP(3, { id: 5 }), [{ ...p3, id: 5 }]);
    await both.rows(1, commit, []);
    // T2 writes into c, which T1's check read: T1 -rw-> T2 -rw-> T1, with T1 committed.
    await both.expect(2, insert('c', line(2, null)), [failed(2, readWriteDependencies)]);
    await both.rows(2, rollback, []);
  });
});
