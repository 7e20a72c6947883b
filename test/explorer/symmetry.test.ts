import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { exploreExhaustively, type ExhaustiveOptions } from '../../src/explorer/exhaustive.ts';
import { enumerateInterleavings } from '../../src/explorer/interleavings.ts';
import { outcomeKey } from '../../src/explorer/outcome-key.ts';
import { explore } from '../../src/explorer/explore.ts';
import { runOnEngine, type RunPlan, type Trace } from '../../src/explorer/runner.ts';
import { choiceSchedule } from '../../src/explorer/schedule.ts';
import { Symmetry } from '../../src/explorer/symmetry.ts';
import { checkRun } from '../../src/explorer/violation.ts';
import { swappedRuns } from './swapped-runs.ts';
import { StatementFailure, type Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario, type Workload } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import { counterUpsert } from '../../src/model/scenarios/counters.ts';
import { pointsDeduct } from '../../src/model/scenarios/points.ts';

/*
 * Transactions running the same operation on the same arguments are
 * interchangeable (`symmetry.ts`): with state caching, exhaustive search
 * explores a state once whichever of them brought it about, and checks the
 * rules on every reassignment of a run's outcomes among them.
 */

const ticketsSchema = defineSchema({ stock: { columns: { id: 'int', left: 'int' }, primaryKey: ['id'] } });
type TicketsDb = DatabaseOf<typeof ticketsSchema>;

/** Lock the stock row, take a ticket when one is left. */
function* buyForUpdate(tx: Tx<TicketsDb>) {
  const row = yield* tx.selectOne('stock', { id: 1 }, { lock: 'update' });
  if (!row || row.left === 0) return yield* tx.rollback('sold-out');
  yield* tx.update('stock', { id: 1 }, { left: row.left - 1 });
  return yield* tx.commit('ok');
}

/** Read the stock, then take a ticket only if nobody took one since (an optimistic check); a buyer that lost the race names itself by its transaction id. */
function* buyOptimistic(tx: Tx<TicketsDb>) {
  const row = yield* tx.selectOne('stock', { id: 1 });
  if (!row || row.left === 0) return yield* tx.rollback('sold-out');
  const changed = yield* tx.update('stock', { id: 1, left: row.left }, { left: row.left - 1 });
  if (changed.length === 0) return yield* tx.rollback(`retry later, buyer ${tx.id}`);
  return yield* tx.commit('ok');
}

const tickets = defineScenario({
  id: 'tickets',
  title: 'two tickets left; concurrent buyers',
  schema: ticketsSchema,
  seed: { stock: [{ id: 1, left: 2 }] },
  isolationLevels: ['read-committed', 'repeatable-read'],
  operations: {
    buy: {
      args: fc.constant({}),
      serial(state) {
        const row = state.stock[0];
        if (row.left === 0) return 'sold-out';
        row.left--;
        return 'ok';
      },
    },
  },
  strategies: {
    'for-update': { description: 'SELECT ... FOR UPDATE, then UPDATE', programs: { buy: buyForUpdate }, expected: {} },
    optimistic: { description: 'read, then UPDATE ... WHERE left = the value read', programs: { buy: buyOptimistic }, expected: {} },
  },
  // A rule that tells the buyers apart: the first in the workload must get a ticket.
  invariants: [{ name: 'first-buyer-served', check: ({ outcomes }) => (outcomes[0].result === 'ok' ? null : `T1 got ${JSON.stringify(outcomes[0].result)}.`) }],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 4 }, () => ({ operation: 'buy', args: {} })),
});

const buyers = (n: number): Workload => Array.from({ length: n }, () => ({ operation: 'buy', args: {} }));

function plan(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: Workload): RunPlan {
  return { scenario, strategy: scenario.strategies[strategy], isolation, workload };
}

/** Every outcome of every interleaving, and those the search's runs stand for (each run's reassignments when it took transactions for interchangeable). */
function outcomes(p: RunPlan, options: ExhaustiveOptions = {}) {
  const engine = new MemoryEngine(p.scenario.schema);
  const all = new Set<string>();
  enumerateInterleavings(engine, p, (t) => void all.add(outcomeKey(t)));
  const runs: Trace[] = [];
  const result = exploreExhaustively(engine, p, { ...options, stopOnViolation: false, onRun: (t) => void runs.push(t) });
  const symmetry = Symmetry.of(p.workload)!;
  const covered = new Set<string>();
  for (const t of runs) {
    if (!result.symmetric) covered.add(outcomeKey(t));
    else for (const swapped of swappedRuns(engine, p, t, symmetry)) covered.add(outcomeKey(swapped));
  }
  // The outcomes the search counts are those it worked out for the reassignments it checked the rules on: they must be brute force's.
  expect(new Set(result.outcomeDigests)).toEqual(new Set([...all].map((k) => createHash('sha256').update(k).digest('hex').slice(0, 16))));
  return { all: [...all].sort(), covered: [...covered].sort(), result };
}

describe('interchangeable transactions', () => {
  it('n identical upserts of one counter: one run to the end stands for every order of the n', () => {
    for (const n of [3, 4, 5]) {
      const engine = new MemoryEngine(counterUpsert.schema);
      const p = plan(counterUpsert, 'upsert', 'read-committed', Array.from({ length: n }, () => ({ operation: 'hit', args: { key: 'home' } })));
      const symmetric = exploreExhaustively(engine, p);
      const plain = exploreExhaustively(engine, p, { symmetry: false });
      // Every order of the n is an outcome (each hit is answered with its own count): one run stands for all of them.
      expect(symmetric).toMatchObject({ symmetric: true, complete: true, traces: 1, outcomes: [6, 24, 120][n - 3] });
      expect(plain).toMatchObject({ symmetric: false, complete: true, traces: [6, 24, 120][n - 3], outcomes: [6, 24, 120][n - 3] });
      expect(symmetric.schedules).toBeLessThanOrEqual(plain.schedules / 3);
    }
  });

  it('cover every outcome of every interleaving, one class and two classes of transactions', () => {
    const hits = (home: number, fresh: number): Workload => [...Array.from({ length: home }, () => ({ operation: 'hit', args: { key: 'home' } })), ...Array.from({ length: fresh }, () => ({ operation: 'hit', args: { key: 'new' } }))];
    for (const strategy of ['naive', 'upsert', 'upsert-retry']) {
      for (const isolation of ['read-committed', 'repeatable-read'] as const) {
        // The read-then-write and the retries have too many interleavings of four (up to 103,488) for brute force to be quick.
        for (const workload of strategy === 'upsert' ? [hits(4, 0), hits(2, 2)] : [hits(3, 0), hits(2, 1)]) {
          const { all, covered, result } = outcomes(plan(counterUpsert, strategy, isolation, workload));
          expect(result.symmetric, `${strategy} ${isolation}`).toBe(true);
          expect(covered, `${strategy} ${isolation}`).toEqual(all);
        }
      }
    }
  });

  it('a rule that tells them apart is checked on every reassignment: the failure reported is a real run in which T1 is the one left out', () => {
    const engine = new MemoryEngine(tickets.schema);
    const p = plan(tickets, 'for-update', 'read-committed', buyers(3));
    const r = exploreExhaustively(engine, p);
    expect(r.symmetric).toBe(true);
    expect(r.failure?.violation).toEqual({ kind: 'invariant', invariant: 'first-buyer-served', message: 'T1 got "sold-out".' });
    expect(r.failure?.trace.outcomes.map((o) => o.result)).toEqual(['sold-out', 'ok', 'ok']);
    const replayed = runOnEngine(engine, p, choiceSchedule(r.failure!.choices));
    expect(checkRun(tickets, replayed)).toEqual(r.failure?.violation);
    // Without symmetry the search finds the same rule broken.
    expect(exploreExhaustively(engine, p, { symmetry: false }).failure?.violation.message).toBe('T1 got "sold-out".');
  });

  it('a program that reads its transaction id only when it loses a race: the search starts again without symmetry and still covers every outcome', () => {
    const { all, covered, result } = outcomes(plan(tickets, 'optimistic', 'read-committed', buyers(3)));
    expect(result.symmetric).toBe(false);
    expect(covered).toEqual(all);
    expect(all.filter((o) => o.includes('retry later, buyer'))).toHaveLength(6);
    // Under repeatable read the loser's UPDATE fails with 40001 instead, and no program reads its id.
    const rr = outcomes(plan(tickets, 'optimistic', 'repeatable-read', buyers(3)));
    expect(rr.result.symmetric).toBe(true);
    expect(rr.covered).toEqual(rr.all);
  });

  it('ledger deductions that write their own id into history rows nobody reads: interchangeable, and every outcome of every interleaving covered', () => {
    const deductions = Array.from({ length: 4 }, () => ({ operation: 'deduct', args: { user: 1, amount: 300 } }));
    for (const strategy of ['for-update', 'atomic-update']) {
      const { all, covered, result } = outcomes(plan(pointsDeduct, strategy, 'read-committed', deductions));
      expect(result.symmetric, strategy).toBe(true);
      expect(covered, strategy).toEqual(all);
      expect(result.outcomes, strategy).toBe(all.length);
    }
  });

  it('a rule about whose id the history holds is checked on every reassignment, ids in the rows swapped too', () => {
    // 600 points, three deductions of 300: one is refused. The rule wants T1 served.
    const firstServed = defineScenario({
      ...pointsDeduct,
      id: 'points-first-served',
      seed: { accounts: [{ id: 1, balance: 600 }], history: [] },
      invariants: [{ name: 'first-in-history', check: ({ final }) => (final.history.some((h) => (h as { tx: number }).tx === 1) ? null : `No history row of T1: ${JSON.stringify(final.history)}.`) }],
    });
    const engine = new MemoryEngine(firstServed.schema);
    const p = plan(firstServed, 'for-update', 'read-committed', Array.from({ length: 3 }, () => ({ operation: 'deduct', args: { user: 1, amount: 300 } })));
    const r = exploreExhaustively(engine, p);
    expect(r.symmetric).toBe(true);
    expect(r.failure?.violation).toEqual({ kind: 'invariant', invariant: 'first-in-history', message: 'No history row of T1: [{"tx":2,"account":1,"delta":-300},{"tx":3,"account":1,"delta":-300}].' });
    expect(checkRun(firstServed, runOnEngine(engine, p, choiceSchedule(r.failure!.choices)))).toEqual(r.failure?.violation);
  });

  it('an id written where something reads it, or used to decide, tells the transactions apart: the search starts again without symmetry', () => {
    const salesSchema = defineSchema({ sales: { columns: { buyer: 'int', item: 'int' }, primaryKey: ['buyer'] } });
    type SalesDb = DatabaseOf<typeof salesSchema>;
    // Appends its id, then counts the sales (reads the table the ids went into).
    function* buyAndCount(tx: Tx<SalesDb>) {
      yield* tx.insert('sales', { buyer: tx.id, item: 1 });
      const n = yield* tx.count('sales', {});
      return yield* tx.commit(n);
    }
    // Appends its id, but the second transaction of the workload buys another item.
    function* buyByNumber(tx: Tx<SalesDb>) {
      yield* tx.insert('sales', { buyer: tx.id, item: tx.id === 2 ? 2 : 1 });
      return yield* tx.commit('ok');
    }
    // Appends its id only: interchangeable.
    function* buy(tx: Tx<SalesDb>) {
      yield* tx.insert('sales', { buyer: tx.id, item: 1 });
      return yield* tx.commit('ok');
    }
    const sales = defineScenario({
      id: 'sales',
      title: 'buyers append their sale',
      schema: salesSchema,
      seed: { sales: [] },
      isolationLevels: ['read-committed'],
      operations: { buy: { args: fc.constant({}), serial: () => 'ok' } },
      strategies: {
        'buy-and-count': { description: '', programs: { buy: buyAndCount }, expected: {} },
        'buy-by-number': { description: '', programs: { buy: buyByNumber }, expected: {} },
        buy: { description: '', programs: { buy }, expected: {} },
      },
      invariants: [],
      transactions: { min: 2, max: 3 },
      canonical: [],
    });
    const expectations: [string, boolean][] = [['buy-and-count', false], ['buy-by-number', false], ['buy', true]];
    for (const [strategy, symmetric] of expectations) {
      const { all, covered, result } = outcomes(plan(sales, strategy, 'read-committed', Array.from({ length: 3 }, () => ({ operation: 'buy', args: {} }))));
      expect(result.symmetric, strategy).toBe(symmetric);
      expect(covered, strategy).toEqual(all);
    }
  });

  it('review cases: a finished transaction named by what it appended, a multi-row append with the id in one row only, a COMMIT that rolls back', () => {
    const schema = defineSchema({
      counter: { columns: { id: 'int', v: 'int' }, primaryKey: ['id'] },
      log: { columns: { req: 'int', k: 'int', seen: 'int' }, primaryKey: ['req', 'k'] },
      claims: { columns: { id: 'int' }, primaryKey: ['id'] },
    });
    type Db = DatabaseOf<typeof schema>;
    // Notes the counter it saw in a log row keyed by its id, and returns only 'ok': two finished notes differ in what they appended alone.
    function* note(tx: Tx<Db>) {
      const row = yield* tx.selectOne('counter', { id: 1 });
      yield* tx.insert('log', { req: tx.id, k: 0, seen: row!.v });
      return yield* tx.commit('ok');
    }
    function* bump(tx: Tx<Db>) {
      yield* tx.update('counter', { id: 1 }, { v: 1 });
      return yield* tx.commit('ok');
    }
    // Two log rows in one INSERT, the id in `seen` of the first only.
    function* noteTwice(tx: Tx<Db>) {
      yield* tx.insert('log', [{ req: tx.id, k: 0, seen: tx.id }, { req: tx.id, k: 1, seen: 1 }]);
      return yield* tx.commit('ok');
    }
    // Logs its id, then claims slot 1, catches the duplicate and commits: PostgreSQL rolls the transaction back, log row and all.
    function* claim(tx: Tx<Db>) {
      yield* tx.insert('log', { req: tx.id, k: 0, seen: 0 });
      try {
        yield* tx.insert('claims', { id: 1 });
      } catch (e) {
        if (!(e instanceof StatementFailure)) throw e;
        return yield* tx.commit('dup');
      }
      return yield* tx.commit('ok');
    }
    const op = { args: fc.constant({}), serial: () => 'ok' };
    const log = defineScenario({
      id: 'log',
      title: 'log rows keyed by request id',
      schema,
      seed: { counter: [{ id: 1, v: 0 }], log: [], claims: [] },
      isolationLevels: ['read-committed'],
      operations: { note: op, bump: op, claim: op },
      strategies: { s: { description: '', programs: { note, bump, claim: claim }, expected: {} }, twice: { description: '', programs: { note: noteTwice, bump, claim }, expected: {} } },
      invariants: [],
      transactions: { min: 2, max: 3 },
      canonical: [],
    });
    const cases: [string, Workload, boolean][] = [
      ['s', [{ operation: 'note', args: {} }, { operation: 'note', args: {} }, { operation: 'bump', args: {} }], true],
      ['twice', [{ operation: 'note', args: {} }, { operation: 'note', args: {} }], false],
      ['s', [{ operation: 'claim', args: {} }, { operation: 'claim', args: {} }], true],
    ];
    for (const [strategy, workload, symmetric] of cases) {
      const { all, covered, result } = outcomes(plan(log, strategy, 'read-committed', workload));
      expect(result.symmetric, workload[0].operation).toBe(symmetric);
      expect(covered, workload[0].operation).toEqual(all);
    }
  });

  it('explore splits an exhaustive search into one unit per class of interchangeable first steps, with the same verdicts', () => {
    const passing = explore({ scenario: counterUpsert, strategy: 'upsert', isolation: 'read-committed', mode: 'exhaustive', transactions: 4, runs: 1, seed: 1 });
    expect(passing).toMatchObject({ status: 'passed', stats: { traces: 1, outcomes: 24, complete: true, interchangeable: 4 } });
    const failing = explore({ scenario: counterUpsert, strategy: 'naive', isolation: 'read-committed', mode: 'exhaustive', transactions: 4, runs: 1, seed: 1 });
    expect(failing.status).toBe('failed');
    expect(failing.counterexample?.transactions).toHaveLength(2);
  });
});
