import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type Tables } from '../../src/model/schema.ts';
import type { DbError, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Heap order (issue #13 item 9): a multi-row UPDATE or DELETE meets its rows
 * as PostgreSQL's sequential or bitmap heap scan returns them, in the order
 * of their line pointers, and every new row version (insert or update) takes
 * the heap's next one. Run step by step on the model and on PostgreSQL, each
 * step's events asserted exactly on both sides (PostgreSQL 15 with
 * DATABASE_URL, and the embedded 17).
 */
const schema = defineSchema({
  items: { columns: { id: 'int', value: 'int' }, primaryKey: ['id'] },
});

const seed: Tables = { items: [{ id: 1, value: 0 }, { id: 2, value: 0 }, { id: 3, value: 0 }] };

const Both = sideBySide(schema, seed);

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const deadlock: DbError = { code: '40P01', message: 'deadlock detected' };
const set = (id: number, value: number): Statement => ({ kind: 'update', table: 'items', where: { id }, set: { value } });
/** Every row, by a predicate (a sequential scan), or by a range on the key (a bitmap heap scan). */
const bumpAll: Statement = { kind: 'update', table: 'items', where: { value: { gte: 0 } }, set: { value: { add: 10 } } };
const bumpRange: Statement = { kind: 'update', table: 'items', where: { id: { gte: 1, lte: 3 } }, set: { value: { add: 10 } } };
const bumpIn: Statement = { kind: 'update', table: 'items', where: { id: { in: [1, 2, 3] } }, set: { value: { add: 10 } } };
const deleteAll: Statement = { kind: 'delete', table: 'items', where: { value: { gte: 0 } } };

describe('multi-row UPDATE and DELETE in heap order, on the model and on PostgreSQL', () => {
  let both: SideBySide;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('in seed order, an UPDATE of every row waits at row 1 holding nothing: the holder of row 1 then updates row 2 without a deadlock', async () => {
    await both.rows(1, set(1, 5), [{ id: 1, value: 5 }]);
    await both.expect(2, bumpAll, [blocked(2, [1])]);
    await both.rows(1, set(2, 5), [{ id: 2, value: 5 }]);
    // T1 commits: T2 goes on from row 1 and waits for nothing else (T1 held row 2 too, and has ended).
    await both.expect(1, commit, [completed(1, []), completed(2, [{ id: 1, value: 15 }, { id: 2, value: 15 }, { id: 3, value: 10 }])]);
    await both.rows(2, commit, []);
  });

  it('after a HOT update of row 1, a bitmap heap scan (a range or an IN list on the key) still meets it first, at the root of its HOT chain: no deadlock', async () => {
    for (const update of [bumpRange, bumpIn]) {
      await both.reset('read-committed');
      await both.rows(3, set(1, 1), [{ id: 1, value: 1 }]);
      await both.rows(3, commit, []);
      await both.rows(1, set(1, 5), [{ id: 1, value: 5 }]);
      await both.expect(2, update, [blocked(2, [1])]);
      await both.rows(1, set(2, 5), [{ id: 2, value: 5 }]);
      await both.expect(1, commit, [completed(1, []), completed(2, [{ id: 1, value: 15 }, { id: 2, value: 15 }, { id: 3, value: 10 }])]);
      await both.rows(2, commit, []);
    }
  });

  it('after an update that changed the key (not HOT), a bitmap heap scan meets the row at its new line pointer, last', async () => {
    await both.rows(3, { kind: 'update', table: 'items', where: { id: 1 }, set: { id: 4 } }, [{ id: 4, value: 0 }]);
    await both.rows(3, commit, []);
    await both.rows(1, set(4, 5), [{ id: 4, value: 5 }]);
    await both.expect(2, { kind: 'update', table: 'items', where: { id: { gte: 2 } }, set: { value: { add: 10 } } }, [blocked(2, [1])]);
    await both.expect(1, set(2, 5), [failed(1, deadlock), completed(2, [{ id: 2, value: 10 }, { id: 3, value: 10 }, { id: 4, value: 10 }])]);
    await both.rows(1, rollback, []);
    await both.rows(2, commit, []);
  });

  it('after row 1 was updated it is last in the heap: an UPDATE by a predicate on value (a sequential scan) locks rows 2 and 3 first, and the holder of row 1 deadlocks with it', async () => {
    await both.rows(3, set(1, 1), [{ id: 1, value: 1 }]);
    await both.rows(3, commit, []);
    await both.rows(1, set(1, 5), [{ id: 1, value: 5 }]);
    await both.expect(2, bumpAll, [blocked(2, [1])]);
    // T2 holds rows 2 and 3 (met before row 1's new version): T1 closes the cycle.
    await both.expect(1, set(2, 5), [failed(1, deadlock), completed(2, [{ id: 1, value: 11 }, { id: 2, value: 10 }, { id: 3, value: 10 }])]);
    await both.rows(1, rollback, []);
    await both.rows(2, commit, []);
    await both.tables({ items: [{ id: 1, value: 11 }, { id: 2, value: 10 }, { id: 3, value: 10 }] });
  });

  it('an inserted row, and a row whose insert was rolled back, take line pointers: a DELETE meets the new row after the seed rows', async () => {
    await both.rows(1, { kind: 'insert', table: 'items', rows: [{ id: 0, value: 0 }] }, [{ id: 0, value: 0 }]);
    await both.rows(1, rollback, []);
    await both.rows(1, { kind: 'insert', table: 'items', rows: [{ id: 0, value: 0 }] }, [{ id: 0, value: 0 }]);
    await both.rows(1, commit, []);
    // Heap: 1, 2, 3, (aborted 0), 0. T1 holds row 0 and T2 row 3: the DELETE takes 1 and 2, waits at 3.
    await both.rows(1, set(0, 7), [{ id: 0, value: 7 }]);
    await both.rows(2, set(3, 7), [{ id: 3, value: 7 }]);
    await both.expect(3, deleteAll, [blocked(3, [2])]);
    // T2 now waits for row 1, which T3 holds: a deadlock (in key order T3 would have waited at row 0 for T1, holding nothing).
    await both.expect(2, set(1, 7), [failed(2, deadlock)]);
    await both.rows(2, rollback, []);
    // T1's commit releases row 0, whose new value still matches: the DELETE takes it too.
    await both.expect(1, commit, [completed(1, []), completed(3, [{ id: 0, value: 7 }, { id: 1, value: 0 }, { id: 2, value: 0 }, { id: 3, value: 0 }])]);
    await both.rows(3, commit, []);
    await both.tables({ items: [] });
  });
});
