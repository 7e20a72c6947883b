import { describe, expectTypeOf, test } from 'vitest';
import { isSqlState, type Tx, type TxGenerator } from '../../src/model/program.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import { SqlState, type ReleaseStatement, type RollbackToStatement, type SavepointStatement, type Statement } from '../../src/model/statement.ts';

/**
 * Savepoints in the types: `tx.savepoint`, `tx.rollbackTo` and `tx.release`
 * take a name and yield nothing. Each `@ts-expect-error` fails this file if
 * the line below it compiles.
 */
const shop = defineSchema({ customers: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] } });
type Db = DatabaseOf<typeof shop>;

describe('savepoints', () => {
  test('savepoint, rollbackTo and release take a name and yield nothing; their statements are Statements', () => {
    expectTypeOf<Tx<Db>['savepoint']>().returns.toEqualTypeOf<TxGenerator<void>>();
    expectTypeOf<Tx<Db>['rollbackTo']>().returns.toEqualTypeOf<TxGenerator<void>>();
    expectTypeOf<Tx<Db>['release']>().returns.toEqualTypeOf<TxGenerator<void>>();
    expectTypeOf<SavepointStatement | RollbackToStatement | ReleaseStatement>().toMatchTypeOf<Statement>();
    function* program(tx: Tx<Db>) {
      yield* tx.savepoint('a');
      // @ts-expect-error: a savepoint's name is a string
      yield* tx.rollbackTo(1);
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('docs/api.md: get-or-create inside a savepoint', () => {
    function* signUp(tx: Tx<Db>, a: { id: number; email: string }) {
      // get-or-create, as ORMs write it: the insert inside a savepoint, 23505 rolled back to it.
      if (yield* tx.selectOne('customers', { email: a.email })) return yield* tx.rollback('duplicate');
      yield* tx.savepoint('create');
      try {
        yield* tx.insert('customers', { id: a.id, email: a.email });
      } catch (e) {
        if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
        yield* tx.rollbackTo('create');
        return yield* tx.rollback('duplicate');
      }
      return yield* tx.commit('created');
    }
    expectTypeOf(signUp).toBeFunction();
  });
});
