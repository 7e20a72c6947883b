import { describe, expect, it } from 'vitest';
import { commit, completed, engineAt, seed, select, update } from './fixture.ts';

describe('memory engine: plain reads', () => {
  it('no dirty read: an uncommitted update is invisible to others and visible to its own transaction', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.step(2, select('accounts', { id: 1 }))).toEqual([completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(1, select('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.tables()).toEqual(seed());
  });

  it('read committed: each statement takes a new snapshot, so a later select sees a commit made in between', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(2, select('accounts', { id: 1 }))).toEqual([completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: { add: -300 } }))).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, select('accounts', { id: 1 }))).toEqual([completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts).toEqual([
      { id: 1, balance: 2700 },
      { id: 2, balance: 500 },
      { id: 3, balance: 800 },
    ]);
  });

  it('repeatable read: every statement reads at the snapshot of the transaction’s first statement', () => {
    const engine = engineAt('repeatable-read');
    // T2's snapshot is taken by this first statement, which reads another row.
    expect(engine.step(2, select('accounts', { id: 2 }))).toEqual([completed(2, [{ id: 2, balance: 500 }])]);
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: { add: -300 } }))).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, select('accounts', { id: 1 }))).toEqual([completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    // A new transaction of T2 takes a new snapshot.
    expect(engine.step(2, select('accounts', { id: 1 }))).toEqual([completed(2, [{ id: 1, balance: 2700 }])]);
  });

  it('orderBy and limit return rows in that order, the primary key breaking ties', () => {
    // Seeded out of key order, so the order returned cannot come from storage order.
    const engine = engineAt('read-committed', {
      accounts: [
        { id: 4, balance: 800 },
        { id: 1, balance: 3000 },
        { id: 3, balance: 800 },
        { id: 2, balance: 500 },
      ],
      users: [],
    });
    expect(engine.step(1, select('accounts', {}, { orderBy: [['balance', 'desc']], limit: 3 }))).toEqual([
      completed(1, [
        { id: 1, balance: 3000 },
        { id: 3, balance: 800 },
        { id: 4, balance: 800 },
      ]),
    ]);
    expect(engine.step(1, select('accounts', { balance: { gte: 600 } }, { orderBy: [['balance', 'asc']] }))).toEqual([
      completed(1, [
        { id: 3, balance: 800 },
        { id: 4, balance: 800 },
        { id: 1, balance: 3000 },
      ]),
    ]);
    expect(engine.step(1, select('accounts', { balance: { lt: 3000 } }, { limit: 2 }))).toEqual([
      completed(1, [
        { id: 2, balance: 500 },
        { id: 3, balance: 800 },
      ]),
    ]);
  });
});
