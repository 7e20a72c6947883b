import { describe, expect, it } from 'vitest';
import { pointsExpiryVsUse, pointsFifo, pointsHotLot } from '../src/model/scenarios/points-lots.ts';
import { pointsReadDuringUpdate } from '../src/model/scenarios/points-reads.ts';
import { passing, randomRuns, resultCounts, runInOrder } from './runs.ts';

const lots = (tables: any) => Object.fromEntries(tables.lots.map((l: any) => [l.id, l.remaining]));

describe('points-read-during-update', () => {
  const workload = [
    { operation: 'read', args: { user: 1 } },
    { operation: 'deduct', args: { user: 1, amount: 300 } },
  ];

  it('naive: a deduction committing between the read of the account and of the history is the smallest counterexample (2 transactions, 1 preemption)', () => {
    // T1 reads the account (3000); T2 deducts 300 and commits; T1 reads the history (300 spent).
    const { trace, violation } = runInOrder(pointsReadDuringUpdate, 'naive', 'read-committed', workload, [1, 2, 2, 2, 1, 1]);
    expect(trace.preemptions).toBe(1);
    expect(trace.outcomes[0].result).toEqual({ balance: 3000, spent: 300 });
    expect(violation).toMatchObject({ kind: 'invariant', invariant: 'read-sees-one-state' });
  });

  it('every read shows one committed state while 5 deductions of 300 run, under the strategies that pass', () => {
    for (const [strategy, isolation] of passing(pointsReadDuringUpdate)) {
      for (const run of randomRuns(pointsReadDuringUpdate, strategy, isolation, 100)) {
        expect(run.violation).toBeNull();
        for (const o of run.trace.outcomes) {
          if (o.operation === 'read' && o.fate !== 'aborted') {
            const { balance, spent } = o.result as any;
            expect(balance + spent).toBe(3000);
          }
        }
      }
    }
  });
});

describe('points-expiry-vs-use', () => {
  it('naive: the spend writes lot 1 after the job expired it (2 transactions, 1 preemption)', () => {
    const workload = [
      { operation: 'spend', args: { amount: 100 } },
      { operation: 'expire', args: { today: 1 } },
    ];
    // T1 reads the live lots; the job expires lot 1 and commits; T1 writes lot 1 = 400 and its ledger row.
    const { trace, violation } = runInOrder(pointsExpiryVsUse, 'naive', 'read-committed', workload, [1, 2, 2, 2, 2, 1, 1, 1]);
    expect(trace.preemptions).toBe(1);
    expect(trace.final.lots[0]).toMatchObject({ id: 1, expired: true, remaining: 400 });
    expect(violation).toMatchObject({ kind: 'invariant' });
  });

  it('for-update: the job and two spends of 300 never spend an expired lot nor expire a spent one; the balance is the live lots', () => {
    for (const [strategy, isolation] of passing(pointsExpiryVsUse)) {
      for (const run of randomRuns(pointsExpiryVsUse, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        const [job, ...spends] = run.trace.outcomes;
        const lot1 = run.trace.final.lots[0] as any;
        if (job.fate === 'committed') expect(lot1).toMatchObject({ expired: true, remaining: 0 });
        const spent = spends.filter((o) => o.result === 'ok').length * 300;
        const expired = job.fate === 'committed' ? (job.result as number) : 0;
        const live = run.trace.final.lots.filter((l: any) => !l.expired).reduce((s: number, l: any) => s + l.remaining, 0);
        expect(live).toBe(1500 - spent - expired);
      }
    }
  });
});

describe('points-fifo', () => {
  it('for-update: 5 spends of 200 from lots of 300 (day 10), 300 (day 20), 1000 (day 30) all succeed and consume the oldest first', () => {
    for (const [strategy, isolation] of passing(pointsFifo)) {
      for (const run of randomRuns(pointsFifo, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        if (isolation === 'read-committed') {
          expect(resultCounts(run)).toEqual({ ok: 5 });
          expect(lots(run.trace.final)).toEqual({ 1: 0, 2: 0, 3: 600 });
        }
        // History order matches: the lots each spend took form ranges that never interleave (one spend's lots all precede the other's, sharing at most a boundary lot).
        const ranges = run.trace.outcomes
          .filter((o) => o.result === 'ok')
          .map((o) => run.trace.final.ledger.filter((r: any) => r.tx === o.id).map((r: any) => r.lot as number))
          .map((ls) => [Math.min(...ls), Math.max(...ls)]);
        for (const [a0, a1] of ranges) for (const [b0, b1] of ranges) expect(a1 <= b0 || b1 <= a0 || (a0 === b0 && a1 === b1)).toBe(true);
      }
    }
  });
});

describe('points-hot-lot', () => {
  it('10 spends of 100 against a hot lot of 300: the first 3 take it, the other 7 fall through to the next lot; totals add up', () => {
    for (const [strategy, isolation] of passing(pointsHotLot)) {
      for (const run of randomRuns(pointsHotLot, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 10 });
        expect(lots(run.trace.final)).toEqual({ 1: 0, 2: 9300 });
        expect(run.trace.final.ledger.filter((r: any) => r.lot === 1)).toHaveLength(3);
        expect(run.trace.final.ledger.filter((r: any) => r.lot === 2)).toHaveLength(7);
      }
    }
  });
});
