import * as fc from 'fast-check';
import { isSqlState, type Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { SqlState } from '../statement.ts';
import { describeTx, everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Rewards: the welcome gift (1000 points and 3 reward items, once per user),
 * redeeming owned reward items, and reading the reward list while grants run.
 *
 * Scenarios: `welcome-gift`, `reward-redeem`, `reward-grant-query`.
 */

const user = 1;
const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;
const onSerializationFailure = [SqlState.serializationFailure];

// ============================== welcome-gift ==============================

/**
 * `claims` records that a user got the welcome gift (one row per user: its
 * primary key is the user). Every strategy writes it; they differ in how they
 * decide that the gift is still due.
 */
export const giftSchema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  claims: { columns: { user: 'int', tx: 'int' }, primaryKey: ['user'] },
  items: { columns: { id: 'int', user: 'int', item: 'int' }, primaryKey: ['id'] },
});

export type GiftDb = DatabaseOf<typeof giftSchema>;

const giftPoints = 1000;
const giftItems = [1, 2, 3];

/** The gift itself: 1000 points and 3 item rows (ids from the transaction number, as an application's generated ids). */
function* grantGift(tx: Tx<GiftDb>, userId: number) {
  yield* tx.update('accounts', { id: userId }, { balance: { add: giftPoints } });
  yield* tx.insert('items', giftItems.map((item) => ({ id: tx.id * 10 + item, user: userId, item })));
}

/** naive: look for a claim, and if there is none grant the gift and record the claim (Django's get_or_create). */
function* claimNaive(tx: Tx<GiftDb>, a: { user: number }) {
  const claim = yield* tx.selectOne('claims', { user: a.user });
  if (claim) return yield* tx.rollback('already-claimed');
  yield* grantGift(tx, a.user);
  yield* tx.insert('claims', { user: a.user, tx: tx.id });
  return yield* tx.commit('ok');
}

/** for-update: lock the user's account row first, so that claims of one user run one at a time, then look for a claim. */
function* claimForUpdate(tx: Tx<GiftDb>, a: { user: number }) {
  yield* tx.selectOne('accounts', { id: a.user }, { lock: 'update' });
  const claim = yield* tx.selectOne('claims', { user: a.user });
  if (claim) return yield* tx.rollback('already-claimed');
  yield* grantGift(tx, a.user);
  yield* tx.insert('claims', { user: a.user, tx: tx.id });
  return yield* tx.commit('ok');
}

/** advisory-lock: take the user's advisory lock (pg_advisory_xact_lock(user)) first, so that claims of one user run one at a time, then the naive claim. */
function* claimAdvisory(tx: Tx<GiftDb>, a: { user: number }) {
  yield* tx.advisoryLock(a.user);
  return yield* claimNaive(tx, a);
}

/**
 * get-or-create: look for a claim; if none, insert it inside a savepoint,
 * and on 23505 roll back to the savepoint (the transaction goes on) and
 * answer "already claimed"; then grant the gift.
 */
function* claimGetOrCreate(tx: Tx<GiftDb>, a: { user: number }) {
  if (yield* tx.selectOne('claims', { user: a.user })) return yield* tx.rollback('already-claimed');
  yield* tx.savepoint('claim');
  try {
    yield* tx.insert('claims', { user: a.user, tx: tx.id });
  } catch (e) {
    if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
    yield* tx.rollbackTo('claim');
    return yield* tx.rollback('already-claimed');
  }
  yield* tx.release('claim');
  yield* grantGift(tx, a.user);
  return yield* tx.commit('ok');
}

/** unique-constraint: insert the claim first; 23505 from its primary key means "already claimed". */
function* claimUnique(tx: Tx<GiftDb>, a: { user: number }) {
  try {
    yield* tx.insert('claims', { user: a.user, tx: tx.id });
  } catch (e) {
    if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
    return yield* tx.rollback('already-claimed');
  }
  yield* grantGift(tx, a.user);
  return yield* tx.commit('ok');
}

/** on-conflict: INSERT the claim ... ON CONFLICT DO NOTHING; no row inserted means "already claimed". */
function* claimOnConflict(tx: Tx<GiftDb>, a: { user: number }) {
  const inserted = yield* tx.insert('claims', { user: a.user, tx: tx.id }, { onConflict: 'nothing' });
  if (inserted.length === 0) return yield* tx.rollback('already-claimed');
  yield* grantGift(tx, a.user);
  return yield* tx.commit('ok');
}

const claimOperation: Operation<GiftDb, { user: number }> = {
  args: fc.constant({ user }),
  serial(state, a, { id }) {
    if (state.claims.some((c) => c.user === a.user)) return 'already-claimed';
    state.accounts.find((r) => r.id === a.user)!.balance += giftPoints;
    for (const item of giftItems) state.items.push({ id: id * 10 + item, user: a.user, item });
    state.claims.push({ user: a.user, tx: id });
    return 'ok';
  },
};

/** One claim succeeds, the user got exactly 1000 points and 3 items, and every other claim was told "already claimed". */
const giftOnce: Invariant<GiftDb> = {
  name: 'gift-granted-once',
  check: ({ initial, final, outcomes }) => {
    const ok = withResult(outcomes, 'ok').length;
    if (ok !== 1) return `${plural(ok, 'claim')} succeeded, but exactly one must.`;
    const points = final.accounts[0].balance - initial.accounts[0].balance;
    if (points !== giftPoints) return `The user was granted ${points} points, not ${giftPoints}.`;
    const items = final.items.filter((r) => r.user === user).length;
    if (items !== giftItems.length) return `The user was granted ${plural(items, 'item')}, not ${giftItems.length}.`;
    const other = outcomes.find((o) => o.result !== 'ok' && o.result !== 'already-claimed');
    return other ? `${describeTx(other)} ended with ${other.error?.code ?? JSON.stringify(other.result)} instead of "already claimed".` : null;
  },
};

const giftRetry = 'retry the whole claim on 40001 or 40P01';

export const welcomeGift = defineScenario({
  id: 'welcome-gift',
  title: 'concurrent welcome-gift claims by one new user (1000 points and 3 items, once)',
  schema: giftSchema,
  seed: { accounts: [{ id: user, balance: 0 }], claims: [], items: [] },
  isolationLevels,
  operations: { claim: claimOperation },
  strategies: {
    naive: {
      description: 'look for a claim; if none, grant and insert the claim (the loser of the race gets 23505, not "already claimed")',
      programs: { claim: claimNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update': {
      description: 'SELECT the account FOR UPDATE, then look for a claim',
      programs: { claim: claimForUpdate },
      // Under repeatable read the waiter's snapshot predates the winner's claim: it gets 40001 locking the updated account.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update-retry': {
      description: `SELECT the account FOR UPDATE, then look for a claim; ${giftRetry}`,
      programs: { claim: retrying(claimForUpdate) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'advisory-lock': {
      description: 'SELECT pg_advisory_xact_lock(user) first, then look for a claim',
      programs: { claim: claimAdvisory },
      // Under repeatable read the lock statement took the waiter's snapshot before the wait: it misses the winner's claim and gets 40001 granting the points.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'advisory-lock-retry': {
      description: `SELECT pg_advisory_xact_lock(user) first, then look for a claim; ${giftRetry}`,
      programs: { claim: retrying(claimAdvisory) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'get-or-create': {
      description: 'look for a claim; insert it inside a savepoint, and on 23505 roll back to the savepoint and answer "already claimed"',
      programs: { claim: claimGetOrCreate },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'fails' },
    },
    'unique-constraint': {
      description: 'insert the claim first; its primary key decides, 23505 means "already claimed"',
      programs: { claim: claimUnique },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'on-conflict': {
      description: 'INSERT the claim ... ON CONFLICT DO NOTHING; no row means "already claimed"',
      programs: { claim: claimOnConflict },
      // Under repeatable read PostgreSQL answers ON CONFLICT DO NOTHING with 40001 when the conflicting claim was committed after the snapshot.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'the naive claim, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { claim: retrying(claimNaive, onSerializationFailure) },
      // Under repeatable read too: the grant updates the account before inserting the claim, so the loser gets 40001 there and its retry sees the claim.
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [giftOnce],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'claim', args: { user } })),
});

// ============================== reward-redeem ==============================

export const inventorySchema = defineSchema({
  inventory: { columns: { user: 'int', item: 'int', quantity: 'int' }, primaryKey: ['user', 'item'] },
  redemptions: { columns: { tx: 'int', user: 'int', item: 'int' }, primaryKey: ['tx'] },
});

export type InventoryDb = DatabaseOf<typeof inventorySchema>;

interface Redeem {
  readonly user: number;
  readonly item: number;
}

const owned = 5;

function* redeemNaive(tx: Tx<InventoryDb>, a: Redeem) {
  const row = yield* tx.selectOne('inventory', { user: a.user, item: a.item });
  if (!row || row.quantity < 1) return yield* tx.rollback('none-left');
  yield* tx.update('inventory', { user: a.user, item: a.item }, { quantity: row.quantity - 1 });
  yield* tx.insert('redemptions', { tx: tx.id, user: a.user, item: a.item });
  return yield* tx.commit('ok');
}

function* redeemForUpdate(tx: Tx<InventoryDb>, a: Redeem) {
  const row = yield* tx.selectOne('inventory', { user: a.user, item: a.item }, { lock: 'update' });
  if (!row || row.quantity < 1) return yield* tx.rollback('none-left');
  yield* tx.update('inventory', { user: a.user, item: a.item }, { quantity: row.quantity - 1 });
  yield* tx.insert('redemptions', { tx: tx.id, user: a.user, item: a.item });
  return yield* tx.commit('ok');
}

function* redeemAtomic(tx: Tx<InventoryDb>, a: Redeem) {
  const changed = yield* tx.update('inventory', { user: a.user, item: a.item, quantity: { gte: 1 } }, { quantity: { add: -1 } });
  if (changed.length === 0) return yield* tx.rollback('none-left');
  yield* tx.insert('redemptions', { tx: tx.id, user: a.user, item: a.item });
  return yield* tx.commit('ok');
}

const redeemOperation: Operation<InventoryDb, Redeem> = {
  args: fc.constant({ user, item: 1 }),
  serial(state, a, { id }) {
    const row = state.inventory.find((r) => r.user === a.user && r.item === a.item);
    if (!row || row.quantity < 1) return 'none-left';
    row.quantity -= 1;
    state.redemptions.push({ tx: id, user: a.user, item: a.item });
    return 'ok';
  },
};

/** Redemptions succeed while the user owns the item: successes = min(redemptions, 5); the quantity is 5 - successes, never negative; one redemption row each. */
const redeemedExactly: Invariant<InventoryDb> = {
  name: 'redemptions-match-quantity',
  check: ({ final, outcomes }) => {
    const quantity = final.inventory[0].quantity;
    if (quantity < 0) return `The quantity ended at ${quantity}, below zero.`;
    const ok = withResult(outcomes, 'ok').length;
    if (quantity !== owned - ok) return `The quantity ended at ${quantity}, but ${plural(ok, 'successful redemption')} of ${owned} should leave ${owned - ok}: an update was lost.`;
    if (final.redemptions.length !== ok) return `${plural(final.redemptions.length, 'redemption row')} for ${plural(ok, 'successful redemption')}.`;
    const due = Math.min(outcomes.length, owned);
    return ok === due ? null : `${plural(ok, 'redemption')} succeeded, but the user owned ${owned} items, so ${due} should have.`;
  },
};

const redeemRetry = 'retry the whole redemption on 40001 or 40P01';

export const rewardRedeem = defineScenario({
  id: 'reward-redeem',
  title: 'the user owns 5 of an item; concurrent redemptions of one each',
  schema: inventorySchema,
  seed: { inventory: [{ user, item: 1, quantity: owned }], redemptions: [] },
  isolationLevels,
  operations: { redeem: redeemOperation },
  strategies: {
    naive: {
      description: 'read the quantity, decide in the application, write quantity - 1',
      programs: { redeem: redeemNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update': {
      description: 'SELECT the inventory row FOR UPDATE, then decide and write',
      programs: { redeem: redeemForUpdate },
      // Under repeatable read the loser gets 40001 instead of redeeming one of the items left.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: 'one UPDATE inventory SET quantity = quantity - 1 WHERE quantity >= 1',
      programs: { redeem: redeemAtomic },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: `one conditional UPDATE; ${redeemRetry}`,
      programs: { redeem: retrying(redeemAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive redemption, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { redeem: retrying(redeemNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [redeemedExactly, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'redeem', args: { user, item: 1 } })),
});

// ============================== reward-grant-query ==============================

/** A reward and its items; a grant writes one `rewards` row and 3 `reward_items` rows. */
export const grantSchema = defineSchema({
  rewards: { columns: { id: 'int', user: 'int' }, primaryKey: ['id'] },
  reward_items: { columns: { reward: 'int', item: 'int' }, primaryKey: ['reward', 'item'] },
});

export type GrantDb = DatabaseOf<typeof grantSchema>;

/** One reward as the list shows it: its id and how many items it has. */
export type ListedReward = { readonly reward: number; readonly items: number };

const rewardItems = [1, 2, 3];

/** autocommit: the reward row and its items are written in two transactions, as code without a surrounding transaction does. */
function* grantAutocommit(tx: Tx<GrantDb>, a: { user: number }) {
  yield* tx.insert('rewards', { id: tx.id, user: a.user });
  yield* tx.commit(null);
  yield* tx.insert('reward_items', rewardItems.map((item) => ({ reward: tx.id, item })));
  return yield* tx.commit('ok');
}

/** one-transaction: the reward and its items commit together. */
function* grantOneTransaction(tx: Tx<GrantDb>, a: { user: number }) {
  yield* tx.insert('rewards', { id: tx.id, user: a.user });
  yield* tx.insert('reward_items', rewardItems.map((item) => ({ reward: tx.id, item })));
  return yield* tx.commit('ok');
}

/** The reward list: the user's rewards, then each reward's items. */
function* listRewards(tx: Tx<GrantDb>, a: { user: number }) {
  const rewards = yield* tx.select('rewards', { user: a.user });
  const listed: ListedReward[] = [];
  for (const r of rewards) listed.push({ reward: r.id, items: (yield* tx.select('reward_items', { reward: r.id })).length });
  return yield* tx.commit(listed);
}

const grantOperation: Operation<GrantDb, { user: number }> = {
  args: fc.constant({ user }),
  serial(state, a, { id }) {
    state.rewards.push({ id, user: a.user });
    for (const item of rewardItems) state.reward_items.push({ reward: id, item });
    return 'ok';
  },
};

const listOperation: Operation<GrantDb, { user: number }> = {
  args: fc.constant({ user }),
  serial(state, a) {
    return state.rewards
      .filter((r) => r.user === a.user)
      .sort((x, y) => x.id - y.id)
      .map((r) => ({ reward: r.id, items: state.reward_items.filter((i) => i.reward === r.id).length }));
  },
};

/** Every reward a list showed had all its items: no read saw a grant half done. */
const noHalfGrant: Invariant<GrantDb> = {
  name: 'no-half-done-grant',
  check: ({ outcomes }) => {
    for (const o of outcomes) {
      if (o.operation !== 'list' || o.result === undefined) continue;
      const half = (o.result as unknown as ListedReward[]).find((r) => r.items !== rewardItems.length);
      if (half) return `${describeTx(o)} listed reward ${half.reward} with ${plural(half.items, 'item')} of ${rewardItems.length}: it saw a grant half done.`;
    }
    return null;
  },
};

export const rewardGrantQuery = defineScenario({
  id: 'reward-grant-query',
  title: 'reward grants (a reward and 3 items) while the reward list is read',
  schema: grantSchema,
  seed: { rewards: [], reward_items: [] },
  isolationLevels,
  operations: { grant: grantOperation, list: listOperation },
  strategies: {
    autocommit: {
      description: 'the grant writes the reward, commits, then writes its items',
      programs: { grant: grantAutocommit, list: listRewards },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'one-transaction': {
      description: 'the grant writes the reward and its items in one transaction',
      programs: { grant: grantOneTransaction, list: listRewards },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      // The naive grant (autocommit) spans two transactions; retried here is the natural one-transaction grant.
      description: 'the grant in one transaction and the list, each run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { grant: retrying(grantOneTransaction, onSerializationFailure), list: retrying(listRewards, onSerializationFailure) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [noHalfGrant],
  transactions: { min: 2, max: 4 },
  canonical: [
    ...Array.from({ length: 3 }, () => ({ operation: 'grant', args: { user } })),
    ...Array.from({ length: 3 }, () => ({ operation: 'list', args: { user } })),
  ],
});
