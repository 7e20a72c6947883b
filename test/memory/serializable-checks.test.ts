import { describe, expect, it } from 'vitest';
import { indexFor, sameKey, serializableCommit, serializableRead, serializableWrite, serializationFailure } from '../../src/adapters/memory/serializable.ts';
import { chainOf, open, runAt, writeVersion } from './run-fixture.ts';

describe('memory engine: where reads, writes and commits meet SSI', () => {
  it('a WHERE clause with an equality on an index’s leading column scans that index (primary key first); anything else is a sequential scan', () => {
    const run = runAt('serializable');
    const users = run.table('users');
    expect(indexFor(users, { id: 1 })).toEqual(['id']);
    expect(indexFor(users, { email: 'a', id: 1 })).toEqual(['id']);
    expect(indexFor(users, { email: 'a' })).toEqual(['email']);
    expect(indexFor(users, { id: { gt: 1 } })).toBeUndefined();
    expect(indexFor(run.table('accounts'), { balance: 5 })).toBeUndefined();
    expect(sameKey(['id'], { id: 1 }, { id: 1, balance: 0 })).toBe(true);
    expect(sameKey(['id'], { id: 1 }, { id: 2, balance: 0 })).toBe(false);
    expect(sameKey(['id'], { id: { lt: 9 } }, { id: 2 })).toBe(true);
  });

  it('an index scan locks the index page and the tuples it fetched; a sequential scan the relation; locks are numbered in the run’s order', () => {
    const run = runAt('serializable');
    const t1 = open(run, 1);
    expect(serializableRead(run, t1, run.table('accounts'), { id: 2 }, 0)).toBeNull();
    expect(serializableRead(run, t1, run.table('accounts'), { balance: 500 }, 0)).toBeNull();
    expect(serializableRead(run, t1, run.table('accounts'), { id: 7 }, 0)).toBeNull();
    expect(t1.ssi!.reads).toEqual([
      { kind: 'index', table: 'accounts', index: 'id', tuples: new Set([chainOf(run, 'accounts', 2)]), seq: 1 },
      { kind: 'relation', table: 'accounts', seq: 2 },
      { kind: 'index', table: 'accounts', index: 'id', tuples: new Set(), seq: 3 },
    ]);
  });

  it('a version a concurrent transaction wrote is a conflict out; a doomed reader fails once it examines a row, not when its key finds none', () => {
    const run = runAt('serializable');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    writeVersion(chainOf(run, 'accounts', 1), t2, { id: 1, balance: 0 });
    expect(serializableRead(run, t1, run.table('accounts'), { id: 1 }, 0)).toBeNull();
    expect(t1.ssi!.outConflicts).toEqual([t2]);
    expect(t2.ssi!.inConflicts).toEqual([t1]);
    t1.ssi!.doomed = true;
    expect(serializableRead(run, t1, run.table('accounts'), { id: 8 }, 0)).toBeNull();
    expect(serializableRead(run, t1, run.table('accounts'), { id: 3 }, 0)).toBe(serializationFailure);
    expect(serializationFailure).toEqual({ code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' });
  });

  it('a write covered by a concurrent reader’s SIREAD lock adds the edge; a doomed writer fails', () => {
    const run = runAt('serializable');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    const row = chainOf(run, 'accounts', 1);
    serializableRead(run, t1, run.table('accounts'), { id: 1 }, 0);
    expect(serializableWrite(run, t2, { table: 'accounts', chain: row, heap: true, existing: true, indexes: [] })).toBe(true);
    expect(t1.ssi!.outConflicts).toEqual([t2]);
    expect(t2.ssi!.didWrite).toBe(true);
    t2.ssi!.doomed = true;
    expect(serializableWrite(run, t2, { table: 'accounts', chain: chainOf(run, 'accounts', 2), heap: true, existing: true, indexes: [] })).toBe(false);
  });

  it('COMMIT: nothing to check outside serializable; a doomed transaction fails; otherwise it takes its prepare number', () => {
    const rc = runAt('read-committed');
    expect(serializableCommit(rc, open(rc, 1))).toBeNull();
    const run = runAt('serializable');
    const [t1, t2] = [open(run, 1), open(run, 2)];
    expect(serializableCommit(run, t1)).toBeNull();
    expect(t1.ssi!.prepareSeq).toBe(1);
    expect(run.ssiClock.last).toBe(1);
    t2.ssi!.doomed = true;
    expect(serializableCommit(run, t2)).toBe(serializationFailure);
  });

  it('a write gives its edges in PostgreSQL’s order: tuple locks, then page locks (tuples promoted past two count as the page), then relation locks, each in the order taken', () => {
    const run = runAt('serializable');
    const [seq, tuple1, promoted, tuple2, writer] = [open(run, 1), open(run, 2), open(run, 3), open(run, 4), open(run, 5)];
    const accounts = run.table('accounts');
    serializableRead(run, seq, accounts, { balance: 1 }, 0);
    serializableRead(run, tuple1, accounts, { id: 1 }, 0);
    serializableRead(run, promoted, accounts, { id: 2 }, 0);
    serializableRead(run, promoted, accounts, { id: 3 }, 0);
    serializableRead(run, promoted, accounts, { id: 1 }, 0);
    serializableRead(run, tuple2, accounts, { id: 1 }, 0);
    expect(serializableWrite(run, writer, { table: 'accounts', chain: chainOf(run, 'accounts', 1), heap: true, existing: true, indexes: [] })).toBe(true);
    expect(writer.ssi!.inConflicts.map((x) => x.tx)).toEqual([2, 4, 3, 1]);

    // An insert meets only relation locks and the page locks of the indexes it adds entries to.
    const inserter = open(run, 6);
    const row = { versions: [], exclusive: null, shared: [], queue: [] };
    expect(serializableWrite(run, inserter, { table: 'accounts', chain: row, heap: true, existing: false, indexes: [] })).toBe(true);
    expect(inserter.ssi!.inConflicts.map((x) => x.tx)).toEqual([1]);
    const indexed = open(run, 7);
    expect(serializableWrite(run, indexed, { table: 'accounts', chain: row, heap: false, existing: false, indexes: ['id'] })).toBe(true);
    expect(indexed.ssi!.inConflicts.map((x) => x.tx)).toEqual([2, 3, 4]);
  });
});
