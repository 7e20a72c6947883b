import { describe, expect, it } from 'vitest';
import { arbiterConflict, changesIndexedColumn, indexEntries, insertRows, uniqueConflict } from '../../src/adapters/memory/inserts.ts';
import type { PendingStatement, Xact } from '../../src/adapters/memory/xact.ts';
import type { InsertStatement } from '../../src/model/statement.ts';
import { chainOf, open, runAt, writeVersion } from './run-fixture.ts';

function pendingInsert(xact: Xact, statement: InsertStatement): PendingStatement {
  const p: PendingStatement = { statement, snapshot: 0, candidates: [], next: 0, out: [] };
  xact.pending = p;
  return p;
}

const users = (rows: { id: number; email: string }[], onConflict?: 'nothing'): InsertStatement => (onConflict ? { kind: 'insert', table: 'users', rows, onConflict } : { kind: 'insert', table: 'users', rows });

describe('memory engine: inserts and unique indexes', () => {
  it('a unique check finds a live committed key (a violation), and a key a running transaction wrote or deleted (a wait)', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const table = run.table('users');
    const ann = chainOf(run, 'users', 1);
    expect(uniqueConflict(table, t1, { id: 2, email: 'ann@example.com' })).toEqual({
      kind: 'violation',
      constraint: 'users_email_key',
      columns: ['email'],
      chain: ann,
      version: ann.versions[0],
    });
    expect(uniqueConflict(table, t1, { id: 1, email: 'bob@example.com' })).toMatchObject({ kind: 'violation', constraint: 'users_pkey' });
    expect(uniqueConflict(table, t1, { id: 2, email: 'bob@example.com' })).toBeNull();
    // Only the index asked for.
    expect(uniqueConflict(table, t1, { id: 1, email: 'x' }, undefined, undefined, [table.uniques[1]])).toBeNull();
    // t2 deletes ann and has not ended: t1 must wait for it; t2 itself finds no conflict in its own deletion.
    ann.versions[0].xmax = t2;
    expect(uniqueConflict(table, t1, { id: 2, email: 'ann@example.com' })).toEqual({ kind: 'wait', xact: t2, version: ann.versions[0], by: 'xmax' });
    expect(uniqueConflict(table, t2, { id: 2, email: 'ann@example.com' })).toBeNull();
  });

  it('an update checks only the indexes whose columns it changes, and never its own row', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    const table = run.table('users');
    const ann = chainOf(run, 'users', 1);
    const old = { id: 1, email: 'ann@example.com' };
    expect(uniqueConflict(table, t1, { id: 1, email: 'ann@example.com' }, ann, old)).toBeNull();
    expect(changesIndexedColumn(table, old, { id: 1, email: 'ann@example.com' })).toBe(false);
    expect(changesIndexedColumn(table, old, { id: 1, email: 'a@example.com' })).toBe(true);
    expect(changesIndexedColumn(run.table('accounts'), { id: 1, balance: 1 }, { id: 1, balance: 2 })).toBe(false);
  });

  it('inserts row by row into the heap and every index; a second inserter of the key waits, remembering where it stopped', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const first = pendingInsert(t1, users([{ id: 2, email: 'bob@example.com' }]));
    expect(insertRows(run, t1, first, first.statement as InsertStatement)).toBe('done');
    expect(first.out).toEqual([{ id: 2, email: 'bob@example.com' }]);
    expect(run.table('users').rows).toHaveLength(2);
    expect(t1.writes).toEqual([chainOf(run, 'users', 2)]);

    // Same email, new id: its heap tuple and primary key entry are made, then it waits at the email index.
    const second = pendingInsert(t2, users([{ id: 3, email: 'bob@example.com' }]));
    expect(insertRows(run, t2, second, second.statement as InsertStatement)).toBe('blocked');
    expect(t2.wait).toEqual({ kind: 'xact', xact: t1, version: chainOf(run, 'users', 2).versions[0], by: 'xmin' });
    expect(t1.endWaiters).toEqual([t2]);
    const written = chainOf(run, 'users', 3);
    expect(second.writing).toEqual({ chain: written, version: written.versions[0], old: undefined });
    expect(written.versions[0].indexed).toBe(1);

    // t1 rolls back (as abort does, by hand here): the entries resume at the email index and finish.
    t1.status = 'aborted';
    run.table('users').rows.splice(1, 1);
    t2.wait = null;
    expect(indexEntries(run, t2, second, run.table('users'), written, written.versions[0])).toBe('done');
    expect(written.versions[0].indexed).toBeUndefined();
    expect(second.writing).toBeUndefined();
  });

  it('a committed duplicate is 23505 with the constraint’s name', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    const p = pendingInsert(t1, users([{ id: 5, email: 'ann@example.com' }]));
    expect(insertRows(run, t1, p, p.statement as InsertStatement)).toEqual({ code: '23505', message: 'duplicate key value violates unique constraint "users_email_key"' });
  });

  it('ON CONFLICT DO NOTHING skips a committed duplicate, and waits for a running inserter, resuming its pre-check at that index', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const p = pendingInsert(t1, users([{ id: 1, email: 'x@example.com' }, { id: 2, email: 'y@example.com' }], 'nothing'));
    expect(insertRows(run, t1, p, p.statement as InsertStatement)).toBe('done');
    expect(p.out).toEqual([{ id: 2, email: 'y@example.com' }]);

    const q = pendingInsert(t2, users([{ id: 9, email: 'y@example.com' }], 'nothing'));
    expect(arbiterConflict(t2, q, run.table('users'), { id: 9, email: 'y@example.com' })).toEqual({ kind: 'wait', xact: t1, version: chainOf(run, 'users', 2).versions[0], by: 'xmin' });
    expect(q.arbiterFrom).toBe(1);
  });

  it('under repeatable read, a skipped conflicting row its snapshot does not see is 40001', () => {
    const run = runAt('repeatable-read');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const ann = chainOf(run, 'users', 1);
    writeVersion(ann, t1, { id: 1, email: 'ann@example.com' });
    t1.status = 'committed';
    t1.commitSeq = 1;
    const p = pendingInsert(t2, users([{ id: 1, email: 'z@example.com' }], 'nothing'));
    expect(insertRows(run, t2, p, p.statement as InsertStatement)).toEqual({ code: '40001', message: 'could not serialize access due to concurrent update' });
  });
});
