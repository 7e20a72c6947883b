import { describe, expect, it } from 'vitest';
import {
  blocked,
  commit,
  completed,
  deadlockDetected,
  duplicateKey,
  engineAt,
  failed,
  inFailedTransaction,
  insert,
  remove,
  rollback,
  seed,
  select,
  update,
} from './fixture.ts';

describe('memory engine: transaction ends and errors', () => {
  it('rollback discards every write of the transaction', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.step(1, remove('accounts', { id: 2 }))).toEqual([completed(1, [{ id: 2, balance: 500 }])]);
    expect(engine.step(1, insert('users', [{ id: 2, email: 'bob@example.com' }]))).toEqual([completed(1, [{ id: 2, email: 'bob@example.com' }])]);
    expect(engine.step(1, rollback)).toEqual([completed(1, [])]);
    expect(engine.tables()).toEqual(seed());
    expect(engine.step(2, select('accounts', {}))).toEqual([completed(2, seed().accounts)]);
  });

  it('deadlock: the transaction closing the cycle fails with 40P01, and the release of its locks completes the other in the same step', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, select('accounts', { id: 1 }, { lock: 'update' }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
    expect(engine.step(2, update('accounts', { id: 2 }, { balance: { add: 100 } }))).toEqual([completed(2, [{ id: 2, balance: 600 }])]);
    expect(engine.step(1, select('accounts', { id: 2 }, { lock: 'update' }))).toEqual([blocked(1, [2])]);
    // T1 reads row 2 as committed: T2's update was undone when T2 was aborted.
    expect(engine.step(2, select('accounts', { id: 1 }, { lock: 'update' }))).toEqual([
      completed(1, [{ id: 2, balance: 500 }]),
      failed(2, deadlockDetected),
    ]);
    expect(engine.step(2, rollback)).toEqual([completed(2, [])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.tables()).toEqual(seed());
  });

  it('after an error every further statement fails with 25P02, and commit ends the transaction without applying anything', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.step(1, insert('users', [{ id: 1, email: 'zed@example.com' }]))).toEqual([failed(1, duplicateKey('users_pkey'))]);
    expect(engine.step(1, select('accounts', { id: 1 }))).toEqual([failed(1, inFailedTransaction)]);
    expect(engine.step(1, update('accounts', { id: 2 }, { balance: 0 }))).toEqual([failed(1, inFailedTransaction)]);
    expect(engine.step(1, insert('users', [{ id: 9, email: 'x@example.com' }]))).toEqual([failed(1, inFailedTransaction)]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.tables()).toEqual(seed());
    // The next statement opens a new transaction.
    expect(engine.step(1, select('accounts', { id: 1 }))).toEqual([completed(1, [{ id: 1, balance: 3000 }])]);
  });

  it('abandon after an error ends the transaction as ROLLBACK does', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 100 }))).toEqual([completed(1, [{ id: 1, balance: 100 }])]);
    expect(engine.step(1, insert('users', [{ id: 7, email: 'ann@example.com' }]))).toEqual([failed(1, duplicateKey('users_email_key'))]);
    expect(engine.abandon(1)).toEqual([completed(1, [])]);
    expect(engine.tables()).toEqual(seed());
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: { add: 1 } }))).toEqual([completed(1, [{ id: 1, balance: 3001 }])]);
  });
});
