import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { everyRequestAnswered, plural } from '../invariants.ts';

/**
 * A counter per key (page views, say): a hit adds one to its key's row, and
 * the first hit of a key creates the row. `home` has a row from the start;
 * `new` does not.
 *
 * Scenario `counter-upsert`: 5 concurrent hits of `home` and 5 of `new`: the
 * counts end at 5 and 5, each hit answered with its own count.
 */
export const countersSchema = defineSchema({
  counters: { columns: { key: 'text', n: 'int' }, primaryKey: ['key'] },
});

export type CountersDb = DatabaseOf<typeof countersSchema>;

/** Arguments of a hit: the counter's key. */
export interface Hit {
  readonly key: string;
}

/** naive: read the counter; insert it at 1 when absent, else write the count read plus one. */
function* hitNaive(tx: Tx<CountersDb>, a: Hit) {
  const counter = yield* tx.selectOne('counters', { key: a.key });
  if (!counter) {
    yield* tx.insert('counters', { key: a.key, n: 1 });
    return yield* tx.commit(1);
  }
  yield* tx.update('counters', { key: a.key }, { n: counter.n + 1 });
  return yield* tx.commit(counter.n + 1);
}

/** upsert: `INSERT ... VALUES (key, 1) ON CONFLICT (key) DO UPDATE SET n = counters.n + 1 RETURNING n`. */
function* hitUpsert(tx: Tx<CountersDb>, a: Hit) {
  const [counter] = yield* tx.insert('counters', { key: a.key, n: 1 }, { onConflict: { columns: ['key'], update: { n: { add: 1 } } } });
  return yield* tx.commit(counter.n);
}

const hitOperation: Operation<CountersDb, Hit> = {
  args: fc.constantFrom('home', 'new').map((key) => ({ key })),
  serial(state, a) {
    const counter = state.counters.find((r) => r.key === a.key);
    if (!counter) {
      state.counters.push({ key: a.key, n: 1 });
      return 1;
    }
    return ++counter.n;
  },
};

/** Each key counts its answered hits, and the hits of a key were answered 1, 2, ... in some order (none lost, none counted twice). */
const everyHitCounted: Invariant<CountersDb> = {
  name: 'every-hit-counted',
  check: ({ initial, final, outcomes }) => {
    for (const key of new Set(outcomes.map((o) => (o.args as Hit).key))) {
      const answered = outcomes.filter((o) => (o.args as Hit).key === key && typeof o.result === 'number');
      const before = initial.counters.find((r) => r.key === key)?.n ?? 0;
      const after = final.counters.find((r) => r.key === key)?.n ?? 0;
      if (after - before !== answered.length) return `Counter ${key} went from ${before} to ${after} for ${plural(answered.length, 'answered hit')}.`;
      const counts = answered.map((o) => o.result as number).sort((x, y) => x - y);
      if (counts.some((n, i) => n !== before + i + 1)) return `The hits of ${key} were answered ${counts.join(', ')}, but each answer is a count of its own.`;
    }
    return null;
  },
};

export const counterUpsert = defineScenario({
  id: 'counter-upsert',
  title: 'concurrent hits of a counter, one kept (home) and one created by the first hit (new)',
  schema: countersSchema,
  seed: { counters: [{ key: 'home', n: 0 }] },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: { hit: hitOperation },
  strategies: {
    naive: {
      description: 'read the counter, insert it at 1 or write the count read plus one',
      programs: { hit: hitNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    upsert: {
      description: 'INSERT ... ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n',
      programs: { hit: hitUpsert },
      // Under repeatable read and serializable a hit that meets a row committed after its snapshot (or updated since) fails with 40001.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'upsert-retry': {
      description: 'the upsert, run again from the start on 40001 or 40P01',
      programs: { hit: retrying(hitUpsert) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [everyHitCounted, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [...Array.from({ length: 5 }, () => ({ operation: 'hit', args: { key: 'home' } })), ...Array.from({ length: 5 }, () => ({ operation: 'hit', args: { key: 'new' } }))],
});
