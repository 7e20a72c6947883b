import { describe, expectTypeOf, test } from 'vitest';
import type { Tx, TxGenerator } from '../../src/model/program.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { AdvisoryLockStatement, Statement } from '../../src/model/statement.ts';

/**
 * Advisory locks in the types: `tx.advisoryLock(key)` yields nothing,
 * `tx.tryAdvisoryLock(key)` a boolean, the key is a number. Each
 * `@ts-expect-error` fails this file if the line below it compiles.
 */
const points = defineSchema({ accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] } });
type PointsDb = DatabaseOf<typeof points>;

describe('advisory locks', () => {
  test('advisoryLock yields nothing, tryAdvisoryLock a boolean; the statement is a Statement', () => {
    expectTypeOf<Tx<PointsDb>['advisoryLock']>().returns.toEqualTypeOf<TxGenerator<void>>();
    expectTypeOf<Tx<PointsDb>['tryAdvisoryLock']>().returns.toEqualTypeOf<TxGenerator<boolean>>();
    expectTypeOf<AdvisoryLockStatement>().toMatchTypeOf<Statement>();
    function* program(tx: Tx<PointsDb>) {
      const locked = yield* tx.tryAdvisoryLock(2 ** 40);
      expectTypeOf(locked).toEqualTypeOf<boolean>();
      // @ts-expect-error: the key is a number
      yield* tx.advisoryLock('user-1');
      return yield* tx.commit(locked);
    }
    expectTypeOf(program).toBeFunction();
  });

  test('docs/api.md: a deduction under the user\'s advisory lock', () => {
    function* deductLocked(tx: Tx<PointsDb>, a: { user: number; amount: number }) {
      yield* tx.advisoryLock(a.user); // one deduction per user at a time (safe under read committed)
      const acct = yield* tx.selectOne('accounts', { id: a.user });
      if (!acct || acct.balance < a.amount) return yield* tx.rollback('insufficient');
      yield* tx.update('accounts', { id: a.user }, { balance: acct.balance - a.amount });
      return yield* tx.commit('ok');
    }
    expectTypeOf(deductLocked).toBeFunction();
  });
});
