import * as fc from 'fast-check';
import type { TxId } from '../transaction.ts';
import type { Program, Tx } from '../program.ts';
import type { CatalogueEntry } from '../../explorer/catalogue-audit.ts';
import { runAlone } from '../../explorer/run-alone.ts';
import { defineScenario, type RunOutcome, type TxOutcome } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';

export type { CatalogueEntry } from '../../explorer/catalogue-audit.ts';

/**
 * The anomaly catalogue: one small scenario per phenomenon of Adya's
 * hierarchy and of Kleppmann's Hermitage tests, on one generic table of two
 * rows, x (id 1, value 10) and y (id 2, value 20). Each entry's transactions
 * are written exactly as the classic test writes them, its one invariant is
 * the anomaly observed, and `intended` is the interleaving that shows it
 * where the isolation level allows it (a transaction whose turn comes while
 * it is blocked is skipped until it can run).
 *
 * `lockstep audit --catalogue` explores every schedule of each entry in the
 * model under each isolation level, and replays the witness (or, when the
 * model finds none, the intended interleaving) on PostgreSQL.
 */
export const itemsSchema = defineSchema({
  items: { columns: { id: 'int', value: 'int' }, primaryKey: ['id'] },
});

type ItemsDb = DatabaseOf<typeof itemsSchema>;

const x = 1;
const y = 2;

function* read(tx: Tx<ItemsDb>, id: number) {
  const row = yield* tx.selectOne('items', { id });
  return row?.value ?? null;
}

function* write(tx: Tx<ItemsDb>, id: number, value: number) {
  yield* tx.update('items', { id }, { value });
}

function* readMatching(tx: Tx<ItemsDb>, value: number) {
  const rows = yield* tx.select('items', { value });
  return rows.map((r) => r.id);
}

const t1State = { tx: 1, writer: 'T1', x: 11, y: 19 };
const t2State = { tx: 2, writer: 'T2', x: 12, y: 18 };
const committed = (outcomes: readonly TxOutcome[], id: TxId) => outcomes.find((o) => o.id === id && o.fate === 'committed');
const valueOf = (run: RunOutcome<ItemsDb>, id: number) => run.final.items.find((r) => r.id === id)?.value;

function entry(input: {
  anomaly: string;
  title: string;
  transactions: readonly Program<ItemsDb, null>[];
  intended: readonly TxId[];
  observed: (run: RunOutcome<ItemsDb>) => string | null;
}): CatalogueEntry {
  const names = input.transactions.map((_, i) => `t${i + 1}`);
  const id = `catalogue-${input.anomaly.toLowerCase()}`;
  const scenario = defineScenario({
    id,
    title: input.title,
    schema: itemsSchema,
    seed: {
      items: [
        { id: x, value: 10 },
        { id: y, value: 20 },
      ],
    },
    isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
    operations: Object.fromEntries(names.map((name, i) => [name, { args: fc.constant(null), serial: runAlone(itemsSchema, input.transactions[i]) }])),
    strategies: {
      'as-written': {
        description: 'the transactions of the classic test, unchanged',
        programs: Object.fromEntries(names.map((name, i) => [name, input.transactions[i]])),
        expected: {},
      },
    },
    invariants: [{ name: `no-${input.anomaly.toLowerCase()}`, check: input.observed }],
    transactions: { min: names.length, max: names.length },
    canonical: names.map((operation) => ({ operation, args: null })),
  });
  return { anomaly: input.anomaly, title: input.title, scenario, intended: input.intended };
}

export const catalogue: readonly CatalogueEntry[] = [
  entry({
    anomaly: 'G0',
    title: 'write cycles (dirty write): two transactions write x and y; the result mixes them',
    transactions: [
      function* (tx) {
        yield* write(tx, x, 11);
        yield* write(tx, y, 21);
        return yield* tx.commit('ok');
      },
      function* (tx) {
        yield* write(tx, x, 12);
        yield* write(tx, y, 22);
        return yield* tx.commit('ok');
      },
    ],
    intended: [1, 2, 2, 1, 1, 2],
    observed: (run) => {
      const [vx, vy] = [valueOf(run, x), valueOf(run, y)];
      return (vx === 11 && vy === 22) || (vx === 12 && vy === 21) ? `x ended at ${vx} and y at ${vy}: each holds another transaction's write.` : null;
    },
  }),
  entry({
    anomaly: 'G1a',
    title: 'aborted read: T2 reads x written by T1, which then rolls back',
    transactions: [
      function* (tx) {
        yield* write(tx, x, 101);
        return yield* tx.rollback('rolled back');
      },
      function* (tx) {
        const seen = yield* read(tx, x);
        return yield* tx.commit(seen);
      },
    ],
    intended: [1, 2, 1, 2],
    observed: ({ outcomes }) => (committed(outcomes, 2)?.result === 101 ? 'T2 committed having read x = 101, written by T1, which rolled back.' : null),
  }),
  entry({
    anomaly: 'G1b',
    title: 'intermediate read: T2 reads a value of x that T1 overwrites before it commits',
    transactions: [
      function* (tx) {
        yield* write(tx, x, 101);
        yield* write(tx, x, 11);
        return yield* tx.commit('ok');
      },
      function* (tx) {
        const seen = yield* read(tx, x);
        return yield* tx.commit(seen);
      },
    ],
    intended: [1, 2, 1, 1, 2],
    observed: ({ outcomes }) => (committed(outcomes, 2)?.result === 101 ? 'T2 committed having read x = 101, a value T1 overwrote before committing.' : null),
  }),
  entry({
    anomaly: 'G1c',
    title: "circular information flow: each transaction reads the other's write",
    transactions: [
      function* (tx) {
        yield* write(tx, x, 11);
        const seen = yield* read(tx, y);
        return yield* tx.commit(seen);
      },
      function* (tx) {
        yield* write(tx, y, 22);
        const seen = yield* read(tx, x);
        return yield* tx.commit(seen);
      },
    ],
    intended: [1, 2, 1, 2, 1, 2],
    observed: ({ outcomes }) =>
      committed(outcomes, 1)?.result === 22 && committed(outcomes, 2)?.result === 11 ? "T1 read T2's y = 22 and T2 read T1's x = 11: each saw the other's write." : null,
  }),
  entry({
    anomaly: 'OTV',
    title: "observed transaction vanishes: T3 sees a write of T1 (or T2), then a version of y older than that writer's",
    transactions: [
      function* (tx) {
        yield* write(tx, x, 11);
        yield* write(tx, y, 19);
        return yield* tx.commit('ok');
      },
      function* (tx) {
        yield* write(tx, x, 12);
        yield* write(tx, y, 18);
        return yield* tx.commit('ok');
      },
      function* (tx) {
        const seenX = yield* read(tx, x);
        const seenY = yield* read(tx, y);
        return yield* tx.commit([seenX, seenY]);
      },
    ],
    intended: [1, 1, 2, 1, 3, 2, 3, 2, 3],
    observed: (run) => {
      const seen = committed(run.outcomes, 3)?.result as readonly number[] | undefined;
      if (!seen) return null;
      // Each committed state of (x, y) in commit order, told apart by x's final value.
      const states = [
        { writer: 'the initial state', x: 10, y: 20 },
        ...(valueOf(run, x) === 12 ? [t1State, t2State] : [t2State, t1State]).filter((s) => committed(run.outcomes, s.tx)),
      ];
      const fromX = states.findIndex((s) => s.x === seen[0]);
      const fromY = states.findIndex((s) => s.y === seen[1]);
      return fromY < fromX ? `T3 read x = ${seen[0]} from ${states[fromX].writer}, then y = ${seen[1]}, older than its y = ${states[fromX].y}: ${states[fromX].writer} vanished from T3's view.` : null;
    },
  }),
  entry({
    anomaly: 'PMP',
    title: 'predicate-many-preceders: a predicate read repeated in one transaction sees a new row',
    transactions: [
      function* (tx) {
        const first = yield* readMatching(tx, 30);
        const second = yield* readMatching(tx, 30);
        return yield* tx.commit([first.length, second.length]);
      },
      function* (tx) {
        yield* tx.insert('items', { id: 3, value: 30 });
        return yield* tx.commit('ok');
      },
    ],
    intended: [1, 2, 2, 1, 1],
    observed: ({ outcomes }) => {
      const seen = committed(outcomes, 1)?.result as readonly number[] | undefined;
      return seen && seen[0] !== seen[1] ? `T1 read ${seen[0]} rows with value 30, then ${seen[1]}, in one transaction.` : null;
    },
  }),
  entry({
    anomaly: 'P4',
    title: 'lost update: two transactions read x and write x + 1',
    transactions: [increment, increment],
    intended: [1, 2, 1, 2, 1, 2],
    observed: (run) => {
      const both = committed(run.outcomes, 1) && committed(run.outcomes, 2);
      const vx = valueOf(run, x);
      return both && vx !== 12 ? `Both increments committed but x ended at ${vx}, not 12: one was lost.` : null;
    },
  }),
  entry({
    anomaly: 'G-single',
    title: "read skew: T1 reads x before and y after T2 moves 2 from y to x",
    transactions: [
      function* (tx) {
        const seenX = yield* read(tx, x);
        const seenY = yield* read(tx, y);
        return yield* tx.commit([seenX, seenY]);
      },
      function* (tx) {
        yield* write(tx, x, 12);
        yield* write(tx, y, 18);
        return yield* tx.commit('ok');
      },
    ],
    intended: [1, 2, 2, 2, 1, 1],
    observed: ({ outcomes }) => {
      const seen = committed(outcomes, 1)?.result as readonly number[] | undefined;
      return seen && seen[0] + seen[1] !== 30 ? `T1 read x = ${seen[0]} and y = ${seen[1]}, which sum to ${seen[0] + seen[1]}, never a committed total (30).` : null;
    },
  }),
  entry({
    anomaly: 'G2-item',
    title: 'write skew: each transaction checks x + y >= 25, then takes 10 from its own row',
    transactions: [withdraw(x), withdraw(y)],
    intended: [1, 1, 2, 2, 1, 2, 1, 2],
    observed: (run) => {
      const total = (valueOf(run, x) ?? 0) + (valueOf(run, y) ?? 0);
      return total < 20 ? `x + y ended at ${total}, below 20, though each transaction kept it at 20 or more on its own.` : null;
    },
  }),
  entry({
    anomaly: 'G2',
    title: 'anti-dependency cycle on a predicate: each transaction checks no row holds 30, then inserts one',
    transactions: [claim(3), claim(4)],
    intended: [1, 2, 1, 2, 1, 2],
    observed: ({ final }) => {
      const rows = final.items.filter((r) => r.value === 30).length;
      return rows > 1 ? `${rows} rows hold value 30, though each transaction inserted one only after seeing none.` : null;
    },
  }),
];

function* increment(tx: Tx<ItemsDb>) {
  const seen = yield* read(tx, x);
  yield* write(tx, x, (seen ?? 0) + 1);
  return yield* tx.commit('ok');
}

function withdraw(own: number): Program<ItemsDb, null> {
  return function* (tx) {
    const seenX = (yield* read(tx, x)) ?? 0;
    const seenY = (yield* read(tx, y)) ?? 0;
    if (seenX + seenY < 25) return yield* tx.rollback('refused');
    yield* write(tx, own, (own === x ? seenX : seenY) - 10);
    return yield* tx.commit('ok');
  };
}

function claim(id: number): Program<ItemsDb, null> {
  return function* (tx) {
    const holders = yield* readMatching(tx, 30);
    if (holders.length > 0) return yield* tx.rollback('taken');
    yield* tx.insert('items', { id, value: 30 });
    return yield* tx.commit('ok');
  };
}

/** The entry for an anomaly name, case-insensitively. */
export function findCatalogueEntry(anomaly: string): CatalogueEntry | undefined {
  return catalogue.find((e) => e.anomaly.toLowerCase() === anomaly.toLowerCase());
}
