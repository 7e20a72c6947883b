import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { enumerateInterleavings, exploreExhaustively } from '../../src/explorer/exhaustive.ts';
import { explore } from '../../src/explorer/explore.ts';
import { defaultWorkload } from '../../src/explorer/workloads.ts';
import type { RunPlan, Trace } from '../../src/explorer/runner.ts';
import { pointsDeduct, pointsMixed } from '../../src/model/scenarios/points.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';

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
  },
  strategies: { plain: { description: 'one statement', programs: { read, write }, expected: {} } },
  invariants: [],
  transactions: { min: 2, max: 2 },
  canonical: [],
});

function search(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: RunPlan['workload']) {
  const spec: RunPlan = { scenario, strategy: scenario.strategies[strategy], isolation, workload };
  return exploreExhaustively(new MemoryEngine(scenario.schema), spec, { stopOnViolation: false });
}

describe('exhaustive search: traces counted by hand', () => {
  // Each transaction is one statement then COMMIT (a1 a2, b1 b2): 6 interleavings.
  it('two plain reads of one row: only the reads commute, 4 traces', () => {
    // a2 (COMMIT: everything T1 touched, as writes) conflicts with b1 and b2, b2 with a1; a1 and b1 commute.
    const r = search(items, 'plain', 'read-committed', [{ operation: 'read', args: { id: 1 } }, { operation: 'read', args: { id: 1 } }]);
    expect(r).toMatchObject({ traces: 4, schedules: 4, naiveInterleavings: 6, complete: true });
  });

  it('writers of different rows: only the two COMMITs are ordered, 2 traces', () => {
    const r = search(items, 'plain', 'read-committed', [{ operation: 'write', args: { id: 1 } }, { operation: 'write', args: { id: 2 } }]);
    expect(r).toMatchObject({ traces: 2, naiveInterleavings: 6, complete: true });
  });

  it('reads of different rows: 2 traces under read committed, 4 under repeatable read (a snapshot does not commute with a COMMIT)', () => {
    const w = [{ operation: 'read', args: { id: 1 } }, { operation: 'read', args: { id: 2 } }];
    expect(search(items, 'plain', 'read-committed', w).traces).toBe(2);
    expect(search(items, 'plain', 'repeatable-read', w).traces).toBe(4);
  });

  it('points-deduct atomic-update, 2 transactions: who updates first, and whether the other waits for it: 4 traces of 6 schedules', () => {
    // T1 update, T2 update (blocks) ~ T2 update after T1's insert (independent of it); T2's update after T1's COMMIT is another trace; the same with T2 first.
    const r = search(pointsDeduct, 'atomic-update', 'read-committed', defaultWorkload(pointsDeduct, 2));
    expect(r).toMatchObject({ traces: 4, naiveInterleavings: 6, complete: true });
  });

  it('points-deduct naive, 2 transactions: 10 traces of 24 schedules', () => {
    expect(search(pointsDeduct, 'naive', 'read-committed', defaultWorkload(pointsDeduct, 2))).toMatchObject({ traces: 10, naiveInterleavings: 24 });
  });
});

/** What a run ends in: final tables and every transaction's result and fate. */
const outcome = (t: Trace) => JSON.stringify([t.final, t.outcomes.map((o) => [o.result, o.fate, o.error?.code ?? null, o.attempts])]);

describe('exhaustive search is sound: the same outcomes as running every interleaving', () => {
  const isolations: IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];
  for (const scenario of [pointsDeduct, pointsMixed]) {
    for (const strategy of ['naive', 'for-update', 'atomic-update']) {
      for (const isolation of isolations.filter((i) => scenario.isolationLevels.includes(i))) {
        for (const n of [2, 3]) {
          it(`${scenario.id} ${strategy} ${isolation}, ${n} transactions`, () => {
            const engine = new MemoryEngine(scenario.schema);
            const spec: RunPlan = { scenario, strategy: scenario.strategies[strategy], isolation, workload: defaultWorkload(scenario, n) };
            const reduced = new Set<string>();
            const all = new Set<string>();
            const r = exploreExhaustively(engine, spec, { stopOnViolation: false, onRun: (t) => void reduced.add(outcome(t)) });
            const naive = enumerateInterleavings(engine, spec, (t) => all.add(outcome(t)));
            expect([...reduced].sort()).toEqual([...all].sort());
            expect(r.complete).toBe(true);
            expect(r.naiveInterleavings).toBe(naive);
            expect(r.schedules).toBeLessThanOrEqual(naive);
          });
        }
      }
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
    expect(report.stats).toMatchObject({ schedules: 72, traces: 72, naiveInterleavings: 132, complete: true });
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
    expect(report.stats.schedules).toBeLessThan(72);
  });

  it('with a preemption bound of 1 still finds the lost update', () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1, mode: 'exhaustive', transactions: 3, preemptionBound: 1 });
    expect(report.status).toBe('failed');
    expect(report.counterexample!.preemptions).toBe(1);
  });
});
