import { describe, expect, it } from 'vitest';
import type { DbError } from '../../src/model/statement.ts';
import { commit, completed, engineAt, failed, insert, rollback, select, update } from './fixture.ts';

// Each case was run on PostgreSQL 15 and 17 with the same steps and gave the same results.
const ssiFailure: DbError = { code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' };

describe('memory engine: serializable (SSI)', () => {
  it('write skew: each reads the row the other writes; the second COMMIT fails with 40001', () => {
    const engine = engineAt('serializable');
    engine.step(1, select('accounts', { id: 1 }));
    engine.step(1, select('accounts', { id: 2 }));
    engine.step(2, select('accounts', { id: 1 }));
    engine.step(2, select('accounts', { id: 2 }));
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 0 }))).toEqual([completed(1, [{ id: 1, balance: 0 }])]);
    expect(engine.step(2, update('accounts', { id: 2 }, { balance: 0 }))).toEqual([completed(2, [{ id: 2, balance: 0 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, commit)).toEqual([failed(2, ssiFailure)]);
    expect(engine.tables().accounts.map((r) => r.balance)).toEqual([0, 500, 800]);
  });

  it('a pivot doomed at another COMMIT fails at its next read, not only at its own COMMIT', () => {
    const engine = engineAt('serializable');
    engine.step(1, select('accounts', { id: 1 }));
    engine.step(2, select('accounts', { id: 2 }));
    engine.step(1, update('accounts', { id: 2 }, { balance: 0 }));
    engine.step(2, update('accounts', { id: 1 }, { balance: 0 }));
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, select('accounts', { id: 3 }))).toEqual([failed(2, ssiFailure)]);
    expect(engine.step(2, rollback)).toEqual([completed(2, [])]);
  });

  it('a committed reader is the pivot’s other end: the writer that closes T2 -rw-> T1 -rw-> T2 fails at its write', () => {
    const engine = engineAt('serializable');
    engine.step(1, select('accounts', { id: 1 }));
    engine.step(2, select('accounts', { id: 1 }));
    engine.step(2, select('accounts', { id: 2 }));
    engine.step(2, update('accounts', { id: 2 }, { balance: 0 }));
    engine.step(2, commit);
    expect(engine.step(1, select('accounts', { id: 2 }))).toEqual([completed(1, [{ id: 2, balance: 500 }])]);
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 0 }))).toEqual([failed(1, ssiFailure)]);
  });

  it('a sequential scan locks the whole relation: an update of a row it never matched still conflicts', () => {
    const engine = engineAt('serializable');
    expect(engine.step(1, select('accounts', { balance: 7 }))).toEqual([completed(1, [])]);
    engine.step(2, select('accounts', { id: 2 }));
    engine.step(2, update('accounts', { id: 1 }, { balance: 1 }));
    engine.step(2, commit);
    expect(engine.step(1, update('accounts', { id: 2 }, { balance: 1 }))).toEqual([failed(1, ssiFailure)]);
  });

  it('an index scan locks only what it fetched: the same schedule with a key lookup commits', () => {
    const engine = engineAt('serializable');
    expect(engine.step(1, select('accounts', { id: 3 }))).toEqual([completed(1, [{ id: 3, balance: 800 }])]);
    engine.step(2, select('accounts', { id: 2 }));
    engine.step(2, update('accounts', { id: 1 }, { balance: 1 }));
    engine.step(2, commit);
    expect(engine.step(1, update('accounts', { id: 2 }, { balance: 1 }))).toEqual([completed(1, [{ id: 2, balance: 1 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
  });

  it('a duplicate key that completes a dangerous structure is reported as 40001, not 23505', () => {
    const engine = engineAt('serializable');
    engine.step(1, select('users', { email: 'bob@example.com' }));
    engine.step(2, select('users', { email: 'bob@example.com' }));
    engine.step(1, insert('users', [{ id: 2, email: 'bob@example.com' }]));
    engine.step(1, commit);
    expect(engine.step(2, insert('users', [{ id: 3, email: 'bob@example.com' }]))).toEqual([failed(2, ssiFailure)]);
  });
});
