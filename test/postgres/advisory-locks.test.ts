import { beforeEach, describe, expect, it } from 'vitest';
import { advisoryKey, SqlCompiler } from '../../src/adapters/postgres/sql-compiler.ts';
import { defineSchema, type Tables } from '../../src/model/schema.ts';
import type { DbError, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Advisory locks (issue #13 item 7), `pg_advisory_xact_lock` and
 * `pg_try_advisory_xact_lock`, run step by step on the model and on
 * PostgreSQL, each step's events asserted exactly on both sides (the same on
 * PostgreSQL 15, with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
});

const seed: Tables = {
  accounts: [
    { id: 1, balance: 3000 },
    { id: 2, balance: 500 },
  ],
};

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const lock = (key: number): Statement => ({ kind: 'advisory-lock', key });
const tryLock = (key: number): Statement => ({ kind: 'advisory-lock', key, try: true });
const account = (id: number): Statement => ({ kind: 'select', table: 'accounts', where: { id } });
const forUpdate = (id: number): Statement => ({ kind: 'select', table: 'accounts', where: { id }, lock: 'update' });
const setBalance = (id: number, balance: number): Statement => ({ kind: 'update', table: 'accounts', where: { id }, set: { balance } });
const deadlock: DbError = { code: '40P01', message: 'deadlock detected' };

describe('advisory locks, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('a second locker waits for the holder; try answers false without waiting, true for a free key or one it holds; the lock goes at COMMIT', async () => {
    await both.rows(1, lock(7), []);
    await both.rows(1, lock(7), []);
    await both.rows(1, tryLock(7), [{ locked: true }]);
    await both.expect(2, lock(7), [blocked(2, [1])]);
    await both.rows(3, tryLock(7), [{ locked: false }]);
    await both.rows(3, tryLock(8), [{ locked: true }]);
    await both.expect(1, commit, [completed(1, []), completed(2, [])]);
    await both.rows(4, tryLock(7), [{ locked: false }]);
    await both.rows(2, commit, []);
    await both.rows(4, tryLock(7), [{ locked: true }]);
    await both.rows(3, rollback, []);
    await both.rows(4, commit, []);
  });

  it('waiters queue first come first served: the holder and those ahead block a waiter, the first is granted the lock at ROLLBACK', async () => {
    await both.rows(1, lock(-5), []);
    await both.expect(3, lock(-5), [blocked(3, [1])]);
    await both.expect(2, lock(-5), [blocked(2, [1, 3])]);
    await both.expect(1, rollback, [completed(1, []), completed(3, [])]);
    await both.rows(3, tryLock(2 ** 62), [{ locked: true }]);
    await both.expect(3, commit, [completed(2, []), completed(3, [])]);
    await both.rows(2, commit, []);
  });

  it('a waiter aborted by a deadlock leaves the queue: two advisory locks taken in opposite orders, the one closing the cycle is the victim', async () => {
    await both.rows(1, lock(1), []);
    await both.rows(2, lock(2), []);
    await both.expect(3, lock(1), [blocked(3, [1])]);
    await both.expect(1, lock(2), [blocked(1, [2])]);
    await both.expect(2, lock(1), [completed(1, []), failed(2, deadlock)]);
    await both.expect(1, commit, [completed(1, []), completed(3, [])]);
    await both.rows(2, rollback, []);
    await both.rows(3, commit, []);
  });

  it('a deadlock between an advisory lock and a row lock is found, in either order', async () => {
    await both.rows(1, lock(1), []);
    await both.rows(2, forUpdate(1), [seed.accounts[0]]);
    await both.expect(1, setBalance(1, 2700), [blocked(1, [2])]);
    await both.expect(2, lock(1), [completed(1, [{ id: 1, balance: 2700 }]), failed(2, deadlock)]);
    await both.rows(1, commit, []);
    await both.rows(2, rollback, []);

    await both.rows(1, lock(1), []);
    await both.rows(2, setBalance(2, 400), [{ id: 2, balance: 400 }]);
    await both.expect(2, lock(1), [blocked(2, [1])]);
    await both.expect(1, forUpdate(2), [failed(1, deadlock), completed(2, [])]);
    await both.rows(2, commit, []);
    await both.rows(1, rollback, []);
  });

  it('repeatable read: the lock statement takes the snapshot before it waits, so a read after the wait misses the holder’s commit and a write fails with 40001', async () => {
    await both.reset('repeatable-read');
    await both.rows(1, lock(1), []);
    await both.rows(1, setBalance(1, 2700), [{ id: 1, balance: 2700 }]);
    await both.expect(2, lock(1), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [])]);
    await both.rows(2, account(1), [seed.accounts[0]]);
    await both.expect(2, setBalance(1, 2400), [failed(2, { code: '40001', message: 'could not serialize access due to concurrent update' })]);
    await both.rows(2, rollback, []);
    // Read committed: each statement reads what has committed by its start, the holder's write included.
    await both.reset('read-committed');
    await both.rows(1, lock(1), []);
    await both.rows(1, setBalance(1, 2700), [{ id: 1, balance: 2700 }]);
    await both.expect(2, lock(1), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), completed(2, [])]);
    await both.rows(2, account(1), [{ id: 1, balance: 2700 }]);
    await both.rows(2, commit, []);
  });
});

describe('advisory lock SQL', () => {
  it('compiles to pg_advisory_xact_lock and pg_try_advisory_xact_lock, the key as written in reports and specs and shifted per run schema', () => {
    expect(new SqlCompiler(schema, '').statement(lock(42))).toEqual({ sql: 'select pg_advisory_xact_lock($1)', parameters: [42] });
    expect(new SqlCompiler(schema, 'lockstep_spec').statement(lock(42))).toEqual({ sql: 'select pg_advisory_xact_lock($1)', parameters: [42] });
    expect(new SqlCompiler(schema, '').statement(tryLock(42))).toEqual({ sql: 'select pg_try_advisory_xact_lock($1) as locked', parameters: [42] });
    const run = new SqlCompiler(schema, 'lockstep_0123456789ab').statement(lock(42));
    expect(run.parameters).toEqual([advisoryKey(42, 'lockstep_0123456789ab')]);
    expect(BigInt(advisoryKey(43, 'lockstep_0123456789ab')) - BigInt(advisoryKey(42, 'lockstep_0123456789ab'))).toBe(1n);
    expect(advisoryKey(42, 'lockstep_0123456789ab')).not.toBe(advisoryKey(42, 'lockstep_ba9876543210'));
    expect(BigInt(advisoryKey(2 ** 63 - 1024, 'lockstep_0123456789ab'))).toBeLessThan(2n ** 63n);
  });
});
