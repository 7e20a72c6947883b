import { describe, expect, it } from 'vitest';
import { runStatement, seenVersions, sortRows, startStatement } from '../../src/adapters/memory/statements.ts';
import type { PendingStatement } from '../../src/adapters/memory/xact.ts';
import type { DbError } from '../../src/model/statement.ts';
import { select, update } from './fixture.ts';
import { chainOf, open, runAt, writeVersion } from './run-fixture.ts';

function started(p: PendingStatement | DbError): PendingStatement {
  if ('code' in p) throw new Error(`failed: ${p.message}`);
  return p;
}

describe('memory engine: statements over row versions', () => {
  it('a statement starts with its snapshot and the rows it sees that match, in primary-key order', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    run.commitSeq = 3;
    const p = started(startStatement(run, t1, select('accounts', { balance: { gt: 600 } })));
    expect(p.snapshot).toBe(3);
    expect(p.candidates).toEqual([chainOf(run, 'accounts', 1), chainOf(run, 'accounts', 3)]);
    expect(p).toMatchObject({ next: 0, out: [] });
    expect(started(startStatement(run, t1, { kind: 'insert', table: 'accounts', rows: [{ id: 9, balance: 0 }] })).candidates).toEqual([]);
  });

  it('rows sort by ORDER BY columns, then the primary key', () => {
    const rows = [{ data: { id: 3, balance: 5 } }, { data: { id: 1, balance: 5 } }, { data: { id: 2, balance: 9 } }];
    sortRows(rows, ['id'], [['balance', 'desc']]);
    expect(rows.map((r) => r.data.id)).toEqual([2, 1, 3]);
    sortRows(rows, ['id'], undefined);
    expect(rows.map((r) => r.data.id)).toEqual([1, 2, 3]);
  });

  it('a plain read returns what its snapshot sees, up to its LIMIT, and leaves no lock', () => {
    const run = runAt('read-committed');
    const t1 = open(run, 1);
    const p = started(startStatement(run, t1, select('accounts', {}, { limit: 2 })));
    expect(runStatement(run, t1, p)).toBe('done');
    expect(p.out).toEqual([{ id: 1, balance: 3000 }, { id: 2, balance: 500 }]);
    expect(t1.locks).toEqual([]);
  });

  it('an update locks its row, writes a new version and returns it; a row another holds makes it wait in the row’s queue', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const row = chainOf(run, 'accounts', 2);
    const p = started(startStatement(run, t1, update('accounts', { id: 2 }, { balance: { add: -100 } })));
    expect(runStatement(run, t1, p)).toBe('done');
    expect(p.out).toEqual([{ id: 2, balance: 400 }]);
    expect(row.exclusive).toBe(t1);
    expect(row.versions.map((v) => [v.data.balance, v.xmin.tx, v.xmax?.tx ?? null])).toEqual([[500, 0, 1], [400, 1, null]]);
    expect(t1.writes).toEqual([row]);

    const q = started(startStatement(run, t2, select('accounts', { id: 2 }, { lock: 'update' })));
    expect(runStatement(run, t2, q)).toBe('blocked');
    expect(t2.wait).toEqual({ kind: 'row', chain: row, mode: 'exclusive' });
    expect(row.queue).toEqual([t2]);
    // It queues at the version it saw, which t1 is replacing: a locking SELECT that may walk the chain from t1.
    expect(t2.queuedAt).toBe(row.versions[0]);
    expect(t2.walksFrom).toBe(t1);
    expect(q.next).toBe(0);
  });

  it('read committed, after the wait: the newest committed version if it still matches; a row that no longer matches is skipped (still locked), a deleted one let go', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const changed = chainOf(run, 'accounts', 3);
    const deleted = chainOf(run, 'accounts', 2);
    const kept = chainOf(run, 'accounts', 1);
    const p = started(startStatement(run, t2, select('accounts', {}, { lock: 'update' })));
    writeVersion(changed, t1, { id: 3, balance: 0 });
    writeVersion(kept, t1, { id: 1, balance: 1 });
    deleted.versions[0].xmax = t1;
    t1.status = 'committed';
    t1.commitSeq = ++run.commitSeq;
    const q = started(startStatement(run, t2, select('accounts', { balance: 800 }, { lock: 'update' })));
    expect(q.candidates).toEqual([]);
    expect(runStatement(run, t2, p)).toBe('done');
    expect(p.out).toEqual([{ id: 1, balance: 1 }, { id: 3, balance: 0 }]);
    // The deleted row's lock is let go at once; the transaction's list of rows to release at its end still names it.
    expect([kept.exclusive, deleted.exclusive, changed.exclusive]).toEqual([t2, null, t2]);
    expect(t2.locks.length).toBe(3);
  });

  it('read committed, after the wait: a row that no longer matches the WHERE clause is skipped and stays locked', () => {
    const run = runAt('read-committed');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const row = chainOf(run, 'accounts', 3);
    const p = started(startStatement(run, t2, select('accounts', { balance: 800 }, { lock: 'update' })));
    writeVersion(row, t1, { id: 3, balance: 0 });
    t1.status = 'committed';
    t1.commitSeq = ++run.commitSeq;
    expect(runStatement(run, t2, p)).toBe('done');
    expect(p.out).toEqual([]);
    expect(row.exclusive).toBe(t2);
  });

  it('repeatable read: a row replaced since the snapshot is 40001, "concurrent delete" only for an UPDATE or DELETE of a deleted row', () => {
    const run = runAt('repeatable-read');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const p = started(startStatement(run, t2, update('accounts', { id: 1 }, { balance: 1 })));
    const q = started(startStatement(run, t2, select('accounts', { id: 1 }, { lock: 'share' })));
    const row = chainOf(run, 'accounts', 1);
    row.versions[0].xmax = t1;
    t1.status = 'committed';
    t1.commitSeq = ++run.commitSeq;
    expect(runStatement(run, t2, p)).toEqual({ code: '40001', message: 'could not serialize access due to concurrent delete' });
    expect(runStatement(run, t2, q)).toEqual({ code: '40001', message: 'could not serialize access due to concurrent update' });
  });

  it('records, for a history, each row’s newest version the snapshot’s creators include and whether it is visible', () => {
    const run = runAt('read-committed', { recordHistory: true });
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const rows = run.table('accounts').rows;
    writeVersion(rows[0], t1, { id: 1, balance: 1 });
    rows[1].versions[0].xmax = t2;
    const seen = seenVersions(rows, t2, 0);
    expect([...seen.values()]).toEqual([
      { index: 0, visible: true },
      { index: 0, visible: false },
      { index: 0, visible: true },
    ]);
    const p = started(startStatement(run, t2, select('accounts', { id: 3 })));
    runStatement(run, t2, p);
    expect(t2.observations!.predicates).toHaveLength(1);
    expect(t2.observations!.items).toEqual([{ table: 'accounts', chain: rows[2], version: rows[2].versions[0] }]);
  });
});
