import { describe, expect, it } from 'vitest';
import { blocked, commit, completed, concurrentUpdate, duplicateKey, engineAt, failed, insert, remove, rollback, select, seed, update } from './fixture.ts';

const ann = { id: 1, email: 'ann@example.com' };
const bob = { id: 2, email: 'bob@example.com' };

describe('memory engine: unique indexes', () => {
  it('a second inserter of a primary key waits for the first, then fails with 23505 on users_pkey when it commits', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(2, insert('users', [{ id: 2, email: 'carol@example.com' }]))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, duplicateKey('users_pkey'))]);
    expect(engine.step(2, rollback)).toEqual([completed(2, [])]);
    expect(engine.tables().users).toEqual([ann, bob]);
  });

  it('a second inserter of a secondary unique key waits for the first, then fails with 23505 on users_email_key when it commits', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(2, insert('users', [{ id: 3, email: bob.email }]))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, duplicateKey('users_email_key'))]);
    expect(engine.tables().users).toEqual([ann, bob]);
  });

  it('a second inserter of a key inserts its row when the first inserter rolls back', () => {
    const engine = engineAt('read-committed');
    const carol = { id: 2, email: 'carol@example.com' };
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(2, insert('users', [carol]))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, rollback)).toEqual([completed(1, []), completed(2, [carol])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().users).toEqual([ann, carol]);
  });

  it('inserting a key that is already committed fails at once', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, insert('users', [{ id: 1, email: 'zed@example.com' }]))).toEqual([failed(1, duplicateKey('users_pkey'))]);
    expect(engine.step(2, insert('users', [{ id: 5, email: ann.email }]))).toEqual([failed(2, duplicateKey('users_email_key'))]);
    expect(engine.tables()).toEqual(seed());
  });

  it('an inserter waits for a transaction that deleted the same key, and inserts once it commits', () => {
    const engine = engineAt('read-committed');
    const zed = { id: 1, email: 'zed@example.com' };
    expect(engine.step(1, remove('users', { id: 1 }))).toEqual([completed(1, [ann])]);
    expect(engine.step(2, insert('users', [zed]))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [zed])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().users).toEqual([zed]);
  });

  it('ON CONFLICT DO NOTHING waits for an in-progress inserter of the key, then inserts nothing when it commits', () => {
    const engine = engineAt('read-committed');
    const carol = { id: 2, email: 'carol@example.com' };
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(2, insert('users', [carol], 'nothing'))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().users).toEqual([ann, bob]);
  });

  it('ON CONFLICT DO NOTHING inserts its row when the in-progress inserter rolls back', () => {
    const engine = engineAt('read-committed');
    const carol = { id: 2, email: 'carol@example.com' };
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(2, insert('users', [carol], 'nothing'))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, rollback)).toEqual([completed(1, []), completed(2, [carol])]);
    expect(engine.step(2, commit)).toEqual([completed(2, [])]);
    expect(engine.tables().users).toEqual([ann, carol]);
  });

  // DIVERGENCE: under repeatable read (and serializable) PostgreSQL checks
  // that the conflicting row is visible to the transaction snapshot
  // (ExecCheckTupleVisible) and raises 40001 when it is not. The engine skips
  // the row and returns no rows.
  it('repeatable read: ON CONFLICT DO NOTHING against a row committed after the snapshot fails with 40001', () => {
    const engine = engineAt('repeatable-read');
    expect(engine.step(2, select('users', {}))).toEqual([completed(2, [ann])]);
    expect(engine.step(1, insert('users', [bob]))).toEqual([completed(1, [bob])]);
    expect(engine.step(1, commit)).toEqual([completed(1, [])]);
    expect(engine.step(2, insert('users', [{ id: 2, email: 'carol@example.com' }], 'nothing'))).toEqual([failed(2, concurrentUpdate)]);
  });

  // DIVERGENCE: PostgreSQL checks unique indexes on UPDATE too (the new row
  // version is inserted into each index). The engine checks them only on
  // INSERT, so an UPDATE can create a duplicate key.
  it('an UPDATE that gives a row a committed key of another row fails with 23505', () => {
    const engine = engineAt('read-committed', { accounts: [], users: [ann, bob] });
    expect(engine.step(1, update('users', { id: 2 }, { email: ann.email }))).toEqual([failed(1, duplicateKey('users_email_key'))]);
    expect(engine.tables().users).toEqual([ann, bob]);
  });

  // DIVERGENCE: as above, and an UPDATE to a key an in-progress transaction
  // inserted waits for it, then fails with 23505 when it commits.
  it('an UPDATE to a key an in-progress transaction inserted waits for it, then fails with 23505 when it commits', () => {
    const engine = engineAt('read-committed', { accounts: [], users: [ann, bob] });
    const carol = { id: 3, email: 'carol@example.com' };
    expect(engine.step(1, insert('users', [carol]))).toEqual([completed(1, [carol])]);
    expect(engine.step(2, update('users', { id: 2 }, { email: carol.email }))).toEqual([blocked(2, [1])]);
    expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, duplicateKey('users_email_key'))]);
  });

  // Found by properties/random-programs.test.ts. Each case below was run with
  // the same steps on PostgreSQL 15 and 17 and gave exactly these events.
  describe('index entries are made one index at a time, as PostgreSQL makes them', () => {
    it('an INSERT waiting on its second unique index already holds its key in the first: a third inserter of that key waits for it', () => {
      const engine = engineAt('read-committed');
      const carol = { id: 2, email: 'carol@example.com' };
      expect(engine.step(1, update('users', { id: 1 }, { email: bob.email }))).toEqual([completed(1, [{ id: 1, email: bob.email }])]);
      expect(engine.step(2, insert('users', [bob]))).toEqual([blocked(2, [1])]);
      expect(engine.step(3, insert('users', [carol]))).toEqual([blocked(3, [2])]);
      expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, duplicateKey('users_email_key')), completed(3, [carol])]);
      expect(engine.step(3, commit)).toEqual([completed(3, [])]);
      expect(engine.tables().users).toEqual([{ id: 1, email: bob.email }, carol]);
    });

    it('every version of a row stays in the index: an older version with the key, replaced by a running transaction, is waited for', () => {
      const engine = engineAt('read-committed');
      engine.step(1, update('users', { id: 1 }, { email: bob.email }));
      expect(engine.step(1, update('users', { id: 1 }, { email: 'carol@example.com' }))).toEqual([completed(1, [{ id: 1, email: 'carol@example.com' }])]);
      expect(engine.step(2, insert('users', [{ id: 2, email: ann.email }]))).toEqual([blocked(2, [1])]);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 2, email: ann.email }])]);
    });
  });

  describe('ON CONFLICT DO NOTHING', () => {
    it('under repeatable read, a conflicting version committed after the snapshot fails with 40001 even when an older version of the row is visible', () => {
      const engine = engineAt('repeatable-read');
      engine.step(2, select('accounts', { id: 2 }));
      engine.step(1, update('accounts', { id: 1 }, { balance: 2700 }));
      engine.step(1, commit);
      expect(engine.step(2, insert('accounts', [{ id: 1, balance: 5 }], 'nothing'))).toEqual([failed(2, concurrentUpdate)]);
    });

    it('under read committed, the same conflict skips the row', () => {
      const engine = engineAt('read-committed');
      engine.step(2, select('accounts', { id: 2 }));
      engine.step(1, update('accounts', { id: 1 }, { balance: 2700 }));
      engine.step(1, commit);
      expect(engine.step(2, insert('accounts', [{ id: 1, balance: 5 }], 'nothing'))).toEqual([completed(2, [])]);
    });

    it('after a wait, only the index waited on (and those after it) is checked again: the row is skipped for its own key', () => {
      const engine = engineAt('repeatable-read');
      engine.step(1, update('users', { id: 1 }, { email: bob.email }));
      expect(engine.step(2, insert('users', [{ id: 2, email: ann.email }], 'nothing'))).toEqual([blocked(2, [1])]);
      engine.step(3, insert('users', [{ id: 2, email: 'dan@example.com' }]));
      engine.step(3, commit);
      expect(engine.step(1, rollback)).toEqual([completed(1, []), completed(2, [])]);
    });

    it('after a wait, a conflict in an earlier index makes the speculative insertion start over: 40001 under repeatable read', () => {
      const engine = engineAt('repeatable-read');
      engine.step(1, update('users', { id: 1 }, { email: bob.email }));
      expect(engine.step(2, insert('users', [{ id: 2, email: ann.email }], 'nothing'))).toEqual([blocked(2, [1])]);
      engine.step(3, insert('users', [{ id: 2, email: 'dan@example.com' }]));
      engine.step(3, commit);
      expect(engine.step(1, commit)).toEqual([completed(1, []), failed(2, concurrentUpdate)]);
    });
  });
});
