/** The files `lockstep init` writes: a scenario on the public API and a vitest test of it. */

export const scenarioTemplate = `import { defineSchema, defineScenario, fc, type DatabaseOf, type Invariant, type Tx } from 'lockstep';

/**
 * Credits: a wallet's credits may be spent concurrently. Every spend that
 * reports "ok" must take its amount off the wallet, and the credits never go
 * below zero. Change the schema, the programs and the rules to your own.
 */
const schema = defineSchema({
  wallets: { columns: { id: 'int', credits: 'int' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;
type Spend = { wallet: number; amount: number };

// naive: read the credits, decide in the application, write the new value.
function* spendNaive(tx: Tx<Db>, a: Spend) {
  const wallet = yield* tx.selectOne('wallets', { id: a.wallet });
  if (!wallet || wallet.credits < a.amount) return yield* tx.rollback('insufficient');
  yield* tx.update('wallets', { id: a.wallet }, { credits: wallet.credits - a.amount });
  return yield* tx.commit('ok');
}

// atomic-update: one conditional UPDATE ... SET credits = credits - x WHERE credits >= x.
function* spendAtomic(tx: Tx<Db>, a: Spend) {
  const changed = yield* tx.update('wallets', { id: a.wallet, credits: { gte: a.amount } }, { credits: { add: -a.amount } });
  if (changed.length === 0) return yield* tx.rollback('insufficient');
  return yield* tx.commit('ok');
}

/** The credits moved by exactly the amounts of the spends that reported "ok". */
const creditsMatchSpends: Invariant<Db> = {
  name: 'credits-match-spends',
  check: ({ initial, final, outcomes }) => {
    const spent = outcomes.filter((o) => o.result === 'ok').reduce((sum, o) => sum + (o.args as Spend).amount, 0);
    const expected = initial.wallets[0].credits - spent;
    const credits = final.wallets[0].credits;
    return credits === expected ? null : \`The wallet holds \${credits} credits, but the successful spends should leave \${expected}: a spend was lost.\`;
  },
};

export const creditsSpend = defineScenario({
  id: 'credits-spend',
  title: 'a wallet of 100 credits; concurrent spends of 10 to 50',
  schema,
  seed: { wallets: [{ id: 1, credits: 100 }] },
  isolationLevels: ['read-committed'],
  operations: {
    spend: {
      args: fc.integer({ min: 1, max: 5 }).map((k) => ({ wallet: 1, amount: k * 10 })),
      // What one spend does when it runs alone: the answer every interleaving must agree with.
      serial(state, a) {
        const wallet = state.wallets.find((w) => w.id === a.wallet)!;
        if (wallet.credits < a.amount) return 'insufficient';
        wallet.credits -= a.amount;
        return 'ok';
      },
    },
  },
  strategies: {
    naive: { description: 'read, decide, write', programs: { spend: spendNaive }, expected: { 'read-committed': 'fails' } },
    'atomic-update': { description: 'one conditional UPDATE', programs: { spend: spendAtomic }, expected: { 'read-committed': 'passes' } },
  },
  invariants: [creditsMatchSpends],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'spend', args: { wallet: 1, amount: 30 } },
    { operation: 'spend', args: { wallet: 1, amount: 30 } },
  ],
});
`;

export const testTemplate = `import { verdictSuite } from 'lockstep/vitest';
import { creditsSpend } from './credits.js';

// One test per strategy and isolation level: naive must be caught, atomic-update must be race-free.
verdictSuite(creditsSpend);
`;
