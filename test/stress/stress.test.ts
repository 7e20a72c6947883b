import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError, InputError } from '../../src/errors.ts';
import { defineScenario } from '../../src/model/scenario.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { orderStock, pointsDeduct, pointsMixed } from '../../src/model/scenarios/index.ts';
import type { Tx } from '../../src/model/program.ts';
import { fc } from '../../src/index.ts';
import { stress, type StressReport } from '../../src/stress/stress.ts';
import { createStressDatabase, type StressDatabase } from './stress-database.ts';

// Nothing here asserts a time: only what holds however fast the machine is.
let db: StressDatabase;
beforeAll(async () => {
  db = await createStressDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Every operation's outcomes add up to its count, and the counts to the transactions run. */
function expectOutcomesAddUp(report: StressReport, transactions: number) {
  expect(report.transactions).toBe(transactions);
  const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
  expect(Object.values(report.operations).reduce((n, op) => n + op.count, 0)).toBe(transactions);
  for (const op of Object.values(report.operations)) expect(sum(op.outcomes)).toBe(op.count);
  expect(sum(report.total.outcomes)).toBe(transactions);
}

/** The pool's connections never exceeded the pool, at any sample. */
function expectWithinPool(report: StressReport) {
  expect(report.maxConnections).toBeGreaterThan(0);
  expect(report.maxConnections).toBeLessThanOrEqual(report.pool);
  for (const s of report.resources.seconds) expect(s.connections).toBeLessThanOrEqual(report.pool);
}

describe('stress: the safe strategies end exactly where SCENARIOS.md says, under load', () => {
  it('order-stock at scale: 500 orders from 1,000 in stock, exactly 500 succeed and 500 are left', async () => {
    const report = await stress({ scenario: orderStock, strategy: 'atomic-update', profile: 'scale', db: db.url });
    expect(report).toMatchObject({ scenario: 'order-stock', strategy: 'atomic-update', isolation: 'read-committed', profile: 'scale', clients: 500, pool: 10, loadModel: 'closed' });
    expectOutcomesAddUp(report, 500);
    expect(report.operations.order.outcomes).toEqual({ ok: 500 });
    expect(report.final.products.find((p) => p.id === 1)).toEqual({ id: 1, stock: 500 });
    expect(report.final.orders).toHaveLength(500);
    expect(report.rules).toEqual([
      { invariant: 'never-oversold', holds: true },
      { invariant: 'every-request-answered', holds: true },
    ]);
    expect(report.thresholds.map((t) => [t.expr, t.value, t.ok])).toEqual([
      ['count(error)==0', 0, true],
      ['invariants==0', 0, true],
    ]);
    expect(report.model.verdict).toBe('passes');
    expect(report.status).toBe('passed');
    expectWithinPool(report);
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });

  it('points-scale: 500 deductions of 1,000 from 500,000 all succeed and leave 0 (for-update, a pool of 5)', async () => {
    const report = await stress({ scenario: pointsDeduct, strategy: 'for-update', profile: 'points-scale', pool: 5, db: db.url });
    expectOutcomesAddUp(report, 500);
    expect(report.operations.deduct.outcomes).toEqual({ ok: 500 });
    expect(report.final.accounts).toEqual([{ id: 1, balance: 0 }]);
    expect(report.final.history).toHaveLength(500);
    expect(report.rules.every((r) => r.holds)).toBe(true);
    expect(report.rules.map((r) => r.invariant)).toContain('all-succeed-balance-zero');
    expect(report.pool).toBe(5);
    expectWithinPool(report);
    expect(report.status).toBe('passed');
  });

  it('retries on 40001 under serializable: every attempt is counted, every 40001 but a last one retried', async () => {
    const report = await stress({ scenario: pointsMixed, strategy: 'serializable-retry', isolation: 'serializable', workload: 'canonical', clients: 2, pool: 2, transactions: 40, db: db.url });
    expectOutcomesAddUp(report, 40);
    const gaveUp = report.total.outcomes['40001'] ?? 0; // retrying() gives up after 20 attempts
    expect(report.total.attempts.total - 40).toBe((report.total.errors['40001']?.count ?? 0) - gaveUp);
    expect(report.rules.filter((r) => r.invariant !== 'every-operation-succeeds').every((r) => r.holds)).toBe(true);
    expect(report.status).toBe(gaveUp === 0 ? 'passed' : 'failed');
  });
});

describe('stress: the open model', () => {
  it('runs every transaction scheduled within the duration, however fast they are served: rate 50/s for 1 s is 50', async () => {
    const report = await stress({ scenario: pointsMixed, strategy: 'atomic-update', workload: 'canonical', rate: 50, durationMs: 1000, clients: 4, pool: 2, db: db.url });
    expect(report).toMatchObject({ loadModel: 'open', rate: 50, transactions: 50 });
    expectOutcomesAddUp(report, 50);
    expectWithinPool(report);
  });

  it('bursts: 12 transactions in bursts of 5 are 3 bursts, all answered', async () => {
    const report = await stress({ scenario: pointsMixed, strategy: 'for-update', workload: 'canonical', burst: { size: 5, idleMs: 100 }, transactions: 12, clients: 5, db: db.url });
    expect(report).toMatchObject({ loadModel: 'open', burst: { size: 5, idleMs: 100 }, transactions: 12 });
    expect(report.total.outcomes).toEqual({ ok: 12 });
  });
});

describe('stress: the rules are the scenario\'s invariants over the final tables', () => {
  it('naive deductions: each rule holds exactly when the final tables say it should, and the damage is in domain words', async () => {
    const report = await stress({ scenario: pointsDeduct, strategy: 'naive', profile: 'points-scale', db: db.url });
    expectOutcomesAddUp(report, 500);
    const ok = report.operations.deduct.outcomes.ok ?? 0;
    const balance = report.final.accounts[0].balance as number;
    const rule = (name: string) => report.rules.find((r) => r.invariant === name)!;
    expect(rule('balance-matches-successes').holds).toBe(balance === 500_000 - 1000 * ok);
    if (!rule('balance-matches-successes').holds) {
      expect(rule('balance-matches-successes').message).toBe(`The balance ended at ${balance}, but ${ok} successful operations from 500000 should leave ${500_000 - 1000 * ok}: an update was lost.`);
    }
    expect(rule('history-matches-successes').holds).toBe(report.final.history.length === ok);
    expect(rule('balance-never-negative').holds).toBe(balance >= 0);
    expect(report.status).toBe(report.rules.every((r) => r.holds) ? 'passed' : 'failed');
    expect(report.thresholds.find((t) => t.expr === 'invariants==0')!.value).toBe(report.rules.filter((r) => !r.holds).length);
    expect(report.model.verdict).toBe('fails');
  });

  it('a table longer than 1,000 rows is cut in the report, which says so; the rules saw every row', async () => {
    const report = await stress({ scenario: pointsMixed, strategy: 'atomic-update', workload: 'canonical', clients: 3, transactions: 1001, db: db.url });
    expect(report.final.history).toHaveLength(1000);
    expect(report.finalTruncated).toEqual({ history: { shown: 1000, total: 1001 } });
    expect(report.rules.find((r) => r.invariant === 'history-matches-successes')).toEqual({ invariant: 'history-matches-successes', holds: true });
    expect(report.workload).toBe('canonical');
  });
});

describe('stress leaves nothing behind', () => {
  const brokenSchema = defineSchema({ counters: { columns: { id: 'int', n: 'int' }, primaryKey: ['id'] } });
  const broken = defineScenario({
    id: 'broken-counter',
    title: 'a program that throws on its 20th transaction',
    schema: brokenSchema,
    seed: { counters: [{ id: 1, n: 0 }] },
    isolationLevels: ['read-committed'],
    operations: { bump: { args: fc.constant({}), serial: () => 'ok' } },
    strategies: {
      buggy: {
        description: 'throws a TypeError on T20',
        programs: {
          *bump(tx: Tx<{ counters: { id: number; n: number } }>) {
            yield* tx.update('counters', { id: 1 }, { n: { add: 1 } });
            if (tx.id === 20) throw new TypeError('boom');
            return yield* tx.commit('ok');
          },
        },
        expected: {},
      },
    },
    invariants: [],
    transactions: { min: 1, max: 2 },
    canonical: [{ operation: 'bump', args: {} }],
  });

  it('after a failure (a program that throws): a DefinitionError naming it, no schema, no connection', async () => {
    const error = await stress({ scenario: broken, strategy: 'buggy', transactions: 200, clients: 4, db: db.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toBe('Scenario broken-counter, strategy buggy, operation bump (T20) threw TypeError: boom.');
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });

  it('after an abort mid-run: the promise rejects at once with the reason, no schema, no connection', async () => {
    const controller = new AbortController();
    const running = stress({ scenario: pointsMixed, strategy: 'for-update', workload: 'canonical', durationMs: 60_000, clients: 8, db: db.url, signal: controller.signal });
    for (let i = 0; i < 500 && (await db.connections('lockstep-stress-%')) < 3; i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort(new Error('stop now'));
    await expect(running).rejects.toThrow('stop now');
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });

  it('aborted before it starts: nothing is created', async () => {
    const error = await stress({ scenario: pointsDeduct, strategy: 'naive', db: db.url, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });

  it('bad options are one InputError before anything starts', async () => {
    await expect(stress({ scenario: pointsDeduct, strategy: 'naive', profile: 'nope', db: db.url })).rejects.toThrow(
      new InputError('Unknown profile "nope"; choose one of mixed, sustained, burst, scale, points-scale, logins.'),
    );
    await expect(stress({ scenario: orderStock, strategy: 'naive', profile: 'points-scale', db: db.url })).rejects.toThrow(new InputError('Profile points-scale runs scenario points-deduct, not order-stock.'));
    await expect(stress({ scenario: pointsDeduct, strategy: 'naive', rate: 10, transactions: 5, db: db.url })).rejects.toThrow(
      new InputError('rate needs durationMs: an open model runs for a time, not for a number of transactions.'),
    );
    await expect(stress({ scenario: pointsDeduct, strategy: 'naive', pool: 5000, db: db.url })).rejects.toThrow(/^A pool of 5000 connections is more than the server's max_connections \(\d+\); give a smaller pool\.$/);
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });
});
