import { describe, expect, it } from 'vitest';
import { defineScenario, defineSchema, fc, InputError, type DatabaseOf, type Invariant, type Tx } from '../../src/index.ts';
import { pointsDeduct } from '../../src/model/scenarios/points.ts';
import { expectRace, expectRaceFree, RaceAssertionError, verdictSuite } from '../../src/vitest.ts';

/** What `fn` threw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

const pointsDeductNaive = `points-deduct · naive · read-committed: FAILED after 2 runs (seed 1), shrunk 5 times.

Workload (2 transactions, 1 preemption):
  T1  deduct {"user":1,"amount":300}
  T2  deduct {"user":1,"amount":300}

Interleaving:
  step  T1                                            T2
  1     select accounts where id=1
        → id=1 balance=3000
  2                                                   select accounts where id=1
                                                      → id=1 balance=3000
  3                                                   update accounts set balance=2700 where id=1
                                                      → 1 row
  4                                                   insert history (tx=2, account=1, delta=-300)
                                                      → 1 row
  5                                                   commit
                                                      → committed
  6     update accounts set balance=2700 where id=1
        → 1 row
  7     insert history (tx=1, account=1, delta=-300)
        → 1 row
  8     commit
        → committed

Violated balance-matches-successes: The balance ended at 2700, but 2 successful operations from 3000 should leave 2400: an update was lost.
Anomaly: lost update  T1 -rw-> T2 -ww-> T1

Rerun: explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 })`;

describe('expectRaceFree', () => {
  it('throws the shrunk counterexample and an explore call that reruns it, with no timings', () => {
    const error = thrown(() => expectRaceFree({ scenario: pointsDeduct, strategy: 'naive' }));
    expect(error).toBeInstanceOf(RaceAssertionError);
    expect(error.message).toBe(pointsDeductNaive);
    expect((error as RaceAssertionError).report.counterexample?.preemptions).toBe(1);
  });

  it('the rerun line carries every option given', () => {
    const error = thrown(() => expectRaceFree({ scenario: pointsDeduct, strategy: 'naive', runs: 50, seed: 3, mode: 'random', maxTransactions: 3 }));
    expect(error.message.split('\n').at(-1)).toBe(
      "Rerun: explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 50, seed: 3, mode: 'random', maxTransactions: 3 })",
    );
  });

  it('returns the report when every run passes', () => {
    const report = expectRaceFree({ scenario: pointsDeduct, strategy: 'for-update', isolation: 'serializable', runs: 200 });
    expect(report).toMatchObject({ status: 'passed', isolation: 'serializable', runs: 200, seed: 1 });
  });

  it('bad options are input errors, as from explore', () => {
    expect(() => expectRaceFree({ scenario: pointsDeduct, strategy: 'naiv' })).toThrow(
      new InputError('Unknown strategy "naiv" for points-deduct; choose one of naive, for-update, atomic-update, advisory-lock, serializable-retry.'),
    );
  });
});

describe('expectRace', () => {
  it('throws when every run passes', () => {
    const error = thrown(() => expectRace({ scenario: pointsDeduct, strategy: 'for-update' }));
    expect(error.message).toBe(
      [
        'expected lockstep to find a race in points-deduct · for-update · read-committed, but 1000 runs passed',
        "Rerun: explore({ scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 1000, seed: 1 })",
      ].join('\n'),
    );
  });

  it('throws when the race found breaks another rule, naming each difference, then the counterexample', () => {
    const error = thrown(() => expectRace({ scenario: pointsDeduct, strategy: 'naive' }, { rule: 'balance-never-negative', anomaly: 'lost update', transactions: 3, preemptions: 1 }));
    expect(error.message).toBe(
      [
        'lockstep found a race in points-deduct · naive · read-committed, but not the one expected:',
        "  rule: expected 'balance-never-negative', found 'balance-matches-successes'",
        '  transactions: expected 3, found 2',
        '',
        pointsDeductNaive,
      ].join('\n'),
    );
  });

  it('throws when the anomaly differs, null meaning none', () => {
    const error = thrown(() => expectRace({ scenario: pointsDeduct, strategy: 'naive' }, { anomaly: null }));
    expect(error.message.split('\n').slice(0, 2)).toEqual([
      'lockstep found a race in points-deduct · naive · read-committed, but not the one expected:',
      "  anomaly: expected null, found 'lost update'",
    ]);
  });

  it('returns the report of the race it found', () => {
    const report = expectRace({ scenario: pointsDeduct, strategy: 'naive' }, { rule: 'balance-matches-successes', anomaly: 'lost update', transactions: 2, preemptions: 1 });
    expect(report.counterexample?.final.accounts).toEqual([{ id: 1, balance: 2700 }]);
  });
});

// A scenario defined here, not built in: likes on a post, counted by reading and writing back (naive) or in one UPDATE (atomic).
const schema = defineSchema({ posts: { columns: { id: 'int', likes: 'int' }, primaryKey: ['id'] } });
type LikesDb = DatabaseOf<typeof schema>;

function* likeNaive(tx: Tx<LikesDb>, a: { post: number }) {
  const post = yield* tx.selectOne('posts', { id: a.post });
  if (!post) return yield* tx.rollback('no-post');
  yield* tx.update('posts', { id: a.post }, { likes: post.likes + 1 });
  return yield* tx.commit('ok');
}

function* likeAtomic(tx: Tx<LikesDb>, a: { post: number }) {
  const changed = yield* tx.update('posts', { id: a.post }, { likes: { add: 1 } });
  if (changed.length === 0) return yield* tx.rollback('no-post');
  return yield* tx.commit('ok');
}

const everyLikeCounted: Invariant<LikesDb> = {
  name: 'every-like-counted',
  check: ({ final, outcomes }) => {
    const likes = final.posts[0].likes;
    const ok = outcomes.filter((o) => o.result === 'ok').length;
    return likes === ok ? null : `The post has ${likes} likes, but ${ok} likes succeeded.`;
  },
};

const postLikes = defineScenario({
  id: 'post-likes',
  title: 'one post; concurrent likes',
  schema,
  seed: { posts: [{ id: 1, likes: 0 }] },
  isolationLevels: ['read-committed', 'repeatable-read'],
  operations: {
    like: {
      args: fc.constant({ post: 1 }),
      serial(state, a) {
        state.posts.find((p) => p.id === a.post)!.likes++;
        return 'ok';
      },
    },
  },
  strategies: {
    naive: { description: 'read the count, write it back plus one', programs: { like: likeNaive }, expected: { 'read-committed': 'fails', 'repeatable-read': 'passes' } },
    atomic: { description: 'UPDATE ... SET likes = likes + 1', programs: { like: likeAtomic }, expected: { 'read-committed': 'passes', 'repeatable-read': 'passes' } },
  },
  invariants: [everyLikeCounted],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'like', args: { post: 1 } },
    { operation: 'like', args: { post: 1 } },
  ],
});

verdictSuite(postLikes, { runs: 300 });

describe('verdictSuite', () => {
  it('declares one test per strategy and isolation level the scenario declares, named by verdict', ({ task }) => {
    const suite = task.file.tasks.find((t) => t.name === 'post-likes');
    expect(suite?.type === 'suite' && suite.tasks.map((t) => t.name)).toEqual([
      'naive · read-committed fails',
      'naive · repeatable-read passes',
      'atomic · read-committed passes',
      'atomic · repeatable-read passes',
    ]);
  });

  it('a scenario defined by the user gets its anomaly class like a built-in one: the naive like is a lost update', () => {
    const report = expectRace({ scenario: postLikes, strategy: 'naive', runs: 300 }, { rule: 'every-like-counted', anomaly: 'lost update', transactions: 2, preemptions: 1 });
    expect(report.counterexample?.anomaly).toEqual({ class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' });
  });

  it('a scenario declaring no verdict under the levels asked for is an input error, not an empty suite', () => {
    expect(() => verdictSuite(postLikes, { isolation: ['serializable'] })).toThrow(
      new InputError("Scenario post-likes declares no expected verdict under serializable: give its strategies an `expected` such as { 'read-committed': 'fails' }."),
    );
  });
});
