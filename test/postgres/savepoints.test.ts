import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type Tables } from '../../src/model/schema.ts';
import type { DbError, Statement } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * Savepoints (issue #13 item 6), `SAVEPOINT`, `ROLLBACK TO SAVEPOINT` and
 * `RELEASE SAVEPOINT`, run step by step on the model and on PostgreSQL, each
 * step's events asserted exactly on both sides (the same on PostgreSQL 15,
 * with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  users: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] },
});

const seed: Tables = {
  accounts: [
    { id: 1, balance: 3000 },
    { id: 2, balance: 500 },
  ],
  users: [{ id: 1, email: 'ann@example.com' }],
};
const [account1, account2] = seed.accounts;
const ann = seed.users[0];

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const savepoint = (name: string): Statement => ({ kind: 'savepoint', name });
const rollbackTo = (name: string): Statement => ({ kind: 'rollback-to', name });
const release = (name: string): Statement => ({ kind: 'release', name });
const account = (id: number, lock?: 'update' | 'share'): Statement => (lock ? { kind: 'select', table: 'accounts', where: { id }, lock } : { kind: 'select', table: 'accounts', where: { id } });
const setBalance = (id: number, balance: number): Statement => ({ kind: 'update', table: 'accounts', where: { id }, set: { balance } });
const user = (email: string): Statement => ({ kind: 'select', table: 'users', where: { email } });
const addUser = (id: number, email: string): Statement => ({ kind: 'insert', table: 'users', rows: [{ id, email }] });
const lock = (key: number): Statement => ({ kind: 'advisory-lock', key });
const noSuchSavepoint = (name: string): DbError => ({ code: '3B001', message: `savepoint "${name}" does not exist` });
const inFailedTransaction: DbError = { code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' };
const duplicateEmail: DbError = { code: '23505', message: 'duplicate key value violates unique constraint "users_email_key"' };
const deadlock: DbError = { code: '40P01', message: 'deadlock detected' };

describe('savepoints, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('ROLLBACK TO undoes the writes since the savepoint and keeps those before; the savepoint stays; RELEASE keeps the work', async () => {
    await both.rows(1, setBalance(1, 2900), [{ id: 1, balance: 2900 }]);
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, setBalance(1, 2800), [{ id: 1, balance: 2800 }]);
    await both.rows(1, addUser(2, 'bob@example.com'), [{ id: 2, email: 'bob@example.com' }]);
    await both.rows(1, rollbackTo('a'), []);
    await both.rows(1, account(1), [{ id: 1, balance: 2900 }]);
    await both.rows(1, user('bob@example.com'), []);
    await both.rows(1, setBalance(2, 400), [{ id: 2, balance: 400 }]);
    await both.rows(1, rollbackTo('a'), []);
    await both.rows(1, savepoint('b'), []);
    await both.rows(1, addUser(3, 'cy@example.com'), [{ id: 3, email: 'cy@example.com' }]);
    await both.rows(1, release('b'), []);
    await both.rows(1, commit, []);
    await both.tables({ accounts: [{ id: 1, balance: 2900 }, account2], users: [ann, { id: 3, email: 'cy@example.com' }] });
  });

  it('get-or-create: a 23505 inside the savepoint leaves the transaction failed until ROLLBACK TO, then it reads the winner\'s row', async () => {
    await both.rows(1, addUser(2, 'bob@example.com'), [{ id: 2, email: 'bob@example.com' }]);
    await both.rows(2, user('bob@example.com'), []);
    await both.rows(2, savepoint('create'), []);
    await both.expect(2, addUser(3, 'bob@example.com'), [blocked(2, [1])]);
    await both.expect(1, commit, [completed(1, []), failed(2, duplicateEmail)]);
    await both.expect(2, user('bob@example.com'), [failed(2, inFailedTransaction)]);
    await both.expect(2, savepoint('again'), [failed(2, inFailedTransaction)]);
    await both.rows(2, rollbackTo('create'), []);
    await both.rows(2, user('bob@example.com'), [{ id: 2, email: 'bob@example.com' }]);
    await both.rows(2, commit, []);
  });

  it('row locks and advisory locks taken since the savepoint are released by ROLLBACK TO, and their waiters go on; those taken before stay', async () => {
    await both.rows(1, account(1, 'update'), [account1]);
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, setBalance(2, 400), [{ id: 2, balance: 400 }]);
    await both.rows(1, lock(5), []);
    await both.expect(2, account(2, 'update'), [blocked(2, [1])]);
    await both.expect(3, lock(5), [blocked(3, [1])]);
    await both.expect(4, account(1, 'share'), [blocked(4, [1])]);
    await both.expect(1, rollbackTo('a'), [completed(1, []), completed(2, [account2]), completed(3, [])]);
    await both.expect(1, commit, [completed(1, []), completed(4, [account1])]);
    for (const tx of [2, 3, 4]) await both.rows(tx, commit, []);
  });

  it('a share lock made FOR UPDATE inside the savepoint goes back to FOR SHARE: a share waiter gets the row, an update waiter still waits', async () => {
    await both.rows(1, account(1, 'share'), [account1]);
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, account(1, 'update'), [account1]);
    await both.expect(2, account(1, 'share'), [blocked(2, [1])]);
    await both.expect(1, rollbackTo('a'), [completed(1, []), completed(2, [account1])]);
    await both.expect(3, setBalance(1, 1), [blocked(3, [1])]);
    await both.rows(2, commit, []);
    await both.expect(1, commit, [completed(1, []), completed(3, [{ id: 1, balance: 1 }])]);
    await both.rows(3, commit, []);
  });

  it('a row lock taken inside a savepoint is held under the subtransaction\'s id, later than a transaction that got its id in between: a waiter sleeps on that one first', async () => {
    await both.rows(1, setBalance(1, 1), [{ id: 1, balance: 1 }]);
    await both.rows(2, addUser(2, 'bob@example.com'), [{ id: 2, email: 'bob@example.com' }]);
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, account(2, 'share'), [account2]);
    await both.rows(2, account(2, 'share'), [account2]);
    await both.expect(3, setBalance(2, 3), [blocked(3, [2])]);
    await both.rows(1, rollbackTo('a'), []);
    await both.expect(2, commit, [completed(2, []), completed(3, [{ id: 2, balance: 3 }])]);
    await both.rows(3, commit, []);
    await both.rows(1, commit, []);
  });

  it('a deadlock victim inside a savepoint loses only the savepoint\'s work: its earlier locks still hold the other transaction', async () => {
    await both.rows(1, account(1, 'update'), [account1]);
    await both.rows(2, account(2, 'update'), [account2]);
    await both.expect(1, account(2, 'update'), [blocked(1, [2])]);
    await both.rows(2, savepoint('a'), []);
    await both.expect(2, setBalance(1, 0), [failed(2, deadlock)]);
    await both.expect(2, account(1), [failed(2, inFailedTransaction)]);
    await both.rows(2, rollbackTo('a'), []);
    await both.rows(2, setBalance(2, 0), [{ id: 2, balance: 0 }]);
    await both.expect(2, commit, [completed(1, [{ id: 2, balance: 0 }]), completed(2, [])]);
    await both.rows(1, commit, []);
  });

  it('a unique-index waiter for a row deleted inside the savepoint finds it alive again after ROLLBACK TO, and fails with 23505', async () => {
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, { kind: 'delete', table: 'users', where: { id: 1 } }, [ann]);
    await both.expect(2, addUser(2, 'ann@example.com'), [blocked(2, [1])]);
    await both.expect(1, rollbackTo('a'), [completed(1, []), failed(2, duplicateEmail)]);
    await both.rows(1, commit, []);
    await both.rows(2, rollback, []);
  });

  it('an unknown savepoint is 3B001: at the top level it aborts the transaction, inside a savepoint only the savepoint; COMMIT of a failed transaction rolls back', async () => {
    await both.expect(1, rollbackTo('nope'), [failed(1, noSuchSavepoint('nope'))]);
    await both.expect(1, rollbackTo('nope'), [failed(1, noSuchSavepoint('nope'))]);
    await both.expect(1, account(1), [failed(1, inFailedTransaction)]);
    await both.rows(1, rollback, []);
    await both.rows(1, setBalance(1, 1), [{ id: 1, balance: 1 }]);
    await both.rows(1, savepoint('a'), []);
    await both.expect(1, release('b'), [failed(1, noSuchSavepoint('b'))]);
    await both.expect(1, release('a'), [failed(1, inFailedTransaction)]);
    await both.rows(1, rollbackTo('a'), []);
    await both.rows(1, release('a'), []);
    await both.expect(1, rollbackTo('a'), [failed(1, noSuchSavepoint('a'))]);
    await both.rows(1, commit, []);
    await both.tables(seed);
  });

  it('repeatable read: ROLLBACK TO keeps the snapshot', async () => {
    await both.reset('repeatable-read');
    await both.rows(1, savepoint('a'), []);
    await both.rows(1, account(1), [account1]);
    await both.rows(2, setBalance(1, 1), [{ id: 1, balance: 1 }]);
    await both.rows(2, commit, []);
    await both.rows(1, rollbackTo('a'), []);
    await both.rows(1, account(1), [account1]);
    await both.expect(1, setBalance(1, 2), [failed(1, { code: '40001', message: 'could not serialize access due to concurrent update' })]);
    await both.rows(1, rollbackTo('a'), []);
    await both.rows(1, commit, []);
  });
});
