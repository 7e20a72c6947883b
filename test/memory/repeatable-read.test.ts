import { describe, expect, it } from 'vitest';
import { blocked, commit, completed, concurrentDelete, concurrentUpdate, engineAt, failed, remove, rollback, select, update } from './fixture.ts';

const deduct300 = update('accounts', { id: 1 }, { balance: { add: -300 } });

describe('memory engine: repeatable read', () => {
  it('updating a row changed by a transaction that committed after the snapshot fails with 40001', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(2, select('accounts', { id: 2 }))).toEqual([completed(2, [{ id: 2, balance: 500 }])]);
    expect(engine.step(1, deduct300)).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, deduct300)).toEqual([failed(2, concurrentUpdate)]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  it('an update waiting for the row’s updater fails with 40001 when the updater commits', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(1, deduct300)).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, deduct300)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, concurrentUpdate)]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  it('an update waiting for the row’s updater proceeds when the updater rolls back', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(1, deduct300)).toEqual([completed(1, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, deduct300)).toEqual([blocked(2, [1])]);
    expect(engine.step(1, rollback)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  it('SELECT FOR UPDATE of a row only locked (not changed) by a transaction that committed after the snapshot succeeds', () => {
    const engine = engineAt('repeatable-read');
    const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });
    expect(engine.step(2, select('accounts', { id: 2 }))).toEqual([completed(2, [{ id: 2, balance: 500 }])]);
    expect(engine.step(1, forUpdate)).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, forUpdate)).toEqual([completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, deduct300)).toEqual([completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().accounts[0]).toEqual({ id: 1, balance: 2700 });
  });

  it('an update waiting for the row’s deleter fails with 40001 (concurrent delete) when the deleter commits', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(1, remove('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, update('accounts', { id: 1 }, { balance: 1 }))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, concurrentDelete)]);
    expect(engine.tables().accounts.map((r) => r.id)).toEqual([2, 3]);
  });

  // DIVERGENCE: PostgreSQL's LockRows node (SELECT ... FOR UPDATE/SHARE)
  // reports a concurrently deleted row with the same message as an updated
  // one, "could not serialize access due to concurrent update"; only UPDATE
  // and DELETE (ModifyTable) say "concurrent delete". The engine says
  // "concurrent delete" for the locking select too.
  it('a SELECT FOR UPDATE waiting for the row’s deleter fails with 40001 "concurrent update" when the deleter commits', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(1, remove('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, select('accounts', { id: 1 }, { lock: 'update' }))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, concurrentUpdate)]);
  });
});
