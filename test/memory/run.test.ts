import { describe, expect, it } from 'vitest';
import { bankTables, chainOf, open, runAt } from './run-fixture.ts';

describe('memory engine: the per-run state (Run)', () => {
  it('holds the seed as one committed version per row, created by the seed transaction, with no locks or waiters', () => {
    const run = runAt('read-committed');
    const accounts = run.table('accounts');
    expect(accounts.uniques).toEqual([['id']]);
    expect(run.table('users').uniques).toEqual([['id'], ['email']]);
    expect(accounts.rows.map((c) => c.versions.map((v) => v.data))).toEqual([[{ id: 1, balance: 3000 }], [{ id: 2, balance: 500 }], [{ id: 3, balance: 800 }]]);
    for (const chain of accounts.rows) {
      expect(chain.versions[0].xmin).toBe(run.seedXact);
      expect(chain.versions[0].xmax).toBeNull();
      expect(chain).toMatchObject({ exclusive: null, shared: [], queue: [] });
    }
    expect(() => run.table('ledger')).toThrow('unknown table ledger');
  });

  it('two runs from one seed share no rows, so one run’s writes never reach the next', () => {
    const tables = { accounts: [{ id: 1, balance: 3000 }], users: [] };
    const first = runAt('read-committed', { tables });
    first.table('accounts').rows[0].versions.push({ data: { id: 1, balance: 0 }, xmin: first.seedXact, xmax: null, line: 2, root: 1 });
    first.table('users').rows.push({ versions: [], exclusive: null, shared: [], queue: [] });
    const second = runAt('read-committed', { tables });
    expect(second.table('accounts').rows[0].versions.map((v) => v.data)).toEqual([{ id: 1, balance: 3000 }]);
    expect(second.table('users').rows).toEqual([]);
    expect(bankTables.map((t) => t.name)).toEqual(['accounts', 'users']);
  });

  it('begins transactions with consecutive xids at the run’s level; only serializable ones carry SSI state, only recorded runs observations', () => {
    const rc = runAt('read-committed');
    const a = rc.begin(1);
    const b = rc.begin(2);
    expect([a.xid, b.xid]).toEqual([1, 2]);
    expect(a).toMatchObject({ tx: 1, isolation: 'read-committed', status: 'active', snapshot: -1, ssi: null, observations: null });
    expect(rc.serializable).toEqual([]);
    expect(rc.recorded).toEqual([]);

    const ser = runAt('serializable', { recordHistory: true });
    const c = ser.begin(1);
    expect(c.ssi).toMatchObject({ doomed: false, reads: [], inConflicts: [], outConflicts: [] });
    expect(c.observations).toEqual({ items: [], predicates: [] });
    expect(ser.serializable).toEqual([c]);
    expect(ser.recorded).toEqual([c]);
  });

  it('reads at the latest commit under read committed, and at the first statement’s under repeatable read and serializable', () => {
    for (const isolation of ['read-committed', 'repeatable-read', 'serializable'] as const) {
      const run = runAt(isolation);
      const xact = run.begin(1);
      run.commitSeq = 4;
      run.ssiClock.last = 7;
      expect(run.snapshotFor(xact)).toBe(4);
      run.commitSeq = 5;
      expect(run.snapshotFor(xact)).toBe(isolation === 'read-committed' ? 5 : 4);
      if (isolation === 'serializable') expect(xact.ssi!.lastCommitBeforeSnapshot).toBe(7);
    }
  });

  it('slots: one per workload transaction, created on first use', () => {
    const run = runAt('read-committed');
    const xact = open(run, 3);
    expect(run.slot(3).xact).toBe(xact);
    expect(run.slot(1)).toEqual({ xact: null });
    expect(run.slots.length).toBe(4);
  });

  it('picks the first candidate of a race unless the resolver names another, and logs every decision', () => {
    const asked: [number, readonly number[]][] = [];
    const run = runAt('read-committed', { resolveRace: (ordinal, candidates) => (asked.push([ordinal, candidates]), ordinal === 1 ? 3 : ordinal === 2 ? 9 : undefined) });
    const [t1, t2, t3] = [run.begin(1), run.begin(2), run.begin(3)];
    expect(run.pickWaiter([t1, t2])).toBe(t1);
    expect(run.pickWaiter([t2, t3])).toBe(t3);
    expect(run.pickWaiter([t2, t3])).toBe(t2); // 9 is no candidate: the first
    expect(asked).toEqual([[0, [1, 2]], [1, [2, 3]], [2, [2, 3]]]);
    expect(run.races).toEqual([
      { ordinal: 0, candidates: [1, 2], chosen: 1 },
      { ordinal: 1, candidates: [2, 3], chosen: 3 },
      { ordinal: 2, candidates: [2, 3], chosen: 2 },
    ]);
  });

  it('a woken row-lock waiter remembers the row granted to it until it runs; a transaction waiter does not', () => {
    const run = runAt('read-committed');
    const [t1, t2, t3] = [run.begin(1), run.begin(2), run.begin(3)];
    const row = chainOf(run, 'accounts', 1);
    t2.wait = { kind: 'row', chain: row, mode: 'exclusive' };
    t3.wait = { kind: 'xact', xact: t1 };
    run.wakeOne(t2);
    run.wakeOne(t3);
    expect(run.woken).toEqual([t2, t3]);
    expect([t2.wait, t3.wait]).toEqual([null, null]);
    expect(t2.grantedOnWake).toBe(row);
    expect(t3.grantedOnWake).toBeNull();
  });

  it('reports completions as events in order', () => {
    const run = runAt('read-committed');
    run.complete(2, { rows: [] });
    run.complete(1, { error: { code: '40001', message: 'm' } });
    expect(run.events).toEqual([
      { tx: 2, kind: 'completed', result: { rows: [] } },
      { tx: 1, kind: 'completed', result: { error: { code: '40001', message: 'm' } } },
    ]);
  });
});
