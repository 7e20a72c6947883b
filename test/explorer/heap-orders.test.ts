import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { exploreExhaustively, type ExhaustiveOptions } from '../../src/explorer/exhaustive.ts';
import { enumerateInterleavings } from '../../src/explorer/interleavings.ts';
import { outcomeKey } from '../../src/explorer/outcome-key.ts';
import type { TxId } from '../../src/adapters/backend.ts';
import { dependent, runWithDependencies, type DependencyStep } from '../../src/explorer/dependency-run.ts';
import { heapOrder } from '../../src/explorer/footprint.ts';
import { HeapOrders } from '../../src/explorer/heap-orders.ts';
import type { RunPlan } from '../../src/explorer/runner.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import { SqlState } from '../../src/model/statement.ts';

/** A log table that starts empty: inserts, a count, an UPDATE of every row (which locks them in heap order) and row locks by key. */
const logSchema = defineSchema({ log: { columns: { id: 'int', v: 'int' }, primaryKey: ['id'] } });
type LogDb = DatabaseOf<typeof logSchema>;

function* append(tx: Tx<LogDb>, a: { id: number }) {
  yield* tx.insert('log', { id: a.id, v: 0 });
  return yield* tx.commit('ok');
}
function* countRows(tx: Tx<LogDb>) {
  const n = yield* tx.count('log', {});
  return yield* tx.commit(n);
}
function* bumpAll(tx: Tx<LogDb>) {
  const rows = yield* tx.update('log', {}, { v: { add: 1 } });
  return yield* tx.commit(rows.length);
}
/** The same UPDATE, only when a count saw fewer than 2 rows: never in the first schedule (which runs the transactions one after another). */
function* bumpAllUnlessBoth(tx: Tx<LogDb>) {
  const n = yield* tx.count('log', {});
  if (n >= 2) return yield* tx.commit(0);
  const rows = yield* tx.update('log', {}, { v: { add: 1 } });
  return yield* tx.commit(rows.length);
}
/** Locks row 1, then row 2: against bumpAll it deadlocks only when row 2 comes first in the heap (was inserted first). */
function* lockOneThenTwo(tx: Tx<LogDb>) {
  const one = yield* tx.select('log', { id: 1 }, { lock: 'update' });
  const two = yield* tx.select('log', { id: 2 }, { lock: 'update' });
  return yield* tx.commit(one.length + two.length);
}

const programs = { append, countRows, bumpAll, bumpAllUnlessBoth, lockOneThenTwo };
const log = defineScenario({
  id: 'log',
  title: 'an append-only log, and an UPDATE of every row',
  schema: logSchema,
  seed: { log: [] },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: Object.fromEntries(Object.keys(programs).map((name) => [name, { args: fc.constant({ id: 1 }), serial: () => 'ok' }])),
  strategies: { plain: { description: 'one program per operation', programs, expected: {} } },
  invariants: [],
  transactions: { min: 2, max: 4 },
  canonical: [],
});

const plan = (isolation: IsolationLevel, workload: RunPlan['workload']): RunPlan => ({ scenario: log, strategy: log.strategies.plain, isolation, workload });

function search(isolation: IsolationLevel, workload: RunPlan['workload'], options: ExhaustiveOptions = { stateCache: 0 }) {
  return exploreExhaustively(new MemoryEngine(logSchema), plan(isolation, workload), { stopOnViolation: false, ...options });
}

/** The outcomes of every interleaving, and of each reduction: the same. */
function checkAgainstBruteForce(isolation: IsolationLevel, workload: RunPlan['workload']): string[] {
  const engine = new MemoryEngine(logSchema);
  const all = new Set<string>();
  const naive = enumerateInterleavings(engine, plan(isolation, workload), (t) => all.add(outcomeKey(t)));
  const expected = [...all].sort();
  for (const options of [{ stateCache: 0 }, {}] as ExhaustiveOptions[]) {
    const reduced = new Set<string>();
    const r = exploreExhaustively(engine, plan(isolation, workload), { ...options, stopOnViolation: false, onRun: (t) => void reduced.add(outcomeKey(t)) });
    expect([...reduced].sort()).toEqual(expected);
    expect(r).toMatchObject({ complete: true, outcomes: expected.length });
    expect(r.schedules).toBeLessThanOrEqual(naive);
  }
  return expected;
}

/** The outcomes of a search split into one unit per first step, the earlier units' transactions asleep at each unit's root where their first steps commute with its own. */
function splitSearchOutcomes(workload: RunPlan['workload']): string[] {
  const engine = new MemoryEngine(logSchema);
  const spec = plan('read-committed', workload);
  const roots = runWithDependencies(engine, spec, () => undefined).runnable[0];
  const firstStep = (tx: TxId) => runWithDependencies(engine, spec, (_r, _l, depth) => (depth === 0 ? tx : undefined)).steps[0];
  const outcomes = new Set<string>();
  roots.forEach((tx, k) => {
    const own = firstStep(tx);
    const asleep = new Map<TxId, DependencyStep>();
    for (const t of roots.slice(0, k)) if (!dependent(firstStep(t), own)) asleep.set(t, firstStep(t));
    const r = exploreExhaustively(engine, spec, { stopOnViolation: false, first: { txs: [tx], asleep }, onRun: (t) => void outcomes.add(outcomeKey(t)) });
    expect(r.complete).toBe(true);
  });
  return [...outcomes].sort();
}

const appends = [{ operation: 'append', args: { id: 1 } }, { operation: 'append', args: { id: 2 } }];

describe('heap orders: inserts into a table whose heap order no statement reads commute', () => {
  it('which statements order a heap: anything on a table but plain selects and plain inserts, and tables with foreign keys from the start', () => {
    const orders = new HeapOrders(logSchema);
    expect([...orders.unordered]).toEqual([heapOrder('log')]);
    orders.observe({ kind: 'insert', table: 'log', rows: [{ id: 1, v: 0 }] });
    orders.observe({ kind: 'select', table: 'log', where: { id: 1 } });
    expect(orders.changed).toBe(false);
    orders.observe({ kind: 'insert', table: 'log', rows: [{ id: 1, v: 0 }], onConflict: 'nothing' });
    expect(orders).toMatchObject({ changed: true, unordered: new Set() });
    const locking = new HeapOrders(logSchema);
    locking.observe({ kind: 'select', table: 'log', where: { id: 1 }, lock: 'share' });
    expect(locking.unordered.size).toBe(0);
  });

  it('two appends: the inserts commute, their COMMITs do not (each may wake waiters): 2 traces where the heap order made 4', () => {
    expect(search('read-committed', appends)).toMatchObject({ traces: 2, naiveInterleavings: 6, complete: true, outcomes: 1 });
    expect(search('read-committed', appends, { independence: 'coarse', stateCache: 0 })).toMatchObject({ traces: 4, naiveInterleavings: 6 });
    for (const isolation of log.isolationLevels) checkAgainstBruteForce(isolation, [...appends, { operation: 'countRows', args: {} }]);
  });

  it('an UPDATE of every row met later orders the heap, and the search starts again: it deadlocks with a locker only when row 2 was inserted first', () => {
    const workload = [...appends, { operation: 'bumpAll', args: {} }, { operation: 'lockOneThenTwo', args: {} }];
    const outcomes = checkAgainstBruteForce('read-committed', workload);
    // The deadlock needs T2's insert before T1's: a search that kept the inserts commuting would run them in one order only (T1's first) and miss it.
    expect(outcomes.some((o) => o.includes(SqlState.deadlockDetected))).toBe(true);
  });

  it('the same UPDATE met only in a later schedule: the search starts again from scratch', () => {
    const workload = [...appends, { operation: 'bumpAllUnlessBoth', args: {} }, { operation: 'lockOneThenTwo', args: {} }];
    const outcomes = checkAgainstBruteForce('read-committed', workload);
    expect(outcomes.some((o) => o.includes(SqlState.deadlockDetected))).toBe(true);
    // Split by first step, as explore runs it (`exploration.ts`): each unit learns the heap orders of its own runs.
    expect(splitSearchOutcomes(workload)).toEqual(outcomes);
  });
});
