import { describe, expect, it } from 'vitest';
import type { DbError } from '../../src/model/statement.ts';
import { blocked, commit, completed, engineAt, failed, insert, rollback, select, update } from './fixture.ts';

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

  // Found by properties/random-programs.test.ts; each case checked on PostgreSQL 15 and 17 as above (one difference noted).
  it('a non-HOT update checks each index page as it adds its entry: 40001 at the primary key before 23505 at the email index', () => {
    const engine = engineAt('serializable', { accounts: [], users: [{ id: 1, email: 'ann@example.com' }, { id: 2, email: 'bob@example.com' }] });
    engine.step(2, select('users', { id: 1 }));
    engine.step(1, update('users', { id: 2 }, { email: 'carol@example.com' }));
    engine.step(1, commit);
    expect(engine.step(2, update('users', { id: 1 }, { email: 'carol@example.com' }))).toEqual([failed(2, ssiFailure)]);
  });

  it('an insert checks the relation before its unique indexes: 40001, not 23505', () => {
    const engine = engineAt('serializable');
    engine.step(2, select('accounts', { balance: 7 }));
    engine.step(1, select('accounts', { balance: 8 }));
    engine.step(1, insert('accounts', [{ id: 4, balance: 1 }]));
    engine.step(1, commit);
    expect(engine.step(2, insert('accounts', [{ id: 4, balance: 1 }]))).toEqual([failed(2, ssiFailure)]);
  });

  it('a writer doomed while it waited fails at its next write check: the unique check after the wait', () => {
    const engine = engineAt('serializable');
    engine.step(2, select('accounts', { id: 1 }));
    engine.step(1, select('accounts', { balance: 7 }));
    engine.step(1, insert('accounts', [{ id: 4, balance: 1 }]));
    expect(engine.step(2, insert('accounts', [{ id: 4, balance: 2 }]))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, ssiFailure)]);
  });

  it('a read of a version the transaction wrote itself takes no SIREAD tuple lock, so it does not count towards promotion to the page', () => {
    const engine = engineAt('serializable');
    engine.step(1, select('accounts', { balance: 7 }));
    engine.step(2, select('accounts', { id: 2 }));
    engine.step(2, select('accounts', { id: 3 }));
    engine.step(2, insert('accounts', [{ id: 4, balance: 1 }]));
    engine.step(2, select('accounts', { id: 4 }));
    engine.step(2, commit);
    // Two tuple locks (rows 2 and 3), not three: nothing covers row 1.
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: 1 }))).toEqual([completed(1, [{ id: 1, balance: 1 }])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
  });

  it('a writer meets the SIREAD locks in the order they were taken, which decides whom a later COMMIT dooms', () => {
    const engine = engineAt('serializable');
    engine.step(1, insert('accounts', [{ id: 4, balance: 1 }]));
    engine.step(3, update('accounts', { balance: { gte: 600 } }, { balance: 1 }));
    engine.step(1, select('accounts', { balance: { gte: 600 } }));
    expect(engine.step(1, select('accounts', { id: 3 }, { lock: 'update' }))).toEqual([blocked(1, [3])]);
    // T2's write meets T3's relation lock first, then T1's: T3 -rw-> T2, T1 -rw-> T2, in that order.
    engine.step(2, update('accounts', { id: 2 }, { balance: 1 }));
    // T2's COMMIT dooms the first pivot it finds, T3 (T1 -rw-> T3 -rw-> T2), which spares T1.
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.step(3, commit)).toEqual([completed(1, [{ id: 3, balance: 800 }]), failed(3, ssiFailure)]);
  });

  // PostgreSQL 17 skips the row; PostgreSQL 15 fails that statement with 40001 ("during conflict out checking"). The model follows 17.
  it('a doomed transaction whose ON CONFLICT DO NOTHING skips every row writes nothing and does not fail; its next insert does', () => {
    const engine = engineAt('serializable');
    engine.step(3, update('accounts', { balance: 3000 }, { balance: 0 }));
    engine.step(1, update('accounts', { id: 2 }, { balance: 1 }));
    engine.step(1, select('accounts', { id: 1 }));
    engine.step(1, commit);
    expect(engine.step(3, insert('accounts', [{ id: 3, balance: 9 }], 'nothing'))).toEqual([completed(3, [])]);
    expect(engine.step(3, insert('accounts', [{ id: 4, balance: 9 }], 'nothing'))).toEqual([failed(3, ssiFailure)]);
  });
});
