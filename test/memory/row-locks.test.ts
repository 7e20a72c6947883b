import { describe, expect, it } from 'vitest';
import { blocked, commit, completed, deadlockDetected, engineAt, failed, remove, rollback, select, update } from './fixture.ts';

const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });
const forShare = select('accounts', { id: 1 }, { lock: 'share' });
const deduct300 = update('accounts', { id: 1, balance: { gte: 300 } }, { balance: { add: -300 } });

describe('memory engine: row locks (read committed)', () => {
  it('FOR UPDATE blocks a second FOR UPDATE; the holder’s commit completes the waiter in the same step with the newest committed row', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, forUpdate)).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, forUpdate)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: { add: -300 } }))).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  it('FOR SHARE and FOR SHARE both proceed; an UPDATE waits until every share holder has ended', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, forShare)).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, forShare)).toEqual([completed(2, [{ id: 1, balance: 3000 }])]);
    // Which holders the event names is pinned by the divergence test below.
    expect(engine.step(3, deduct300)).toEqual([{ tx: 3, kind: 'blocked', waitsFor: expect.any(Array) }]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.isBlocked(3)).toBe(true);
    expect(engine.step(2, commit)).toEqual([completed(2, []), completed(3, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(3, commit)).toEqual([completed(3, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  // DIVERGENCE: PostgreSQL waits for the members of a multixact (the share
  // holders) one after another (MultiXactIdWait), so pg_blocking_pids of the
  // UPDATE names only T1, and T2 once T1 has ended. The engine names every
  // share holder at once: [1, 2].
  it('an UPDATE waiting for two share holders is reported waiting for the first of them, as pg_blocking_pids reports', () => {
    const engine = engineAt('read-committed');
    engine.step(1, forShare);
    engine.step(2, forShare);
    expect(engine.step(3, deduct300)).toEqual([blocked(3, [1])]);
  });

  it('read committed re-check after a lock wait: a waiting UPDATE whose condition no longer holds on the newest version changes 0 rows', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.step(2, deduct300)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 100 });
  });

  it('read committed re-check after a lock wait: a waiting UPDATE whose condition still holds applies to the newest version', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, deduct300)).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, deduct300)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 2400 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2400 });
  });

  it('an UPDATE whose re-check failed still holds the row lock until its transaction ends', () => {
    const engine = engineAt('read-committed');
    engine.step(1, update('accounts', { id: 1 }, { balance: 100 }));
    engine.step(2, deduct300);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [])]);
    expect(engine.step(3, update('accounts', { id: 1 }, { balance: 7 }))).toEqual([blocked(3, [2])]);
    expect(engine.step(2, commit)).toEqual([completed(2, []), completed(3, [{ id: 1, balance: 7 }])]);
    expect(engine.step(3, commit)).toEqual([completed(3, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 7 });
  });

  describe('a row deleted by the lock holder', () => {
    it('the waiting UPDATE completes with no rows', () => {
      const engine = engineAt('read-committed');
      expect(engine.step(1, remove('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
      expect(engine.step(2, update('accounts', { id: 1 }, { balance: 5 }))).toEqual([blocked(2, [1])]);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [])]);
      expect(engine.step(2, commit)).toEqual([completed(2, [])]);
      expect(engine.tables().accounts).toEqual([
        { id: 2, balance: 500 },
        { id: 3, balance: 800 },
      ]);
    });

    it('the waiting SELECT FOR UPDATE completes with no rows', () => {
      const engine = engineAt('read-committed');
      expect(engine.step(1, remove('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
      expect(engine.step(2, forUpdate)).toEqual([blocked(2, [1])]);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [])]);
      expect(engine.tables().accounts.map((r) => r.id)).toEqual([2, 3]);
    });
  });

  it('the lock queue is first come first served: the holder’s commit completes only the first waiter', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, forUpdate)).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, forUpdate)).toEqual([blocked(2, [1])]);
    // Which transaction the event names is pinned by the divergence test below.
    expect(engine.step(3, forUpdate)).toEqual([{ tx: 3, kind: 'blocked', waitsFor: expect.any(Array) }]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.isBlocked(3)).toBe(true);
    expect(engine.step(2, update('accounts', { id: 1 }, { balance: { add: -300 } }))).toEqual([completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, []), completed(3, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(3, rollback)).toEqual([completed(3, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  // DIVERGENCE: in PostgreSQL the first waiter (T2) holds the heavyweight
  // tuple lock while it waits for T1's transaction, and T3 queues for that
  // tuple lock, so pg_blocking_pids(T3) is T2. The engine reports the row
  // lock's holder, T1.
  it('a waiter queued behind another waiter is reported waiting for that waiter, as pg_blocking_pids reports', () => {
    const engine = engineAt('read-committed');
    engine.step(1, forUpdate);
    engine.step(2, forUpdate);
    expect(engine.step(3, forUpdate)).toEqual([blocked(3, [2])]);
  });

  it('a locking select with limit skips a row whose re-check fails after the wait and returns the next matching row', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    const firstRich = select('accounts', { balance: { gte: 300 } }, { orderBy: [['id', 'asc']], limit: 1, lock: 'update' });
    expect(engine.step(2, firstRich)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 2, balance: 500 }])]);
    // Row 3 was never reached, so it is not locked.
    expect(engine.step(3, select('accounts', { id: 3 }, { lock: 'update' }))).toEqual([completed(3, [{ id: 3, balance: 800 }])]);
  });

  // Found by properties/random-programs.test.ts; the same steps on PostgreSQL 15 and 17 give exactly these events.
  it('a FOR SHARE holder upgrading to an UPDATE does not queue behind other waiters: it goes first once the other holders end', () => {
    const engine = engineAt('read-committed');
    engine.step(2, forShare);
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([blocked(1, [2])]);
    expect(engine.step(3, forShare)).toEqual([completed(3, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(3, deduct300)).toEqual([blocked(3, [2])]);
    expect(engine.step(2, commit)).toEqual([completed(2, []), completed(3, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(3, commit)).toEqual([completed(1, [{ id: 1, balance: 100 }]), completed(3, [])]);
  });

  it('a row lock waiter sleeps on one holder at a time: a share holder that joins later is no deadlock until the first ends', () => {
    const engine = engineAt('read-committed');
    engine.step(3, select('accounts', { id: 3 }, { lock: 'share' }));
    expect(engine.step(2, select('accounts', { balance: { gte: 500 } }, { lock: 'update' }))).toEqual([blocked(2, [3])]);
    expect(engine.step(1, select('accounts', { id: 3 }, { lock: 'share' }))).toEqual([completed(1, [{ id: 3, balance: 800 }])]);
    // T2 sleeps on T3 only, so T1 waiting for T2 closes no cycle yet.
    expect(engine.step(1, remove('accounts', { id: 2 }))).toEqual([blocked(1, [2])]);
    // T3 ends: T2 now sleeps on T1, which closes the cycle; T1, waiting longer, is the victim.
    expect(engine.step(3, commit)).toEqual([
      failed(1, deadlockDetected),
      completed(2, [
        { id: 1, balance: 3000 },
        { id: 2, balance: 500 },
        { id: 3, balance: 800 },
      ]),
      completed(3, []),
    ]);
  });
});
