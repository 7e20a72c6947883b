import { describe, expect, it } from 'vitest';
import { loginIssue, rateLimit, refreshRotation, signupUnique } from '../src/model/scenarios/tokens.ts';
import { passing, randomRuns, resultCounts, runInOrder } from './runs.ts';

describe('refresh-rotation', () => {
  it('5 concurrent refreshes with one token: exactly 1 succeeds and issues exactly 1 new token; the old one is blacklisted', () => {
    for (const [strategy, isolation] of passing(refreshRotation)) {
      for (const run of randomRuns(refreshRotation, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        const counts = resultCounts(run);
        expect(counts.ok).toBe(1);
        // The others are refused: "invalid" from the application, or under repeatable read and serializable 40001 from PostgreSQL.
        expect((counts.invalid ?? 0) + (counts['40001'] ?? 0)).toBe(4);
        if (isolation === 'read-committed') expect(counts.invalid).toBe(4);
        expect(run.trace.final.tokens.filter((t: any) => t.parent === 1)).toHaveLength(1);
        expect(run.trace.final.tokens.find((t: any) => t.id === 1)).toMatchObject({ revoked: true });
      }
    }
  });
});

describe('login-issue', () => {
  it('10 concurrent logins of one user all succeed, each with its own token id and outstanding-token row', () => {
    for (const [strategy, isolation] of passing(loginIssue)) {
      for (const run of randomRuns(loginIssue, strategy, isolation, 100)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 10 });
        expect(run.trace.final.outstanding.map((t: any) => t.jti).sort()).toEqual(Array.from({ length: 10 }, (_, i) => 1001 + i));
        expect(run.trace.final.users[0]).toEqual({ id: 1, sessions: 10 });
      }
    }
  });

  it('100 concurrent logins of 100 users all succeed with 100 unique token ids', () => {
    const workload = Array.from({ length: 100 }, (_, i) => ({ operation: 'login', args: { user: i + 1 } }));
    for (const [strategy, isolation] of passing(loginIssue)) {
      for (const run of randomRuns(loginIssue, strategy, isolation, 5, workload)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 100 });
        expect(new Set(run.trace.final.outstanding.map((t: any) => t.jti)).size).toBe(100);
      }
    }
  });
});

describe('signup-unique', () => {
  it('5 concurrent signups with one email: exactly 1 account; the other 4 get "duplicate"', () => {
    for (const [strategy, isolation] of passing(signupUnique)) {
      for (const run of randomRuns(signupUnique, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 1, duplicate: 4 });
        expect(run.trace.final.accounts).toHaveLength(1);
      }
    }
  });

  it('get-or-create: the loser\'s insert waits inside its savepoint, gets 23505, rolls back to the savepoint and finds the winner under read committed; not under repeatable read, whose snapshot predates it', () => {
    const workload = [
      { operation: 'signup', args: { email: 'a@example.com' } },
      { operation: 'signup', args: { email: 'a@example.com' } },
    ];
    // Both look; T1 inserts inside its savepoint; T2's insert waits; T1 releases and commits; T2 rolls back to its savepoint and looks again.
    const order = [1, 2, 1, 1, 2, 2, 1, 1, 2, 2, 2];
    const readCommitted = runInOrder(signupUnique, 'get-or-create', 'read-committed', workload, order);
    expect(readCommitted.trace.steps[5].events).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(readCommitted.trace.steps[7].events).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { error: { code: '23505', message: 'duplicate key value violates unique constraint "accounts_email_key"' } } },
    ]);
    expect(readCommitted.trace.steps[9].events).toEqual([{ tx: 2, kind: 'completed', result: { rows: [{ id: 1, email: 'a@example.com' }] } }]);
    expect(readCommitted.violation).toBeNull();
    expect(resultCounts(readCommitted)).toEqual({ ok: 1, duplicate: 1 });
    const repeatableRead = runInOrder(signupUnique, 'get-or-create', 'repeatable-read', workload, order);
    expect(resultCounts(repeatableRead)).toEqual({ ok: 1, 'not-found-after-23505': 1 });
    expect(repeatableRead.violation).toMatchObject({ invariant: 'one-account-per-email' });
  });
});

describe('rate-limit', () => {
  it('100 concurrent attempts against a limit of 10: exactly 10 allowed, 90 rejected, the counter at 10', () => {
    for (const [strategy, isolation] of passing(rateLimit)) {
      for (const run of randomRuns(rateLimit, strategy, isolation, 20)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ allowed: 10, rejected: 90 });
        expect(run.trace.final.counters.find((c: any) => c.key === 1)).toEqual({ key: 1, count: 10, max: 10 });
      }
    }
  });
});
