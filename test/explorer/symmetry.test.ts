import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { enumerateInterleavings, exploreExhaustively, outcomeKey, type ExhaustiveOptions } from '../../src/explorer/exhaustive.ts';
import { explore } from '../../src/explorer/explore.ts';
import { runOnEngine, type RunPlan, type Trace } from '../../src/explorer/runner.ts';
import { choiceSchedule } from '../../src/explorer/schedule.ts';
import { Symmetry } from '../../src/explorer/symmetry.ts';
import { checkRun } from '../../src/explorer/violation.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario, type Workload } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import { counterUpsert } from '../../src/model/scenarios/counters.ts';

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
    else for (const to of symmetry.reassignments(t.outcomes)) covered.add(outcomeKey({ ...t, outcomes: t.outcomes.map((o) => ({ ...o, id: to[o.id] })).sort((a, b) => a.id - b.id) }));
  }
  return { all: [...all].sort(), covered: [...covered].sort(), result };
}

describe('interchangeable transactions', () => {
  it('n identical upserts of one counter: one run to the end stands for every order of the n', () => {
    for (const n of [3, 4, 5]) {
      const engine = new MemoryEngine(counterUpsert.schema);
      const p = plan(counterUpsert, 'upsert', 'read-committed', Array.from({ length: n }, () => ({ operation: 'hit', args: { key: 'home' } })));
      const symmetric = exploreExhaustively(engine, p);
      const plain = exploreExhaustively(engine, p, { symmetry: false });
      expect(symmetric).toMatchObject({ symmetric: true, complete: true, traces: 1, outcomes: 1 });
      expect(plain).toMatchObject({ symmetric: false, complete: true, traces: [6, 24, 120][n - 3] });
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

  it('explore splits an exhaustive search into one unit per class of interchangeable first steps, with the same verdicts', () => {
    const passing = explore({ scenario: counterUpsert, strategy: 'upsert', isolation: 'read-committed', mode: 'exhaustive', transactions: 4, runs: 1, seed: 1 });
    expect(passing).toMatchObject({ status: 'passed', stats: { traces: 1, outcomes: 1, complete: true } });
    const failing = explore({ scenario: counterUpsert, strategy: 'naive', isolation: 'read-committed', mode: 'exhaustive', transactions: 4, runs: 1, seed: 1 });
    expect(failing.status).toBe('failed');
    expect(failing.counterexample?.transactions).toHaveLength(2);
  });
});
