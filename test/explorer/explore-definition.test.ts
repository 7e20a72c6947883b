import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../src/errors.ts';
import { explore } from '../../src/explorer/explore.ts';
import type { SearchMode } from '../../src/explorer/search-mode.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Invariant } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';

/**
 * A safe strategy whose program misspells a column used to be reported as
 * failing (the model read no rows for the misspelt condition, so the program
 * answered wrongly); now exploring it throws the DefinitionError naming the
 * statement, at once, in every search mode. The bad statement runs only when
 * two claims of one user race (the second insert does nothing), so it is
 * found by exploration itself, not by a check that runs each operation alone
 * before exploring.
 */
const schema = defineSchema({ gifts: { columns: { id: 'int', user: 'int' }, primaryKey: ['id'], unique: [['user']] } });
type Db = DatabaseOf<typeof schema>;

/** How many times a program reached its bad statement: once, since exploration stops there (fast-check neither shrinks nor runs on). */
let badStatements = 0;

function* claimMisspelt(tx: Tx<Db>, a: { user: number }) {
  const rows = yield* tx.insert('gifts', { id: tx.id, user: a.user }, { onConflict: 'nothing' });
  if (rows.length === 1) return yield* tx.commit('ok');
  badStatements++;
  // @ts-expect-error: the column is user
  const gift = yield* tx.selectOne('gifts', { usr: a.user });
  return yield* tx.commit(gift ? 'already' : 'lost');
}

function* claimThrows(tx: Tx<Db>, a: { user: number }) {
  const rows = yield* tx.insert('gifts', { id: tx.id, user: a.user }, { onConflict: 'nothing' });
  // A bug in the program: rows[0] is undefined when the user already had a gift.
  if (rows.length === 0) badStatements++;
  const gift = rows[0].id;
  return yield* tx.commit(gift > 0 ? 'ok' : 'already');
}

const oneGiftPerUser: Invariant<Db> = {
  name: 'one-gift-per-user',
  check: ({ final }) => (new Set(final.gifts.map((g) => g.user)).size === final.gifts.length ? null : 'A user got two gifts.'),
};

const giftOnce = defineScenario({
  id: 'gift-once',
  title: 'one welcome gift per user',
  schema,
  seed: { gifts: [] },
  isolationLevels: ['read-committed'],
  operations: {
    claim: {
      args: fc.record({ user: fc.integer({ min: 1, max: 2 }) }),
      serial: (state, a: { user: number }, { id }) => {
        if (state.gifts.some((g) => g.user === a.user)) return 'already';
        state.gifts.push({ id, user: a.user });
        return 'ok';
      },
    },
  },
  strategies: {
    unique: { description: 'insert on conflict do nothing, misspelt', programs: { claim: claimMisspelt }, expected: { 'read-committed': 'passes' } },
    throws: { description: 'reads the inserted row without looking', programs: { claim: claimThrows }, expected: { 'read-committed': 'passes' } },
  },
  invariants: [oneGiftPerUser],
  transactions: { min: 2, max: 4 },
  canonical: [
    { operation: 'claim', args: { user: 1 } },
    { operation: 'claim', args: { user: 1 } },
  ],
});

/** What `explore` throws, and how long it took. */
function thrownBy(strategy: string, mode: SearchMode): { error: unknown; ms: number } {
  badStatements = 0;
  const started = performance.now();
  try {
    explore({ scenario: giftOnce, strategy, isolation: 'read-committed', runs: 100_000, seed: 1, mode });
  } catch (error) {
    expect(badStatements).toBe(1);
    return { error, ms: performance.now() - started };
  }
  throw new Error('explore returned a report');
}

describe('explore on a program that is not well defined', () => {
  const modes: SearchMode[] = ['random', 'default', 'pct', 'exhaustive'];

  it.each(modes)('a misspelt column throws the DefinitionError at once (%s)', (mode) => {
    const { error, ms } = thrownBy('unique', mode);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(
      /^Scenario gift-once, strategy unique, operation claim \(T\d\): select gifts where usr=\d names unknown column "usr" in its where clause; the columns of gifts are id, user\.$/,
    );
    expect(ms).toBeLessThan(3_000);
  });

  it('the sentence of the first failing schedule (exhaustive mode)', () => {
    const workload = [
      { operation: 'claim', args: { user: 1 } },
      { operation: 'claim', args: { user: 1 } },
    ];
    expect(() => explore({ scenario: giftOnce, strategy: 'unique', isolation: 'read-committed', runs: 1, seed: 1, mode: 'exhaustive', workload })).toThrow(
      new DefinitionError('Scenario gift-once, strategy unique, operation claim (T2): select gifts where usr=1 names unknown column "usr" in its where clause; the columns of gifts are id, user.'),
    );
  });

  it.each(modes)('a program that throws a TypeError throws a DefinitionError with it as the cause, at once (%s)', (mode) => {
    const { error, ms } = thrownBy('throws', mode);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(/^Scenario gift-once, strategy throws, operation claim \(T\d\) threw TypeError: Cannot read properties of undefined \(reading 'id'\)\.$/);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(ms).toBeLessThan(3_000);
  });
});
