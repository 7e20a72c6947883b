import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, TxId } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { createPostgresBackend, type PostgresBackend } from '../../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { replay } from '../../src/explorer/replay.ts';
import { runOnEngine, runWorkload, type RunPlan } from '../../src/explorer/runner.ts';
import { stepOrder } from '../../src/explorer/schedule.ts';
import { orderLines } from '../../src/model/scenarios/index.ts';

/**
 * A deadlock closed by waits that all begin in one step. Three orders of
 * order-lines' naive strategy insert their line (each holds product 1 FOR
 * KEY SHARE through the foreign key); T2 and then T1 lock the product FOR
 * UPDATE and wait; T3's FOR UPDATE closes a cycle and is the victim (its
 * statement runs with the 1 ms deadlock timeout). Its abort wakes T2 and T1,
 * and each waits again for the other's KEY SHARE: a second cycle, whose
 * members' deadlock timers both start in step 6. PostgreSQL aborts the one
 * whose timer fires first, which timing decides; the model takes the first
 * to wait again (T2) unless a resolver says otherwise, and logs the race.
 *
 * Replay tells the backend which statement the model makes that victim
 * (`StepForecast.laterDeadlockVictim`), so it runs with a 200 ms timeout:
 * PostgreSQL then aborts the model's choice, at once rather than after the
 * 3 s deadlock timeout of the other sessions.
 */
const plan: RunPlan = {
  scenario: orderLines,
  strategy: orderLines.strategies.naive,
  isolation: 'repeatable-read',
  workload: [
    { operation: 'order', args: { qty: 4 } },
    { operation: 'order', args: { qty: 2 } },
    { operation: 'order', args: { qty: 3 } },
  ],
};
const deadlocked = { code: '40P01', message: 'deadlock detected' };
/** T2's and T1's FOR UPDATE wait (steps 4, 5); T3's closes the first cycle (step 6). */
const prefix: TxId[] = [3, 1, 2, 2, 1, 3];
/** The rest: the survivor takes the stock and commits. */
const survivor = (tx: TxId): TxId[] => [...prefix, tx, tx];

const modelRun = (victim: TxId) => {
  const engine = new MemoryEngine(orderLines.schema, (_, candidates) => (candidates.includes(victim) ? victim : undefined));
  const trace = runOnEngine(engine, plan, stepOrder(survivor(victim === 2 ? 1 : 2)));
  return { trace, races: engine.races };
};

describe('model: the second cycle is a race between the two woken orders', () => {
  it('by default T2, the first to wait again, is the victim; the race is logged as a deadlock race of step 6', () => {
    const { trace, races } = modelRun(2);
    expect(trace.steps[5].events).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [{ id: 1, stock: 10 }] } },
      { tx: 2, kind: 'completed', result: { error: deadlocked } },
      { tx: 3, kind: 'completed', result: { error: deadlocked } },
    ]);
    expect(races).toEqual([{ ordinal: 0, candidates: [2, 1], chosen: 2, deadlock: { step: 6 } }]);
    expect(trace.outcomes.map((o) => o.fate)).toEqual(['committed', 'aborted', 'aborted']);
  });

  it('a resolver may make T1 the victim instead', () => {
    const { trace, races } = modelRun(1);
    expect(trace.steps[5].events).toEqual([
      { tx: 1, kind: 'completed', result: { error: deadlocked } },
      { tx: 2, kind: 'completed', result: { rows: [{ id: 1, stock: 10 }] } },
      { tx: 3, kind: 'completed', result: { error: deadlocked } },
    ]);
    expect(races).toEqual([{ ordinal: 0, candidates: [2, 1], chosen: 1, deadlock: { step: 6 } }]);
    expect(trace.outcomes.map((o) => o.fate)).toEqual(['aborted', 'committed', 'aborted']);
  });
});

/** The same after two other orders deadlock first: T5, the victim, is abandoned (a ROLLBACK that is no step of the trace). */
const afterAbandon: RunPlan = { ...plan, isolation: 'read-committed', workload: [1, 1, 1, 1, 1].map((qty) => ({ operation: 'order', args: { qty } })) };
const afterAbandonSchedule: TxId[] = [4, 5, 4, 5, 4, 4, 3, 1, 2, 2, 1, 3, 1, 1];

describe('model: a deadlock race after an abandon', () => {
  it('names the step it was decided in by the trace’s count, which leaves abandons out', () => {
    const engine = new MemoryEngine(orderLines.schema);
    const trace = runOnEngine(engine, afterAbandon, stepOrder(afterAbandonSchedule));
    expect(trace.steps[3].events).toContainEqual({ tx: 5, kind: 'completed', result: { error: deadlocked } });
    expect(trace.steps[11].events.filter((e) => e.kind === 'completed' && e.result.error !== undefined).map((e) => e.tx)).toEqual([2, 3]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 1], chosen: 2, deadlock: { step: 12 } }]);
    expect(trace.outcomes.map((o) => o.fate)).toEqual(['committed', 'aborted', 'aborted', 'committed', 'aborted']);
  });
});

describe('PostgreSQL: the victim the model names', () => {
  let server: Provisioned;
  let postgres: PostgresBackend;
  beforeAll(async () => {
    server = await provisionPostgres();
    postgres = await createPostgresBackend(server.url, orderLines.schema, { applicationName: 'lockstep-test' });
  });
  afterAll(async () => {
    await postgres?.close();
    await server?.stop();
  });

  it('replay forecasts T2 as the victim: confirmed on the first attempt, no race followed', async () => {
    for (let i = 0; i < 3; i++) {
      const report = await replay(postgres, plan, survivor(1));
      expect({ status: report.status, attempts: report.attempts, racesFollowed: report.racesFollowed }).toEqual({ status: 'confirmed', attempts: 1, racesFollowed: [] });
      expect(report.transactions.map((t) => t.postgres)).toEqual(['committed', 'aborted', 'aborted']);
    }
  });

  it('after an abandon too: confirmed on the first attempt', async () => {
    const report = await replay(postgres, afterAbandon, afterAbandonSchedule);
    expect({ status: report.status, attempts: report.attempts, racesFollowed: report.racesFollowed }).toEqual({ status: 'confirmed', attempts: 1, racesFollowed: [] });
    expect(report.transactions.map((t) => t.postgres)).toEqual(['committed', 'aborted', 'aborted', 'committed', 'aborted']);
  });

  it('with T1’s FOR UPDATE (step 5) forecast as the victim, PostgreSQL aborts T1, every time', async () => {
    const { trace } = modelRun(1);
    for (let i = 0; i < 3; i++) {
      await postgres.reset({ products: [{ id: 1, stock: 10 }], order_lines: [] }, plan.isolation);
      const steps: Event[][] = [];
      const run = runWorkload(plan, stepOrder(survivor(2)));
      let r = run.next();
      while (!r.done) {
        const call = r.value;
        const k = steps.length;
        const events = call.kind === 'abandon' ? await postgres.abandon(call.tx) : await postgres.step(call.tx, call.statement, trace.steps[k].events, k === 4 ? { laterDeadlockVictim: true } : undefined);
        if (call.kind === 'step') steps.push(events);
        r = run.next(events);
      }
      expect(steps).toEqual(trace.steps.map((s) => s.events));
      expect(r.value.outcomes.map((o) => o.fate)).toEqual(['aborted', 'committed', 'aborted']);
      expect(await postgres.tables()).toEqual(trace.final);
    }
  });
});
