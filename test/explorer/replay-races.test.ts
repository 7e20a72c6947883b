import { describe, expect, it } from 'vitest';
import type { Backend, Event, IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { replay } from '../../src/explorer/replay.ts';
import type { RunPlan } from '../../src/explorer/runner.ts';
import type { Schema, Tables } from '../../src/model/schema.ts';
import { describeStatement, type Statement } from '../../src/model/statement.ts';
import { pointsAdd, pointsDeduct } from '../../src/model/scenarios/points.ts';

/**
 * A database that takes the other outcome of every race the model allows:
 * the memory engine with a resolver that picks the last candidate (the
 * latest waiter, the last woken transaction), as PostgreSQL sometimes does
 * run after run (issue #17: 8 replays in 30 of one schedule on PostgreSQL 15).
 */
class LastComesFirst implements Backend {
  readonly name = 'memory, last candidate first';
  private readonly engine: MemoryEngine;

  constructor(schema: Schema) {
    this.engine = new MemoryEngine(schema, (_, candidates) => candidates[candidates.length - 1]);
  }

  async reset(seed: Tables, isolation: IsolationLevel): Promise<void> {
    this.engine.reset(seed, isolation);
  }

  async step(tx: TxId, statement: Statement): Promise<Event[]> {
    return this.engine.step(tx, statement);
  }

  async abandon(tx: TxId): Promise<Event[]> {
    return this.engine.abandon(tx);
  }

  async tables(): Promise<Tables> {
    return this.engine.tables();
  }

  describe(statement: Statement): string {
    return describeStatement(statement);
  }

  async close(): Promise<void> {}
}

const amounts = (operation: string, ...amount: number[]) => amount.map((a) => ({ operation, args: { user: 1, amount: a } }));

describe('replay follows every outcome the model allows to the end', () => {
  it('a commit wakes three UPDATE waiters and the database lets the last win: the stored schedule cannot go on, so the last attempt runs the rest in its intended order', async () => {
    // The first schedule of issue #17: points-add serializable-retry (the naive read-modify-write), read committed.
    const plan: RunPlan = { scenario: pointsAdd, strategy: pointsAdd.strategies['serializable-retry'], isolation: 'read-committed', workload: amounts('add', 300, 200, 200, 200) };
    const report = await replay(new LastComesFirst(pointsAdd.schema), plan, [4, 4, 1, 2, 3, 1, 2, 4, 3, 4, 1, 1, 2, 2, 3, 3]);
    expect(report.status).toBe('confirmed');
    expect(report.attempts).toBe(4);
    expect(report.reorderedFrom).toBe(11);
    expect(report.racesFollowed[0]).toEqual({ step: 10, candidates: [1, 2, 3], chosen: 3 });
    expect(report.steps.map((s) => s.tx)).toEqual([4, 4, 1, 2, 3, 1, 2, 4, 3, 4, 3, 3, 2, 2, 1, 1]);
  });

  it('a ROLLBACK wakes a waiter that walked the update chain and a later arrival holding the tuple lock: the database lets the later one win', async () => {
    // Found by the conformance property at 2,000 runs: points-deduct for-update, read committed; T2 rolls back at step 8 (2100 > 1800).
    const plan: RunPlan = { scenario: pointsDeduct, strategy: pointsDeduct.strategies['for-update'], isolation: 'read-committed', workload: amounts('deduct', 3000, 2100, 1200, 600) };
    const report = await replay(new LastComesFirst(pointsDeduct.schema), plan, [3, 3, 2, 3, 4, 3, 1, 2, 4, 4, 4, 1]);
    expect(report.status).toBe('confirmed');
    expect(report.racesFollowed[0]).toEqual({ step: 8, candidates: [4, 1], chosen: 1 });
    expect(report.reorderedFrom).toBe(9);
  });
});
