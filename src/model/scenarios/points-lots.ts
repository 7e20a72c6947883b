import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { SqlState } from '../statement.ts';
import { defineScenario, forOperations, type Invariant, type Operation, type Strategy } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { describeTx, everyRequestAnswered, plural } from '../invariants.ts';

/**
 * Points held in lots that expire: each lot has the points it was granted
 * (`original`), what is left (`remaining`), an expiry day and an `expired`
 * flag that the expiry job sets. A spend takes from the live lots with the
 * soonest expiry first (FIFO); the expiry job, run concurrently with users
 * like any other transaction, expires the lots due on the day it is given
 * (the clock is an argument, never wall time). Every movement is a ledger row.
 * The user's balance is the sum of the live lots' `remaining`.
 *
 * Scenarios: `points-expiry-vs-use`, `points-fifo`, `points-hot-lot`.
 * Lot ids follow expiry order, so locking in expiry order is locking in key
 * order for every program (no lock-order deadlock between spenders and the job).
 */
export const lotsSchema = defineSchema({
  lots: { columns: { id: 'int', owner: 'int', original: 'int', remaining: 'int', expires: 'int', expired: 'bool' }, primaryKey: ['id'] },
  ledger: { columns: { tx: 'int', lot: 'int', delta: 'int', kind: 'text' }, primaryKey: ['tx', 'lot'] },
});

export type LotsDb = DatabaseOf<typeof lotsSchema>;
type Lot = LotsDb['lots'];

/** Arguments of a spend. */
export interface Spend {
  readonly amount: number;
}

/** Arguments of the expiry job: the day it runs for. */
export interface Expire {
  readonly today: number;
}

const owner = 1;
const liveLots = { owner, expired: false, remaining: { gt: 0 } } as const;
const byExpiry = [['expires', 'asc']] as const;

/** How a spend of `amount` splits over lots in FIFO order: [lot, taken] pairs, or null when they hold too little. */
function fifoTakes(lots: readonly Lot[], amount: number): [Lot, number][] | null {
  const takes: [Lot, number][] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    takes.push([lot, take]);
    left -= take;
  }
  return left === 0 ? takes : null;
}

// --- spend: read the live lots soonest-expiring first, take from each in turn ---

function* spend(tx: Tx<LotsDb>, a: Spend, lock: boolean) {
  const lots = yield* tx.select('lots', liveLots, { orderBy: byExpiry, lock: lock ? 'update' : undefined });
  const takes = fifoTakes(lots, a.amount);
  if (!takes) return yield* tx.rollback('insufficient');
  for (const [lot, take] of takes) {
    yield* tx.update('lots', { id: lot.id }, { remaining: lot.remaining - take });
    yield* tx.insert('ledger', { tx: tx.id, lot: lot.id, delta: -take, kind: 'spend' });
  }
  return yield* tx.commit('ok');
}

function* spendNaive(tx: Tx<LotsDb>, a: Spend) {
  return yield* spend(tx, a, false);
}

function* spendForUpdate(tx: Tx<LotsDb>, a: Spend) {
  return yield* spend(tx, a, true);
}

// --- expire: the job that flags the lots due today and writes off what is left ---

function* expire(tx: Tx<LotsDb>, a: Expire, lock: boolean) {
  const due = yield* tx.select('lots', { expired: false, expires: { lte: a.today } }, { lock: lock ? 'update' : undefined });
  let total = 0;
  for (const lot of due) {
    yield* tx.update('lots', { id: lot.id }, { expired: true, remaining: 0 });
    yield* tx.insert('ledger', { tx: tx.id, lot: lot.id, delta: -lot.remaining, kind: 'expire' });
    total += lot.remaining;
  }
  return yield* tx.commit(total);
}

function* expireNaive(tx: Tx<LotsDb>, a: Expire) {
  return yield* expire(tx, a, false);
}

function* expireForUpdate(tx: Tx<LotsDb>, a: Expire) {
  return yield* expire(tx, a, true);
}

// --- serial spec ---

const spendOperation = (step: number, max: number): Operation<LotsDb, Spend> => ({
  args: fc.integer({ min: 1, max }).map((k) => ({ amount: k * step })),
  serial(state, a, { id }) {
    const live = state.lots.filter((l) => l.owner === owner && !l.expired && l.remaining > 0).sort((x, y) => x.expires - y.expires || x.id - y.id);
    const takes = fifoTakes(live, a.amount);
    if (!takes) return 'insufficient';
    for (const [lot, take] of takes) {
      lot.remaining -= take;
      state.ledger.push({ tx: id, lot: lot.id, delta: -take, kind: 'spend' });
    }
    return 'ok';
  },
});

const expireOperation = (days: readonly number[]): Operation<LotsDb, Expire> => ({
  args: fc.constantFrom(...days).map((today) => ({ today })),
  serial(state, a, { id }) {
    let total = 0;
    for (const lot of state.lots) {
      if (lot.expired || lot.expires > a.today) continue;
      state.ledger.push({ tx: id, lot: lot.id, delta: -lot.remaining, kind: 'expire' });
      total += lot.remaining;
      lot.expired = true;
      lot.remaining = 0;
    }
    return total;
  },
});

// --- invariants ---

/** Each lot holds its original points less everything its ledger rows took, and never less than zero. */
const lotsBalance: Invariant<LotsDb> = {
  name: 'lot-matches-ledger',
  check: ({ final }) => {
    for (const lot of final.lots) {
      const taken = -final.ledger.filter((r) => r.lot === lot.id).reduce((s, r) => s + r.delta, 0);
      if (lot.remaining !== lot.original - taken) {
        return `Lot ${lot.id} holds ${lot.remaining}, but its ${lot.original} less the ${taken} its ledger rows took leaves ${lot.original - taken}: a spend or an expiry was lost.`;
      }
      if (lot.remaining < 0) return `Lot ${lot.id} ended at ${lot.remaining}, below zero.`;
    }
    return null;
  },
};

/** An expired lot holds nothing and was written off once; nothing was spent from it after it expired. */
const expiredLotsEmpty: Invariant<LotsDb> = {
  name: 'expired-lot-never-spent',
  check: ({ final }) => {
    for (const lot of final.lots) {
      if (!lot.expired) continue;
      if (lot.remaining !== 0) return `Lot ${lot.id} is expired but still holds ${lot.remaining}: it was spent from after it expired.`;
      const writeOffs = final.ledger.filter((r) => r.lot === lot.id && r.kind === 'expire').length;
      if (writeOffs !== 1) return `Lot ${lot.id} was written off ${plural(writeOffs, 'time')}, not once.`;
    }
    return null;
  },
};

/** Lots are consumed soonest-expiring first: a lot a spend took from has no earlier-expiring live lot still holding points. */
const fifo: Invariant<LotsDb> = {
  name: 'oldest-lots-first',
  check: ({ final }) => {
    const lots = [...final.lots].sort((x, y) => x.expires - y.expires || x.id - y.id);
    for (const row of final.ledger) {
      if (row.kind !== 'spend') continue;
      const lot = lots.find((l) => l.id === row.lot)!;
      const earlier = lots.find((l) => (l.expires < lot.expires || (l.expires === lot.expires && l.id < lot.id)) && !l.expired && l.remaining > 0);
      if (earlier) return `T${row.tx} spent from lot ${lot.id} (expires day ${lot.expires}) while lot ${earlier.id} (expires day ${earlier.expires}) still holds ${earlier.remaining}.`;
    }
    return null;
  },
};

/** Each successful spend took exactly its amount; a refused one took nothing. */
const spendsMatchLedger: Invariant<LotsDb> = {
  name: 'spends-match-ledger',
  check: ({ final, outcomes }) => {
    for (const o of outcomes) {
      if (o.operation !== 'spend') continue;
      const taken = -final.ledger.filter((r) => r.tx === o.id).reduce((s, r) => s + r.delta, 0);
      const expected = o.result === 'ok' ? (o.args as Spend).amount : 0;
      if (taken !== expected) return `${describeTx(o)} reported ${JSON.stringify(o.result ?? o.error?.code)} but its ledger rows took ${taken}.`;
    }
    return null;
  },
};

const lotInvariants = [expiredLotsEmpty, lotsBalance, fifo, spendsMatchLedger];

// --- strategies ---

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;

const naive: Strategy<LotsDb> = {
  description: 'read the live lots, compute the split in the application, write each lot\'s new remaining points',
  programs: { spend: spendNaive, expire: expireNaive },
  expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
};

const forUpdate: Strategy<LotsDb> = {
  description: 'SELECT ... FOR UPDATE the live lots (soonest expiry first), then split and write',
  programs: { spend: spendForUpdate, expire: expireForUpdate },
  expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
};

const onSerializationFailure = [SqlState.serializationFailure];

/** Retrying on 40001 is safe wherever conflicts raise it; read committed raises none, so the naive read-modify-write loses updates there. */
const serializableRetry: Strategy<LotsDb> = {
  description: 'the naive spend and expiry job, run again from the start on 40001 (meant for SERIALIZABLE)',
  programs: { spend: retrying(spendNaive, onSerializationFailure), expire: retrying(expireNaive, onSerializationFailure) },
  expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
};

const lot = (id: number, original: number, expires: number): Lot => ({ id, owner, original, remaining: original, expires, expired: false });

export const pointsExpiryVsUse = defineScenario({
  id: 'points-expiry-vs-use',
  title: 'the expiry job expires a lot (day 1) while the user spends from it',
  schema: lotsSchema,
  seed: { lots: [lot(1, 500, 1), lot(2, 1000, 30)], ledger: [] },
  isolationLevels,
  operations: { spend: spendOperation(100, 6), expire: expireOperation([1]) },
  strategies: { naive, 'for-update': forUpdate, 'serializable-retry': serializableRetry },
  invariants: lotInvariants,
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'expire', args: { today: 1 } },
    { operation: 'spend', args: { amount: 300 } },
    { operation: 'spend', args: { amount: 300 } },
  ],
});

export const pointsFifo = defineScenario({
  id: 'points-fifo',
  title: 'lots of 300 (day 10), 300 (day 20) and 1000 (day 30); concurrent spends take the oldest first',
  schema: lotsSchema,
  seed: { lots: [lot(1, 300, 10), lot(2, 300, 20), lot(3, 1000, 30)], ledger: [] },
  isolationLevels,
  operations: { spend: spendOperation(100, 5) },
  strategies: forOperations({ naive, 'for-update': forUpdate, 'serializable-retry': serializableRetry }, ['spend']),
  invariants: lotInvariants,
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'spend', args: { amount: 200 } })),
});

/** Every spend of the hot-lot workload can be paid: the losers of the race for the hot lot fall through to the next one. */
const everySpendSucceeds: Invariant<LotsDb> = {
  name: 'every-spend-succeeds',
  check: ({ outcomes }) => {
    const failed = outcomes.find((o) => o.result !== 'ok');
    return failed ? `${describeTx(failed)} ended ${failed.fate === 'aborted' ? `with ${failed.error!.code}` : JSON.stringify(failed.result)}, but the lots hold enough for every spend.` : null;
  },
};

export const pointsHotLot = defineScenario({
  id: 'points-hot-lot',
  title: 'a lot of 300 about to expire (day 1) and one of 10000 (day 30); concurrent spends of 100',
  schema: lotsSchema,
  seed: { lots: [lot(1, 300, 1), lot(2, 10000, 30)], ledger: [] },
  isolationLevels,
  operations: { spend: spendOperation(100, 2) },
  strategies: forOperations({
    // Under repeatable read the loser of the race gets 40001 instead of falling through to the next lot.
    naive: { ...naive, expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' } },
    'for-update': {
      ...forUpdate,
      // Under repeatable read the losers of the race for the hot lot get 40001 instead of falling through.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update-retry': {
      description: 'SELECT ... FOR UPDATE the live lots, split and write; retry the whole spend on 40001 or 40P01',
      programs: { spend: retrying(spendForUpdate) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': serializableRetry,
  }, ['spend']),
  invariants: [...lotInvariants, everySpendSucceeds, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 10 }, () => ({ operation: 'spend', args: { amount: 100 } })),
});
