import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { Changes, DbError, LockMode, SelectStatement, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * The four row lock strengths (issue #13 item 3): FOR UPDATE, FOR NO KEY
 * UPDATE, FOR SHARE, FOR KEY SHARE, with PostgreSQL's conflict table; an
 * UPDATE locks FOR NO KEY UPDATE unless it changes a key column (one of the
 * primary key or a unique index); a row's lockers are waited for in the
 * order of their transaction ids. Run step by step on the model and on
 * PostgreSQL, each step's events asserted exactly on both sides (the same on
 * PostgreSQL 15, with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  t: { columns: { id: 'int', k: 'int', v: 'int' }, primaryKey: ['id'], unique: [['k']] },
});
type Db = DatabaseOf<typeof schema>;

const seed: Tables = {
  t: [
    { id: 1, k: 10, v: 100 },
    { id: 2, k: 20, v: 200 },
    { id: 3, k: 30, v: 300 },
  ],
};
const [row1] = seed.t;

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const lock = (id: number, mode: LockMode): SelectStatement<Db, 't'> => ({ kind: 'select', table: 't', where: { id }, lock: mode });
const update = (id: number, set: Changes<Db['t']>): Statement => ({ kind: 'update', table: 't', where: { id }, set });
const concurrentUpdate: DbError = { code: '40001', message: 'could not serialize access due to concurrent update' };

describe('row lock strengths, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('FOR KEY SHARE does not stop an UPDATE of other columns (FOR NO KEY UPDATE); FOR UPDATE then waits for both, the key sharer first', async () => {
    await both.rows(1, lock(1, 'key-share'), [row1]);
    await both.rows(2, update(1, { v: 1 }), [{ ...row1, v: 1 }]);
    await both.expect(3, lock(1, 'update'), [blocked(3, [1])]);
    await both.rows(2, commit, []);
    await both.expect(1, commit, [completed(1, []), completed(3, [{ ...row1, v: 1 }])]);
    await both.rows(3, commit, []);
  });

  it('the lockers are waited for in the order of their transaction ids: the key sharer that came first, else the updater', async () => {
    await both.rows(1, lock(1, 'key-share'), [row1]);
    await both.rows(2, update(1, { v: 1 }), [{ ...row1, v: 1 }]);
    await both.expect(3, lock(1, 'update'), [blocked(3, [1])]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [completed(2, []), completed(3, [{ ...row1, v: 1 }])]);
    await both.rows(3, commit, []);
    await both.reset('read-committed');
    await both.rows(2, lock(1, 'key-share'), [row1]);
    await both.rows(1, update(1, { v: 1 }), [{ ...row1, v: 1 }]);
    await both.expect(3, lock(1, 'update'), [blocked(3, [2])]);
    await both.rows(2, commit, []);
    await both.expect(1, commit, [completed(1, []), completed(3, [{ ...row1, v: 1 }])]);
    await both.rows(3, commit, []);
  });

  it('two FOR SHARE lockers: a FOR UPDATE waits first for the one whose transaction id came first, not the one that locked first', async () => {
    await both.rows(2, update(3, { v: 5 }), [{ id: 3, k: 30, v: 5 }]);
    await both.rows(1, lock(1, 'share'), [row1]);
    await both.rows(2, lock(1, 'share'), [row1]);
    await both.expect(3, lock(1, 'update'), [blocked(3, [2])]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [completed(2, []), completed(3, [row1])]);
    await both.rows(3, commit, []);
  });

  it('read committed: FOR KEY SHARE that waited for FOR UPDATE rechecks the newest version, whether the holder then changed a key or not', async () => {
    await both.rows(1, lock(1, 'update'), [row1]);
    await both.expect(2, lock(1, 'key-share'), [blocked(2, [1])]);
    await both.rows(1, update(1, { v: 1 }), [{ ...row1, v: 1 }]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...row1, v: 1 }])]);
    await both.rows(2, commit, []);
    await both.rows(1, lock(1, 'update'), [{ ...row1, v: 1 }]);
    await both.expect(2, lock(1, 'key-share'), [blocked(2, [1])]);
    await both.rows(1, update(1, { k: 11 }), [{ ...row1, v: 1, k: 11 }]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...row1, v: 1, k: 11 }])]);
    await both.rows(2, commit, []);
  });

  it('FOR KEY SHARE of a row another running transaction updated without a key change, then deleted, waits on the update chain even with SKIP LOCKED or NOWAIT', async () => {
    await both.rows(2, update(2, { v: 5 }), [{ ...seed.t[1], v: 5 }]);
    await both.rows(2, { kind: 'delete', table: 't', where: { id: 2 } }, [{ ...seed.t[1], v: 5 }]);
    await both.expect(1, { ...lock(2, 'key-share'), skipLocked: true }, [blocked(1, [2])]);
    await both.expect(3, { ...lock(2, 'key-share'), nowait: true }, [blocked(3, [2])]);
    await both.expect(2, rollback, [completed(1, [seed.t[1]]), completed(2, []), completed(3, [seed.t[1]])]);
    await both.rows(1, commit, []);
    await both.rows(3, commit, []);
    // Once the deleter commits, the row is gone for the waiter.
    await both.rows(2, update(2, { v: 5 }), [{ ...seed.t[1], v: 5 }]);
    await both.rows(2, { kind: 'delete', table: 't', where: { id: 2 } }, [{ ...seed.t[1], v: 5 }]);
    await both.expect(1, { ...lock(2, 'key-share'), skipLocked: true }, [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, []), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('FOR KEY SHARE that waited on the update chain (the updater kept the key, then locked the row FOR UPDATE) returns the version it saw once the updater commits', async () => {
    await both.rows(2, update(2, { v: 5 }), [{ ...seed.t[1], v: 5 }]);
    await both.rows(2, lock(2, 'update'), [{ ...seed.t[1], v: 5 }]);
    await both.expect(1, lock(2, 'key-share'), [blocked(1, [2])]);
    await both.expect(2, commit, [completed(1, [seed.t[1]]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('an UPDATE of a key column locks FOR UPDATE: it waits for a key sharer', async () => {
    await both.rows(1, lock(1, 'key-share'), [row1]);
    await both.expect(2, update(1, { k: 11 }), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [{ ...row1, k: 11 }])]);
    await both.rows(2, commit, []);
  });

  it('FOR NO KEY UPDATE lets FOR KEY SHARE in and keeps FOR SHARE out; setting a key column to its own value is no key change', async () => {
    await both.rows(1, lock(1, 'no-key-update'), [row1]);
    await both.rows(2, lock(1, 'key-share'), [row1]);
    await both.expect(3, lock(1, 'share'), [blocked(3, [1])]);
    await both.rows(1, update(1, { k: 10, v: 7 }), [{ ...row1, v: 7 }]);
    await both.expect(1, commit, [completed(1, []), completed(3, [{ ...row1, v: 7 }])]);
    await both.rows(2, commit, []);
    await both.rows(3, commit, []);
  });

  it('a DELETE locks FOR UPDATE: it waits for a key sharer', async () => {
    await both.rows(1, lock(2, 'key-share'), [seed.t[1]]);
    await both.expect(2, { kind: 'delete', table: 't', where: { id: 2 } }, [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [seed.t[1]])]);
    await both.rows(2, commit, []);
  });

  it('repeatable read: FOR KEY SHARE of a row another transaction updated (no key) and committed since the snapshot returns the snapshot’s version; FOR SHARE fails with 40001', async () => {
    await both.reset('repeatable-read');
    await both.rows(2, lock(3, 'key-share'), [seed.t[2]]);
    await both.rows(1, update(1, { v: 1 }), [{ ...row1, v: 1 }]);
    await both.rows(1, commit, []);
    await both.rows(2, lock(1, 'key-share'), [row1]);
    await both.expect(2, lock(1, 'share'), [failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
    // Once it waited for the row, FOR KEY SHARE fails on a committed update like the other locks.
    await both.rows(2, { kind: 'select', table: 't', where: { id: 3 } }, [seed.t[2]]);
    await both.rows(1, lock(2, 'update'), [seed.t[1]]);
    await both.expect(2, lock(2, 'key-share'), [blocked(2, [1])]);
    await both.rows(1, update(2, { v: 3 }), [{ ...seed.t[1], v: 3 }]);
    await both.expect(1, commit, [completed(1, []), failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
    // So does an update by a transaction that had locked the row FOR UPDATE (PostgreSQL marks it as a key update).
    await both.rows(2, { kind: 'select', table: 't', where: { id: 3 } }, [seed.t[2]]);
    await both.rows(1, lock(1, 'update'), [{ ...row1, v: 1 }]);
    await both.rows(1, update(1, { v: 2 }), [{ ...row1, v: 2 }]);
    await both.rows(1, commit, []);
    await both.expect(2, lock(1, 'key-share'), [failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
    // A key change since the snapshot fails FOR KEY SHARE too.
    await both.rows(2, lock(3, 'key-share'), [seed.t[2]]);
    await both.rows(1, update(2, { k: 21 }), [{ ...seed.t[1], v: 3, k: 21 }]);
    await both.rows(1, commit, []);
    await both.expect(2, lock(2, 'key-share'), [failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
  });

  it('repeatable read: FOR UPDATE or a DELETE of a version a committed transaction updated (no key) waits first for a key sharer of that version still running, then fails with 40001; a weaker lock, or a key sharer of the newer version only, fails at once', async () => {
    await both.reset('repeatable-read');
    // T2 and T3 take their snapshots, T1 updates row 1, T3 locks the version it sees FOR KEY SHARE (no conflict with the update), T1 commits.
    const keySharedAcrossUpdate = async (v: number, seen: number) => {
      await both.rows(2, lock(3, 'key-share'), [seed.t[2]]);
      await both.rows(3, lock(3, 'key-share'), [seed.t[2]]);
      await both.rows(1, update(1, { v }), [{ ...row1, v }]);
      await both.rows(3, lock(1, 'key-share'), [{ ...row1, v: seen }]);
      await both.rows(1, commit, []);
    };
    await keySharedAcrossUpdate(1, 100);
    await both.expect(2, lock(1, 'update'), [blocked(2, [3])]);
    await both.expect(3, commit, [failed(2, concurrentUpdate), completed(3, [])]);
    await both.rows(2, rollback, []);
    // A DELETE waits as well; FOR UPDATE NOWAIT fails at once, the lock not being available.
    await keySharedAcrossUpdate(2, 1);
    await both.expect(2, { kind: 'select', table: 't', where: { id: 1 }, lock: 'update', nowait: true }, [failed(2, { code: '55P03', message: 'could not obtain lock on row in relation "t"' })]);
    await both.rows(2, rollback, []);
    await both.rows(3, rollback, []);
    await keySharedAcrossUpdate(3, 2);
    await both.expect(2, { kind: 'delete', table: 't', where: { id: 1 } }, [blocked(2, [3])]);
    await both.expect(3, rollback, [failed(2, concurrentUpdate), completed(3, [])]);
    await both.rows(2, rollback, []);
    // FOR NO KEY UPDATE does not conflict with the key sharer: 40001 at once.
    await keySharedAcrossUpdate(4, 3);
    await both.expect(2, lock(1, 'no-key-update'), [failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
    await both.rows(3, rollback, []);
    // A key sharer whose snapshot includes the update locked the newer version only: FOR UPDATE fails at once.
    await both.rows(2, lock(3, 'key-share'), [seed.t[2]]);
    await both.rows(1, update(1, { v: 5 }), [{ ...row1, v: 5 }]);
    await both.rows(1, commit, []);
    await both.rows(3, lock(1, 'key-share'), [{ ...row1, v: 5 }]);
    await both.expect(2, lock(1, 'update'), [failed(2, concurrentUpdate)]);
    await both.rows(2, rollback, []);
    await both.rows(3, rollback, []);
  });
});
