import * as fc from 'fast-check';
import { isSqlState, type Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { SqlState } from '../statement.ts';
import { describeTx, everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Isolation and locking behaviour: what a reader sees of an uncommitted
 * write, a versioned row updated twice, and two transfers that lock two rows
 * in opposite orders.
 *
 * Scenarios: `dirty-read`, `optimistic-conflict`, `deadlock-retry`.
 */

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;
const onSerializationFailure = [SqlState.serializationFailure];

// ============================== dirty-read ==============================

export const dirtyReadSchema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
});

export type DirtyReadDb = DatabaseOf<typeof dirtyReadSchema>;

const opening = 1000;

/**
 * A payment that writes the balance and is then declined (the application
 * rolls it back). In one transaction PostgreSQL never shows the write; with
 * autocommit the write is committed at once and the "rollback" is a
 * compensating write, so a reader in between sees a balance that, as far as
 * the application is concerned, never existed: a dirty read one level up.
 */
function* declineOneTransaction(tx: Tx<DirtyReadDb>, a: { amount: number }) {
  yield* tx.update('accounts', { id: 1 }, { balance: { add: -a.amount } });
  return yield* tx.rollback('declined');
}

function* declineAutocommit(tx: Tx<DirtyReadDb>, a: { amount: number }) {
  yield* tx.update('accounts', { id: 1 }, { balance: { add: -a.amount } });
  yield* tx.commit(null);
  yield* tx.update('accounts', { id: 1 }, { balance: { add: a.amount } });
  return yield* tx.commit('declined');
}

function* readBalance(tx: Tx<DirtyReadDb>) {
  const acct = yield* tx.selectOne('accounts', { id: 1 });
  return yield* tx.commit(acct!.balance);
}

const declineOperation: Operation<DirtyReadDb, { amount: number }> = {
  args: fc.integer({ min: 1, max: 3 }).map((k) => ({ amount: k * 100 })),
  serial: () => 'declined',
};

const readOperation: Operation<DirtyReadDb, Record<string, never>> = {
  args: fc.constant({}),
  serial: (state) => state.accounts[0].balance,
};

/** No read returned a balance other than the committed 1000: declined payments are never seen. */
const noDirtyRead: Invariant<DirtyReadDb> = {
  name: 'no-dirty-read',
  check: ({ outcomes }) => {
    const dirty = outcomes.find((o) => o.operation === 'read' && o.result !== undefined && o.result !== opening);
    return dirty ? `${describeTx(dirty)} read a balance of ${dirty.result}, which only a declined payment wrote: a dirty read.` : null;
  },
};

export const dirtyRead = defineScenario({
  id: 'dirty-read',
  title: 'balance 1000; a reader during a payment that writes and is then declined',
  schema: dirtyReadSchema,
  seed: { accounts: [{ id: 1, balance: opening }] },
  isolationLevels,
  operations: { decline: declineOperation, read: readOperation },
  strategies: {
    autocommit: {
      description: 'each statement commits on its own; the decline writes the balance back',
      programs: { decline: declineAutocommit, read: readBalance },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'one-transaction': {
      description: 'the payment writes in a transaction and rolls it back',
      programs: { decline: declineOneTransaction, read: readBalance },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      // The naive payment (autocommit) spans two transactions; retried here is the natural one-transaction payment.
      description: 'the payment in one transaction and the read, each run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { decline: retrying(declineOneTransaction, onSerializationFailure), read: retrying(readBalance, onSerializationFailure) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [noDirtyRead],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'decline', args: { amount: 500 } },
    { operation: 'read', args: {} },
  ],
});

// ============================== optimistic-conflict ==============================

export const versionedSchema = defineSchema({
  documents: { columns: { id: 'int', value: 'int', version: 'int' }, primaryKey: ['id'] },
});

export type VersionedDb = DatabaseOf<typeof versionedSchema>;

/** naive: read the row, write value + n without looking at the version. */
function* editNaive(tx: Tx<VersionedDb>, a: { add: number }) {
  const doc = yield* tx.selectOne('documents', { id: 1 });
  yield* tx.update('documents', { id: 1 }, { value: doc!.value + a.add, version: doc!.version + 1 });
  return yield* tx.commit('ok');
}

/**
 * optimistic: read value and version, UPDATE ... WHERE version = the one read;
 * no row changed (or 40001 under repeatable read) means someone else won:
 * roll back, read again and retry.
 */
function* editOptimistic(tx: Tx<VersionedDb>, a: { add: number }): Generator<any, string, any> {
  for (;;) {
    try {
      const doc = yield* tx.selectOne('documents', { id: 1 });
      const changed = yield* tx.update('documents', { id: 1, version: doc!.version }, { value: doc!.value + a.add, version: doc!.version + 1 });
      if (changed.length === 1) return yield* tx.commit('ok');
      yield* tx.rollback(null);
    } catch (e) {
      if (!isSqlState(e, SqlState.serializationFailure)) throw e;
      yield* tx.rollback(null);
    }
  }
}

const editOperation: Operation<VersionedDb, { add: number }> = {
  args: fc.integer({ min: 1, max: 3 }).map((k) => ({ add: k * 10 })),
  serial(state, a) {
    const doc = state.documents[0];
    doc.value += a.add;
    doc.version += 1;
    return 'ok';
  },
};

/** One update wins at a time and none is lost: the value moved by every successful edit, the version by their number. */
const noLostEdit: Invariant<VersionedDb> = {
  name: 'no-lost-edit',
  check: ({ initial, final, outcomes }) => {
    const ok = withResult(outcomes, 'ok');
    const expected = initial.documents[0].value + ok.reduce((s, o) => s + (o.args as { add: number }).add, 0);
    const doc = final.documents[0];
    if (doc.value !== expected) return `The value ended at ${doc.value}, but ${plural(ok.length, 'successful edit')} should leave ${expected}: an edit was lost.`;
    const version = initial.documents[0].version + ok.length;
    return doc.version === version ? null : `The version ended at ${doc.version}, but ${plural(ok.length, 'successful edit')} should leave ${version}.`;
  },
};

export const optimisticConflict = defineScenario({
  id: 'optimistic-conflict',
  title: 'two updates of one versioned row (value 0, version 1)',
  schema: versionedSchema,
  seed: { documents: [{ id: 1, value: 0, version: 1 }] },
  isolationLevels,
  operations: { edit: editOperation },
  strategies: {
    naive: {
      description: 'read, write value + n and version + 1 without checking the version',
      programs: { edit: editNaive },
      // Under repeatable read the second writer gets 40001, which it does not handle.
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    optimistic: {
      description: 'UPDATE ... WHERE version = the version read; on no row (or 40001) read again and retry',
      programs: { edit: editOptimistic },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive edit, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { edit: retrying(editNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [noLostEdit, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'edit', args: { add: 10 } },
    { operation: 'edit', args: { add: 20 } },
  ],
});

// ============================== deadlock-retry ==============================

export const transferSchema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
});

export type TransferDb = DatabaseOf<typeof transferSchema>;

/** A transfer between the two accounts; `from` is 1 or 2 and `to` the other. */
export interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly amount: number;
}

/** naive: debit `from`, then credit `to`; two transfers in opposite directions lock the rows in opposite orders. */
function* transferNaive(tx: Tx<TransferDb>, a: Transfer) {
  yield* tx.update('accounts', { id: a.from }, { balance: { add: -a.amount } });
  yield* tx.update('accounts', { id: a.to }, { balance: { add: a.amount } });
  return yield* tx.commit('ok');
}

/** ordered-locks: write the lower account id first, whatever the direction, so no two transfers wait on each other in a cycle. */
function* transferOrdered(tx: Tx<TransferDb>, a: Transfer) {
  const [first, second] = a.from < a.to ? [a.from, a.to] : [a.to, a.from];
  for (const id of [first, second]) yield* tx.update('accounts', { id }, { balance: { add: id === a.from ? -a.amount : a.amount } });
  return yield* tx.commit('ok');
}

const transferOperation: Operation<TransferDb, Transfer> = {
  args: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3 })).map(([forward, k]) => ({ from: forward ? 1 : 2, to: forward ? 2 : 1, amount: k * 100 })),
  serial(state, a) {
    state.accounts.find((r) => r.id === a.from)!.balance -= a.amount;
    state.accounts.find((r) => r.id === a.to)!.balance += a.amount;
    return 'ok';
  },
};

/** Every transfer ended applied: each account moved by exactly the transfers in and out of it. */
const allTransfersApplied: Invariant<TransferDb> = {
  name: 'every-transfer-applied',
  check: ({ initial, final, outcomes }) => {
    const failed = outcomes.find((o) => o.result !== 'ok');
    if (failed) return `${describeTx(failed)} ended with ${failed.error?.code ?? JSON.stringify(failed.result)}, but both transfers must end applied.`;
    for (const acct of final.accounts) {
      let expected = initial.accounts.find((r) => r.id === acct.id)!.balance;
      for (const o of outcomes) {
        const t = o.args as Transfer;
        if (t.from === acct.id) expected -= t.amount;
        if (t.to === acct.id) expected += t.amount;
      }
      if (acct.balance !== expected) return `Account ${acct.id} ended at ${acct.balance}, but the transfers leave ${expected}.`;
    }
    return null;
  },
};

export const deadlockRetry = defineScenario({
  id: 'deadlock-retry',
  title: 'accounts 1 and 2 with 1000 each; transfers between them in both directions',
  schema: transferSchema,
  seed: { accounts: [{ id: 1, balance: 1000 }, { id: 2, balance: 1000 }] },
  isolationLevels,
  operations: { transfer: transferOperation },
  strategies: {
    naive: {
      description: 'debit then credit, no retry: the deadlock victim (40P01) is lost',
      programs: { transfer: transferNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'deadlock-retry': {
      description: 'debit then credit; on 40P01 (or 40001) roll back and run the transfer again',
      programs: { transfer: retrying(transferNaive) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'ordered-locks': {
      description: 'write the lower account id first, so the rows are always locked in one order',
      programs: { transfer: transferOrdered },
      // No deadlock, but under repeatable read the waiter gets 40001 on the row the winner changed.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'debit then credit, run again from the start on 40001 only (meant for SERIALIZABLE): the deadlock victim (40P01) is still lost',
      programs: { transfer: retrying(transferNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
  },
  invariants: [allTransfersApplied, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'transfer', args: { from: 1, to: 2, amount: 100 } },
    { operation: 'transfer', args: { from: 2, to: 1, amount: 200 } },
  ],
});
