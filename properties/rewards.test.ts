import { describe, expect, it } from 'vitest';
import { rewardGrantQuery, rewardRedeem, welcomeGift } from '../src/model/scenarios/rewards.ts';
import { passing, randomRuns, resultCounts, runInOrder } from './runs.ts';

describe('welcome-gift', () => {
  it('5 concurrent claims: exactly 1 succeeds, exactly 1000 points and 3 items are granted, the other 4 get "already claimed"', () => {
    for (const [strategy, isolation] of passing(welcomeGift)) {
      for (const run of randomRuns(welcomeGift, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 1, 'already-claimed': 4 });
        expect(run.trace.final.accounts).toEqual([{ id: 1, balance: 1000 }]);
        expect(run.trace.final.items).toHaveLength(3);
        expect(run.trace.final.claims).toHaveLength(1);
      }
    }
  });

  it('naive: the loser of the race meets the claim\'s primary key and gets 23505, not "already claimed"', () => {
    const workload = [
      { operation: 'claim', args: { user: 1 } },
      { operation: 'claim', args: { user: 1 } },
    ];
    // T1 finds no claim; T2 claims and commits; T1 grants and inserts its claim.
    const { trace, violation } = runInOrder(welcomeGift, 'naive', 'read-committed', workload, [1, 2, 2, 2, 2, 2, 1, 1, 1]);
    expect(trace.preemptions).toBe(1);
    expect(resultCounts({ trace, violation })).toEqual({ ok: 1, '23505': 1 });
    expect(violation).toMatchObject({ invariant: 'gift-granted-once' });
  });

  it('advisory-lock: under read committed the waiter for the user\'s lock sees the claim; under repeatable read its snapshot, taken by the lock statement before the wait, misses it and its grant fails with 40001', () => {
    const workload = [
      { operation: 'claim', args: { user: 1 } },
      { operation: 'claim', args: { user: 1 } },
    ];
    // T1 takes the lock; T2 waits for it; T1 looks, grants, claims and commits (T2 gets the lock); T2 looks for a claim and goes on.
    const readCommitted = runInOrder(welcomeGift, 'advisory-lock', 'read-committed', workload, [1, 2, 1, 1, 1, 1, 1, 2, 2]);
    expect(readCommitted.trace.steps[1].events).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(readCommitted.violation).toBeNull();
    expect(resultCounts(readCommitted)).toEqual({ ok: 1, 'already-claimed': 1 });
    const repeatableRead = runInOrder(welcomeGift, 'advisory-lock', 'repeatable-read', workload, [1, 2, 1, 1, 1, 1, 1, 2, 2]);
    expect(resultCounts(repeatableRead)).toEqual({ ok: 1, '40001': 1 });
    expect(repeatableRead.violation).toMatchObject({ invariant: 'gift-granted-once' });
    // advisory-lock-retry: the second attempt takes a new snapshot and sees the claim.
    const retried = runInOrder(welcomeGift, 'advisory-lock-retry', 'repeatable-read', workload, [1, 2, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(retried.violation).toBeNull();
    expect(resultCounts(retried)).toEqual({ ok: 1, 'already-claimed': 1 });
  });
});

describe('reward-redeem', () => {
  it('the user owns 5: 5 concurrent redemptions all succeed and the quantity ends at 0', () => {
    for (const [strategy, isolation] of passing(rewardRedeem)) {
      for (const run of randomRuns(rewardRedeem, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 5 });
        expect(run.trace.final.inventory).toEqual([{ user: 1, item: 1, quantity: 0 }]);
        expect(run.trace.final.redemptions).toHaveLength(5);
      }
    }
  });

  it('a 6th redemption fails, and the quantity never goes negative', () => {
    const six = Array.from({ length: 6 }, () => ({ operation: 'redeem', args: { user: 1, item: 1 } }));
    for (const [strategy, isolation] of passing(rewardRedeem)) {
      for (const run of randomRuns(rewardRedeem, strategy, isolation, 200, six)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 5, 'none-left': 1 });
        expect(run.trace.final.inventory[0].quantity).toBe(0);
      }
    }
  });
});

describe('reward-grant-query', () => {
  const workload = [
    { operation: 'grant', args: { user: 1 } },
    { operation: 'list', args: { user: 1 } },
  ];

  it('autocommit: a list between the grant\'s two commits shows the reward without its items (2 transactions, 1 preemption)', () => {
    // T1 inserts the reward and commits; T2 lists (reward 1, 0 items); T1 inserts the items and commits.
    for (const isolation of rewardGrantQuery.isolationLevels) {
      const { trace, violation } = runInOrder(rewardGrantQuery, 'autocommit', isolation, workload, [1, 1, 2, 2, 2, 1, 1]);
      expect(trace.preemptions).toBe(1);
      expect(trace.outcomes[1].result).toEqual([{ reward: 1, items: 0 }]);
      expect(violation).toMatchObject({ invariant: 'no-half-done-grant' });
    }
  });

  it('one-transaction: 3 grants while 3 lists run; every list shows whole grants only', () => {
    for (const [strategy, isolation] of passing(rewardGrantQuery)) {
      for (const run of randomRuns(rewardGrantQuery, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        for (const o of run.trace.outcomes) if (o.operation === 'list') for (const r of o.result as any[]) expect(r.items).toBe(3);
        expect(run.trace.final.rewards).toHaveLength(3);
        expect(run.trace.final.reward_items).toHaveLength(9);
      }
    }
  });
});
