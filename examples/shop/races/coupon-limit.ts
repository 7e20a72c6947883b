import { defineSchema, defineScenario, everyRequestAnswered, fc, retrying, SqlState } from 'lockstep';
import type { DatabaseOf, Invariant, Operation, Tx } from 'lockstep';

/**
 * A coupon with a per-customer limit: each customer may redeem the spring
 * coupon at most twice. Customer 1 has redeemed it once already, customer 2
 * never; two or three checkouts redeem it at once.
 *
 * Rules: no customer ends with more than two redemptions, and every checkout
 * gets an answer ("redeemed" or "limit-reached"), not a database error.
 */
export const redemptionLimit = 2;

const schema = defineSchema({
  customers: { columns: { id: 'int', name: 'text' }, primaryKey: ['id'] },
  redemptions: { columns: { id: 'int', customer: 'int' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;
type Redeem = { customer: number };

/** The redemption row's id: the checkout's transaction number, past the seeded rows. */
const redemptionId = (tx: { id: number }) => 100 + tx.id;

// naive: count the customer's redemptions, insert one if under the limit.
function* redeemNaive(tx: Tx<Db>, a: Redeem) {
  const done = yield* tx.select('redemptions', { customer: a.customer });
  if (done.length >= redemptionLimit) return yield* tx.rollback('limit-reached');
  yield* tx.insert('redemptions', { id: redemptionId(tx), customer: a.customer });
  return yield* tx.commit('redeemed');
}

// lock-customer: SELECT the customer's row FOR UPDATE first, so checkouts of one customer take turns; then count and insert.
function* redeemLockCustomer(tx: Tx<Db>, a: Redeem) {
  const customer = yield* tx.selectOne('customers', { id: a.customer }, { lock: 'update' });
  if (!customer) return yield* tx.rollback('no-customer');
  return yield* redeemNaive(tx, a);
}

const redeem: Operation<Db, Redeem> = {
  args: fc.constantFrom(1, 2).map((customer) => ({ customer })),
  // What one checkout does alone: the answer every interleaving must agree with.
  serial(state, a, { id }) {
    if (!state.customers.some((c) => c.id === a.customer)) return 'no-customer';
    if (state.redemptions.filter((r) => r.customer === a.customer).length >= redemptionLimit) return 'limit-reached';
    state.redemptions.push({ id: redemptionId({ id }), customer: a.customer });
    return 'redeemed';
  },
};

const withinLimit: Invariant<Db> = {
  name: 'at-most-two-per-customer',
  check: ({ final }) => {
    for (const c of final.customers) {
      const n = final.redemptions.filter((r) => r.customer === c.id).length;
      if (n > redemptionLimit) return `Customer ${c.id} redeemed the coupon ${n} times; the limit is ${redemptionLimit}.`;
    }
    return null;
  },
};

export const couponLimit = defineScenario({
  id: 'coupon-limit',
  title: 'a coupon redeemable twice per customer; concurrent checkouts',
  schema,
  seed: {
    customers: [
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Brendan' },
    ],
    redemptions: [{ id: 1, customer: 1 }],
  },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: { redeem },
  strategies: {
    naive: {
      description: 'count the redemptions, insert one if under the limit',
      programs: { redeem: redeemNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'lock-customer': {
      description: "SELECT the customer's row FOR UPDATE, then count and insert",
      programs: { redeem: redeemLockCustomer },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'the naive checkout, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { redeem: retrying(redeemNaive, [SqlState.serializationFailure]) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'passes' },
    },
  },
  invariants: [withinLimit, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'redeem', args: { customer: 1 } },
    { operation: 'redeem', args: { customer: 1 } },
  ],
});
