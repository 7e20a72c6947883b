import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { describeTx, everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Idempotency keys: a payment request carries a key chosen by the client,
 * and a client that saw no answer sends the request again with the same
 * key; the service must charge once per key and answer every retry. Each
 * request records itself in `requests` (one row per key: the charge that
 * won, and how many requests came) with an upsert; `charges` is the ledger,
 * with an application id and no unique index on the key, as an application
 * that checks in code first would have it.
 *
 * Scenario `idempotency-key`: 5 concurrent requests with one key, balance
 * 1000, 100 each: exactly one charge of 100, the other 4 answered
 * "duplicate".
 */
export const idempotencySchema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  charges: { columns: { id: 'int', key: 'text', amount: 'int' }, primaryKey: ['id'] },
  requests: { columns: { key: 'text', charge: 'int', seen: 'int' }, primaryKey: ['key'] },
});

export type IdempotencyDb = DatabaseOf<typeof idempotencySchema>;

/** Arguments of a payment request: its idempotency key and amount. */
export interface Pay {
  readonly key: string;
  readonly amount: number;
}

const account = 1;

/** `insert into requests values (key, me, 1) on conflict (key) do update set seen = requests.seen + 1 returning *`: the key's row after this request. */
function* recordRequest(tx: Tx<IdempotencyDb>, a: Pay) {
  const [request] = yield* tx.insert('requests', { key: a.key, charge: tx.id, seen: 1 }, { onConflict: { columns: ['key'], update: { seen: { add: 1 } } } });
  return request;
}

function* charge(tx: Tx<IdempotencyDb>, a: Pay) {
  yield* tx.update('accounts', { id: account }, { balance: { add: -a.amount } });
  yield* tx.insert('charges', { id: tx.id, key: a.key, amount: a.amount });
}

/** naive: look for a charge with the key; record the request; charge when the look found none. */
function* payNaive(tx: Tx<IdempotencyDb>, a: Pay) {
  const earlier = yield* tx.select('charges', { key: a.key });
  yield* recordRequest(tx, a);
  if (earlier.length > 0) return yield* tx.commit('duplicate');
  yield* charge(tx, a);
  return yield* tx.commit('charged');
}

/** upsert: record the request first; the row it returns says who won the key (its charge is this request's id): only the winner charges. */
function* payUpsert(tx: Tx<IdempotencyDb>, a: Pay) {
  const request = yield* recordRequest(tx, a);
  if (request.charge !== tx.id) return yield* tx.commit('duplicate');
  yield* charge(tx, a);
  return yield* tx.commit('charged');
}

const payOperation: Operation<IdempotencyDb, Pay> = {
  args: fc.constantFrom('order-1', 'order-1', 'order-2').map((key) => ({ key, amount: 100 })),
  serial(state, a, { id }) {
    const request = state.requests.find((r) => r.key === a.key);
    if (request) {
      request.seen++;
      return 'duplicate';
    }
    state.requests.push({ key: a.key, charge: id, seen: 1 });
    state.accounts.find((r) => r.id === account)!.balance -= a.amount;
    state.charges.push({ id, key: a.key, amount: a.amount });
    return 'charged';
  },
};

/** One charge per key, one per "charged" answer, and the balance down by exactly what was charged. */
const chargedOncePerKey: Invariant<IdempotencyDb> = {
  name: 'charged-once-per-key',
  check: ({ initial, final, outcomes }) => {
    const perKey = new Map<string, number>();
    for (const c of final.charges) perKey.set(c.key, (perKey.get(c.key) ?? 0) + 1);
    for (const [key, n] of perKey) if (n > 1) return `Key ${key} was charged ${n} times, but a key is charged once.`;
    const charged = withResult(outcomes, 'charged');
    if (charged.length !== final.charges.length) return `${plural(final.charges.length, 'charge')} for ${plural(charged.length, '"charged" answer')}.`;
    const spent = initial.accounts[0].balance - final.accounts[0].balance;
    const total = final.charges.reduce((sum, c) => sum + c.amount, 0);
    return spent === total ? null : `The balance went down by ${spent}, but the charges add up to ${total}.`;
  },
};

/** Every request is recorded: a key's `seen` counts its requests that were answered. */
const everyRequestRecorded: Invariant<IdempotencyDb> = {
  name: 'every-request-recorded',
  check: ({ final, outcomes }) => {
    for (const r of final.requests) {
      const answered = outcomes.filter((o) => (o.args as Pay).key === r.key && (o.result === 'charged' || o.result === 'duplicate'));
      if (r.seen !== answered.length) return `Key ${r.key} counts ${plural(r.seen, 'request')}, but ${answered.length} were answered${answered.length > 0 ? ` (${answered.map(describeTx).join(', ')})` : ''}.`;
    }
    return null;
  },
};

export const idempotencyKey = defineScenario({
  id: 'idempotency-key',
  title: 'balance 1000; a payment of 100 retried concurrently with one idempotency key',
  schema: idempotencySchema,
  seed: { accounts: [{ id: account, balance: 1000 }], charges: [], requests: [] },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: { pay: payOperation },
  strategies: {
    naive: {
      description: 'look for a charge with the key, record the request (upsert), charge if the look found none',
      programs: { pay: payNaive },
      // Under repeatable read and serializable the second request's upsert meets the first's row, committed after its snapshot: 40001, unanswered.
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    upsert: {
      description: 'INSERT ... ON CONFLICT (key) DO UPDATE SET seen = seen + 1 RETURNING *; charge only if the returned row names this request',
      programs: { pay: payUpsert },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'upsert-retry': {
      description: 'the upsert strategy, run again from the start on 40001 or 40P01',
      programs: { pay: retrying(payUpsert) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [chargedOncePerKey, everyRequestRecorded, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'pay', args: { key: 'order-1', amount: 100 } })),
});
