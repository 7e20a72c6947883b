import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { exploreExhaustively, type ExhaustiveOptions } from '../../src/explorer/exhaustive.ts';
import { enumerateInterleavings } from '../../src/explorer/interleavings.ts';
import { outcomeKey } from '../../src/explorer/outcome-key.ts';
import { Symmetry } from '../../src/explorer/symmetry.ts';
import { swappedRuns } from './swapped-runs.ts';
import { explore } from '../../src/explorer/explore.ts';
import { defaultWorkload } from '../../src/explorer/workloads.ts';
import type { RunPlan, Trace } from '../../src/explorer/runner.ts';
import { pointsDeduct, pointsMixed } from '../../src/model/scenarios/points.ts';
import { catalogue, scenarios } from '../../src/model/scenarios/index.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';
import { parentChildPrograms } from '../../properties/foreign-key-programs.ts';

/** Two rows and two one-statement transactions, small enough to count traces by hand. */
const itemsSchema = defineSchema({ items: { columns: { id: 'int', value: 'int' }, primaryKey: ['id'] } });
type ItemsDb = DatabaseOf<typeof itemsSchema>;

function* read(tx: Tx<ItemsDb>, a: { id: number }) {
  yield* tx.selectOne('items', { id: a.id });
  return yield* tx.commit('ok');
}
function* write(tx: Tx<ItemsDb>, a: { id: number }) {
  yield* tx.update('items', { id: a.id }, { value: { add: 1 } });
  return yield* tx.commit('ok');
}
function* bumpLow(tx: Tx<ItemsDb>, a: { id: number }) {
  yield* tx.update('items', { id: a.id, value: { lt: 50 } }, { value: { add: 1 } });
  return yield* tx.commit('ok');
}
function* scanHigh(tx: Tx<ItemsDb>) {
  const rows = yield* tx.select('items', { value: { gte: 100 } });
  return yield* tx.commit(rows.length);
}
/** An UPDATE of every row, which locks them in heap order, then a sum and a count. */
function* bumpAll(tx: Tx<ItemsDb>) {
  yield* tx.update('items', {}, { value: { add: 10 } });
  const total = yield* tx.sum('items', 'value', { value: { gte: 10 } });
  const n = yield* tx.count('items', {});
  return yield* tx.commit({ total, n });
}

const items = defineScenario({
  id: 'items',
  title: 'two rows',
  schema: itemsSchema,
  seed: { items: [{ id: 1, value: 0 }, { id: 2, value: 0 }] },
  isolationLevels: ['read-committed', 'repeatable-read'],
  operations: {
    read: { args: fc.constant({ id: 1 }), serial: () => 'ok' },
    write: {
      args: fc.constant({ id: 1 }),
      serial: (state, a: { id: number }) => {
        state.items.find((r) => r.id === a.id)!.value++;
        return 'ok';
      },
    },
    bumpLow: {
      args: fc.constant({ id: 1 }),
      serial: (state, a: { id: number }) => {
        const row = state.items.find((r) => r.id === a.id)!;
        if (row.value < 50) row.value++;
        return 'ok';
      },
    },
    scan: { args: fc.constant({}), serial: (state) => state.items.filter((r) => r.value >= 100).length },
    bumpAll: {
      args: fc.constant({}),
      serial: (state) => {
        for (const r of state.items) r.value += 10;
        return { total: state.items.reduce((sum, r) => sum + r.value, 0), n: state.items.length };
      },
    },
  },
  strategies: { plain: { description: 'one statement', programs: { read, write, bumpLow, scan: scanHigh, bumpAll }, expected: {} } },
  invariants: [],
  transactions: { min: 2, max: 2 },
  canonical: [],
});

/** Upserts on both unique indexes of a keyed table, and a write that moves a key: for the soundness check of their footprints. */
const keyedSchema = defineSchema({ keyed: { columns: { id: 'int', k: 'int', v: 'int' }, primaryKey: ['id'], unique: [['k']] } });
type KeyedDb = DatabaseOf<typeof keyedSchema>;
type KeyedArgs = { id: number; k: number };

function* upsertOnK(tx: Tx<KeyedDb>, a: KeyedArgs) {
  const rows = yield* tx.insert('keyed', { id: a.id, k: a.k, v: 1 }, { onConflict: { columns: ['k'], update: { v: { add: 1 } } } });
  return yield* tx.commit(rows.map((r) => `${r.id}:${r.k}:${r.v}`).join());
}
function* upsertOnId(tx: Tx<KeyedDb>, a: KeyedArgs) {
  const rows = yield* tx.insert('keyed', { id: a.id, k: a.k, v: 1 }, { onConflict: { columns: ['id'], update: { k: { excluded: 'k' } } } });
  return yield* tx.commit(rows.map((r) => `${r.id}:${r.k}:${r.v}`).join());
}
function* moveKey(tx: Tx<KeyedDb>, a: KeyedArgs) {
  const rows = yield* tx.update('keyed', { id: a.id }, { k: a.k });
  return yield* tx.commit(rows.length);
}

const keyed = defineScenario({
  id: 'keyed',
  title: 'upserts on id and on k',
  schema: keyedSchema,
  seed: { keyed: [{ id: 1, k: 10, v: 0 }, { id: 2, k: 20, v: 0 }] },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: Object.fromEntries(['upsertOnK', 'upsertOnId', 'moveKey'].map((name) => [name, { args: fc.constant({ id: 1, k: 10 }), serial: () => 'ok' }])),
  strategies: { plain: { description: 'one statement', programs: { upsertOnK, upsertOnId, moveKey }, expected: {} } },
  invariants: [],
  transactions: { min: 3, max: 3 },
  canonical: [],
});

function search(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: RunPlan['workload'], options: ExhaustiveOptions = { stateCache: 0 }) {
  const spec: RunPlan = { scenario, strategy: scenario.strategies[strategy], isolation, workload };
  return exploreExhaustively(new MemoryEngine(scenario.schema), spec, { stopOnViolation: false, ...options });
}

describe('exhaustive search: traces counted by hand', () => {
  // Each transaction is one statement then COMMIT (a1 a2, b1 b2): 6 interleavings.
  it('two plain reads of one row: everything commutes, 1 trace', () => {
    // Under read committed a COMMIT of an attempt that only read leaves nothing anyone sees (no lock, no version); COMMITs commute with each other.
    const r = search(items, 'plain', 'read-committed', [{ operation: 'read', args: { id: 1 } }, { operation: 'read', args: { id: 1 } }]);
    expect(r).toMatchObject({ traces: 1, schedules: 1, naiveInterleavings: 6, complete: true, outcomes: 1, prunedPrefixes: 0 });
  });

  it('the same with lockstep 0.1\'s coarse footprints: only the reads commute, 4 traces', () => {
    // a2 (COMMIT: everything T1 touched, as writes) conflicts with b1 and b2, b2 with a1; a1 and b1 commute.
    const r = search(items, 'plain', 'read-committed', [{ operation: 'read', args: { id: 1 } }, { operation: 'read', args: { id: 1 } }], { independence: 'coarse', stateCache: 0 });
    expect(r).toMatchObject({ traces: 4, schedules: 4, naiveInterleavings: 6, complete: true });
  });

  it('writers of different rows: the two updates are ordered (heap order) and so are the two COMMITs, 4 traces', () => {
    // Each new row version takes the table's next line pointer, so the updates do not commute; each COMMIT ends an attempt that wrote, so it may wake waiters: COMMITs of writers are ordered by the wait queue.
    const r = search(items, 'plain', 'read-committed', [{ operation: 'write', args: { id: 1 } }, { operation: 'write', args: { id: 2 } }]);
    expect(r).toMatchObject({ traces: 4, naiveInterleavings: 6, complete: true });
  });

  it('heap order: two writers of different rows, then an UPDATE of both that locks them in heap order, sums and counts; every reduction finds what brute force finds', () => {
    const w = [{ operation: 'write', args: { id: 2 } }, { operation: 'write', args: { id: 1 } }, { operation: 'bumpAll', args: {} }];
    // The UPDATE of both rows may wait for one writer, then for the other: the count of orders a trace stands for is not exact there (`equivalentOrders`), the outcomes are.
    for (const isolation of items.isolationLevels) checkAgainstBruteForce(items, 'plain', isolation, w, false);
  });

  it('reads of different rows: 1 trace under read committed, 3 under repeatable read (a snapshot does not commute with a COMMIT)', () => {
    // Repeatable read: a1 (T1's snapshot) and b2 (T2's COMMIT) are ordered, and b1 and a2; of the four orders, b2 < a1 with a2 < b1 is a cycle.
    const w = [{ operation: 'read', args: { id: 1 } }, { operation: 'read', args: { id: 2 } }];
    expect(search(items, 'plain', 'read-committed', w).traces).toBe(1);
    expect(search(items, 'plain', 'repeatable-read', w).traces).toBe(3);
    expect(search(items, 'plain', 'repeatable-read', w, { independence: 'coarse', stateCache: 0 }).traces).toBe(4);
  });

  it('an update sets its rows apart from a predicate that cannot match them (where-clauses compared by their conditions)', () => {
    const w = [{ operation: 'bumpLow', args: { id: 1 } }, { operation: 'scan', args: {} }];
    // T2 scans value >= 100; T1 turns row 1's value into value + 1 where value < 50 (the seed's 0 becomes 1): no common row, 1 trace.
    expect(search(items, 'plain', 'read-committed', w)).toMatchObject({ traces: 1, schedules: 1, naiveInterleavings: 6 });
    // Coarse: the scan reads the whole table, the update writes row 1, each COMMIT writes the commit log: every pair across the two is ordered.
    expect(search(items, 'plain', 'read-committed', w, { independence: 'coarse', stateCache: 0 })).toMatchObject({ traces: 6, naiveInterleavings: 6 });
    for (const isolation of items.isolationLevels) checkAgainstBruteForce(items, 'plain', isolation, w);
  });

  it('points-deduct atomic-update, 2 transactions: who updates first, and whether the other waits for it: 4 traces of 6 schedules', () => {
    // T1 update, T2 update (blocks) ~ T2 update after T1's insert (independent of it); T2's update after T1's COMMIT is another trace; the same with T2 first.
    const r = search(pointsDeduct, 'atomic-update', 'read-committed', defaultWorkload(pointsDeduct, 2));
    expect(r).toMatchObject({ traces: 4, naiveInterleavings: 6, complete: true });
  });

  it('points-deduct naive, 2 transactions: 6 traces of 24 schedules', () => {
    // A plain read depends only on the other's COMMIT. T1 updating first: T2 reads before or after C1, and if before, updates (waiting) before C1 or after it: 3 traces; the same with T2 first.
    expect(search(pointsDeduct, 'naive', 'read-committed', defaultWorkload(pointsDeduct, 2))).toMatchObject({ traces: 6, schedules: 6, naiveInterleavings: 24, outcomes: 2 });
    expect(search(pointsDeduct, 'naive', 'read-committed', defaultWorkload(pointsDeduct, 2), { independence: 'coarse', stateCache: 0 })).toMatchObject({ traces: 10, naiveInterleavings: 24 });
  });

  it('points-deduct naive, 3 transactions, with state caching: 51 of 81 schedules stop at a state explored before (24 of 31 with the three deductions interchangeable)', () => {
    // E.g. T1 and T2 committed one after the other (2,400 left, both "ok") and T3 not started: reached after T1 then T2 and after T2 then T1;
    // or T1 holding the row lock of its update with T2 waiting behind it, whether T3 read before or after T2 began to wait.
    const w = defaultWorkload(pointsDeduct, 3);
    expect(search(pointsDeduct, 'naive', 'read-committed', w)).toMatchObject({ schedules: 96, traces: 96, prunedPrefixes: 0, outcomes: 3 });
    // The history rows' inserts commute (no statement reads history's heap order, `heap-orders.ts`), though the state names the heap order they leave.
    expect(search(pointsDeduct, 'naive', 'read-committed', w, { symmetry: false })).toMatchObject({ schedules: 81, traces: 30, prunedPrefixes: 51, outcomes: 3, complete: true });
    // Alike deductions that write only their own id into history's key are interchangeable (`symmetry.ts`, `id-columns.ts`).
    expect(search(pointsDeduct, 'naive', 'read-committed', w, {})).toMatchObject({ schedules: 31, traces: 5, prunedPrefixes: 24, outcomes: 3, complete: true, symmetric: true });
  });
});

/** What a run ends in: final tables and every transaction's result, fate, error and attempts. */
const outcome = (t: Trace) => outcomeKey(t);

/** An outcome as `ExhaustiveResult.outcomeDigests` lists it. */
const digest = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16);

/**
 * Scenarios whose 3-transaction workloads brute force runs in seconds, at which levels and with which strategies: reads during
 * an update, inserts against a unique index, dirty reads, deadlocks among three, upserts. signup-unique's get-or-create (select,
 * savepoint, insert, select again) has millions of interleavings with three; it is checked with two above.
 */
const threeTransactionScenarios: { scenario: Scenario; levels?: readonly IsolationLevel[]; except?: string }[] = [
  { id: 'points-read-during-update' },
  { id: 'signup-unique', except: 'get-or-create' },
  { id: 'dirty-read' },
  { id: 'deadlock-retry', levels: ['read-committed'] as const },
  { id: 'idempotency-key' },
  { id: 'counter-upsert' },
  { id: 'order-lines' },
].map(({ id, levels, except }) => ({ scenario: scenarios.find((s) => s.id === id)!, levels, except }));

/** The reductions checked against brute force: lockstep 0.1's footprints, the semantic ones, and the semantic ones with state caching. */
const reductions: { name: string; options: ExhaustiveOptions }[] = [
  { name: 'coarse footprints', options: { independence: 'coarse', stateCache: 0 } },
  { name: 'semantic footprints', options: { independence: 'semantic', stateCache: 0 } },
  { name: 'semantic footprints and state caching', options: { independence: 'semantic' } },
];

/** Runs every reduction and brute force on one workload and compares what they end in (and, with `exactCounts`, how many schedules each trace stands for). */
function checkAgainstBruteForce(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: RunPlan['workload'], exactCounts = true) {
  const engine = new MemoryEngine(scenario.schema);
  const spec: RunPlan = { scenario, strategy: scenario.strategies[strategy], isolation, workload };
  const all = new Set<string>();
  // With state caching, transactions running the same operation on the same arguments are interchangeable: the search runs one of the runs that differ only in which of them did what.
  const symmetry = Symmetry.of(workload);
  const upToSymmetry = new Set<string>();
  const naive = enumerateInterleavings(engine, spec, (t) => {
    all.add(outcome(t));
    if (symmetry) upToSymmetry.add(symmetry.outcomeKey(t));
  });
  const expected = [...all].sort();
  for (const { name, options } of reductions) {
    const runs: Trace[] = [];
    const r = exploreExhaustively(engine, spec, { ...options, stopOnViolation: false, onRun: (t) => void runs.push(t) });
    const reduced = new Set<string>();
    for (const t of runs) {
      if (!r.symmetric) reduced.add(outcome(t));
      else for (const swapped of swappedRuns(engine, spec, t, symmetry!)) reduced.add(outcome(swapped));
    }
    expect([...reduced].sort(), name).toEqual(expected);
    expect(r.complete, name).toBe(true);
    if (symmetry === undefined || options.stateCache === 0) expect(r.symmetric, name).toBe(false);
    // The outcomes the search counts (with interchangeable transactions, the reassignments it worked out and checked the rules on) are brute force's.
    expect(new Set(r.outcomeDigests), name).toEqual(new Set(expected.map(digest)));
    expect(r.schedules, name).toBeLessThanOrEqual(naive);
    if (!exactCounts) continue;
    if (r.prunedPrefixes === 0) expect(r.naiveInterleavings, name).toBe(naive);
    else expect(r.naiveInterleavings, name).toBeLessThan(naive);
  }
}

describe('exhaustive search is sound: the same outcomes as running every interleaving', () => {
  const isolations: IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];
  for (const scenario of [pointsDeduct, pointsMixed]) {
    for (const strategy of ['naive', 'for-update', 'atomic-update', 'advisory-lock']) {
      for (const isolation of isolations.filter((i) => scenario.isolationLevels.includes(i))) {
        for (const n of [2, 3]) {
          it(`${scenario.id} ${strategy} ${isolation}, ${n} transactions`, () => {
            checkAgainstBruteForce(scenario, strategy, isolation, defaultWorkload(scenario, n));
          });
        }
      }
    }
  }
});

/**
 * Workloads whose transactions queue for one row lock (for-update, advisory-lock) or wait on each other's updates
 * (atomic-update), with amounts such that the order decides who gets "insufficient": many outcomes, so state caching
 * at states where transactions hold locks and wait in queues is checked against brute force.
 */
const deductions = (amounts: readonly number[]) => amounts.map((amount) => ({ operation: 'deduct', args: { user: 1, amount } }));
const queueWorkloads: { scenario: Scenario; strategies: readonly string[]; levels: readonly IsolationLevel[]; workload: RunPlan['workload'] }[] = [
  { scenario: pointsDeduct, strategies: ['for-update', 'atomic-update', 'advisory-lock'], levels: ['read-committed', 'repeatable-read'], workload: deductions([1200, 900, 1500, 600]) },
  { scenario: pointsDeduct, strategies: ['for-update'], levels: ['read-committed'], workload: deductions([1200, 900, 1500, 600, 2100]) },
  {
    scenario: pointsMixed,
    strategies: ['for-update', 'atomic-update'],
    levels: ['read-committed', 'repeatable-read'],
    workload: [
      { operation: 'deduct', args: { user: 1, amount: 500 } },
      { operation: 'add', args: { user: 1, amount: 300 } },
      { operation: 'deduct', args: { user: 1, amount: 500 } },
      { operation: 'add', args: { user: 1, amount: 200 } },
    ],
  },
];

describe('exhaustive search with state caching is sound where transactions hold locks and wait in queues (4 and 5 transactions)', () => {
  for (const { scenario, strategies, levels, workload } of queueWorkloads) {
    for (const strategy of strategies) {
      for (const isolation of levels) {
        it(`${scenario.id} ${strategy} ${isolation}, ${workload.length} transactions (${workload.map((t) => `${t.operation} ${(t.args as { amount: number }).amount}`).join(', ')})`, () => {
          checkAgainstBruteForce(scenario, strategy, isolation, workload);
        });
      }
    }
  }
});

describe('exhaustive search is sound on every built-in scenario and the anomaly catalogue (predicates, inserts, unique indexes, deletes, retries)', () => {
  const all = [...scenarios.filter((s) => s !== pointsDeduct && s !== pointsMixed), ...catalogue.map((e) => e.scenario)];
  for (const scenario of all) {
    it(`${scenario.id}: every strategy and level, 2 transactions`, () => {
      for (const strategy of Object.keys(scenario.strategies)) {
        for (const isolation of scenario.isolationLevels) checkAgainstBruteForce(scenario, strategy, isolation, defaultWorkload(scenario, Math.max(2, scenario.transactions.min)));
      }
    });
  }
  for (const { scenario, levels, except } of threeTransactionScenarios) {
    it(`${scenario.id}: every strategy${except ? ` but ${except}` : ''}, ${levels ? levels.join(', ') : 'every level'}, 3 transactions`, () => {
      for (const strategy of Object.keys(scenario.strategies).filter((s) => s !== except)) {
        for (const isolation of levels ?? scenario.isolationLevels) checkAgainstBruteForce(scenario, strategy, isolation, defaultWorkload(scenario, 3));
      }
    });
  }
});

describe('exhaustive search is sound on upserts (ON CONFLICT DO UPDATE on the primary key and on a unique index)', () => {
  const workloads: RunPlan['workload'][] = [
    [
      { operation: 'upsertOnK', args: { id: 3, k: 10 } },
      { operation: 'upsertOnId', args: { id: 1, k: 30 } },
      { operation: 'upsertOnK', args: { id: 4, k: 30 } },
    ],
    [
      { operation: 'upsertOnK', args: { id: 3, k: 30 } },
      { operation: 'upsertOnK', args: { id: 4, k: 30 } },
      { operation: 'moveKey', args: { id: 2, k: 30 } },
    ],
  ];
  for (const isolation of keyed.isolationLevels) {
    it(`${isolation}: two workloads of 3 transactions`, () => {
      for (const workload of workloads) checkAgainstBruteForce(keyed, 'plain', isolation, workload);
    });
  }
});

/** Parent/child programs (properties/foreign-key-programs.ts) whose foreign key checks, restricts and cascades meet each other's locks and rows. */
const foreignKeyWorkloads: { name: string; programs: Statement[][] }[] = [
  {
    name: 'a child insert against a parent delete (cascade) and a parent key change (restrict)',
    programs: [
      [{ kind: 'insert', table: 'children', rows: [{ id: 3, parent: 1 }] }],
      [{ kind: 'delete', table: 'parents', where: { id: 1 } }],
      [{ kind: 'update', table: 'parents', where: { id: 2 }, set: { id: 5 } }],
    ],
  },
  {
    name: 'two inserts of children of one parent, each then locking it FOR UPDATE (deadlock), and a stock update',
    programs: [
      [{ kind: 'insert', table: 'children', rows: [{ id: 3, parent: 2 }] }, { kind: 'select', table: 'parents', where: { id: 2 }, lock: 'update' }],
      [{ kind: 'insert', table: 'children', rows: [{ id: 4, parent: 2 }] }, { kind: 'select', table: 'parents', where: { id: 2 }, lock: 'update' }],
      [{ kind: 'update', table: 'parents', where: { id: 2 }, set: { v: { add: 1 } } }],
    ],
  },
  {
    name: 'a note on a parent key against its change, a child re-pointed and a cascade',
    programs: [
      [{ kind: 'insert', table: 'notes', rows: [{ id: 2, k: 20 }] }, { kind: 'update', table: 'children', where: { id: 1 }, set: { parent: 3 } }],
      [{ kind: 'update', table: 'parents', where: { id: 2 }, set: { k: 40 } }],
      [{ kind: 'delete', table: 'parents', where: { id: 3 } }, { kind: 'delete', table: 'notes', where: { id: 1 } }],
    ],
  },
  {
    name: "an upsert whose DO UPDATE re-points a child (the new parent's FOR KEY SHARE) against that parent's lock and key change",
    programs: [
      [{ kind: 'insert', table: 'children', rows: [{ id: 1, parent: 1 }], onConflict: { columns: ['id'], update: { parent: 3 } } }],
      [{ kind: 'select', table: 'parents', where: { id: 3 }, lock: 'update' }, { kind: 'update', table: 'parents', where: { id: 3 }, set: { id: 5 } }],
    ],
  },
];

describe('exhaustive search is sound on foreign keys: checks, restricts and cascades', () => {
  for (const { name, programs } of foreignKeyWorkloads) {
    for (const n of [2, 3].filter((n) => n <= programs.length)) {
      it(`${name}, ${n} transactions, every level`, () => {
        const workload = programs.slice(0, n).map((statements) => ({ operation: 'statements', args: { statements, end: 'commit' } }));
        for (const isolation of parentChildPrograms.isolationLevels) checkAgainstBruteForce(parentChildPrograms, 'statements', isolation, workload);
      });
    }
  }
});

describe('exhaustive mode of explore', () => {
  for (const n of [2, 3, 4]) {
    it(`finds the lost update in points-deduct naive with ${n} transactions and shrinks it to 2 transactions, 1 preemption`, () => {
      const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1, mode: 'exhaustive', transactions: n });
      expect(report.status).toBe('failed');
      expect(report.counterexample!.violation).toMatchObject({ kind: 'invariant', invariant: 'balance-matches-successes' });
      expect(report.counterexample!.transactions).toHaveLength(2);
      expect(report.counterexample!.preemptions).toBe(1);
      expect(report.stats.complete).toBe(false);
    });
  }

  it('proves a safe strategy for its workload and reports the reduction', () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 100, seed: 1, mode: 'exhaustive', transactions: 3 });
    expect(report.status).toBe('passed');
    expect(report.stats).toMatchObject({ schedules: 15, complete: true, interchangeable: 3 });
  });

  it('a preemption bound cuts schedules and says the search is not complete', () => {
    const report = explore({
      scenario: pointsDeduct,
      strategy: 'for-update',
      isolation: 'read-committed',
      runs: 100,
      seed: 1,
      mode: 'exhaustive',
      transactions: 3,
      preemptionBound: 0,
    });
    expect(report.status).toBe('passed');
    expect(report.stats.complete).toBe(false);
    expect(report.stats.schedules).toBeLessThan(48);
  });

  it('with a preemption bound of 1 still finds the lost update', () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1, mode: 'exhaustive', transactions: 3, preemptionBound: 1 });
    expect(report.status).toBe('failed');
    expect(report.counterexample!.preemptions).toBe(1);
  });
});
