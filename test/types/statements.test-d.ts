import { describe, expectTypeOf, test } from 'vitest';
import * as fc from 'fast-check';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

/**
 * The headline claim of `defineScenario`: statements, seed rows and values
 * are typed against the schema, so a misspelt table or column, or a value of
 * the wrong type, does not compile. Each `@ts-expect-error` fails this file
 * if the line below it compiles.
 */
const schema = defineSchema({
  gifts: { columns: { id: 'int', user: 'int', note: 'text', sent: 'bool' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;
type Gift = { id: number; user: number; note: string; sent: boolean };

describe('the schema gives the row types', () => {
  test('each column type maps to its TypeScript type', () => {
    expectTypeOf<Db>().toEqualTypeOf<{ readonly gifts: Gift }>();
  });

  test('helpers take only the schema tables and return their rows', () => {
    expectTypeOf<Parameters<Tx<Db>['select']>[0]>().toEqualTypeOf<'gifts'>();
    function* program(tx: Tx<Db>) {
      const rows = yield* tx.select('gifts', { user: 1 });
      expectTypeOf(rows).toEqualTypeOf<Gift[]>();
      const one = yield* tx.selectOne('gifts', { id: 1 });
      expectTypeOf(one).toEqualTypeOf<Gift | undefined>();
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).returns.toExtend<Generator<Statement, 'ok'>>();
  });
});

describe('a misspelt table does not compile', () => {
  test('in select, update, insert and delete', () => {
    function* program(tx: Tx<Db>) {
      // @ts-expect-error: no table gift
      yield* tx.select('gift', {});
      // @ts-expect-error: no table gift
      yield* tx.selectOne('gift', {});
      // @ts-expect-error: no table gift
      yield* tx.update('gift', { id: 1 }, { sent: true });
      // @ts-expect-error: no table gift
      yield* tx.insert('gift', { id: 1, user: 1, note: 'hi', sent: false });
      // @ts-expect-error: no table gift
      yield* tx.delete('gift', { id: 1 });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('in a statement written as a value', () => {
    // @ts-expect-error: no table gift
    const s: Statement<Db> = { kind: 'select', table: 'gift', where: {} };
    expectTypeOf(s).toEqualTypeOf<Statement<Db>>();
  });
});

describe('a misspelt column does not compile', () => {
  test('in where, set, an insert row and order by', () => {
    function* program(tx: Tx<Db>) {
      // @ts-expect-error: no column usr
      yield* tx.select('gifts', { usr: 1 });
      // @ts-expect-error: no column usr
      yield* tx.update('gifts', { usr: 1 }, { sent: true });
      // @ts-expect-error: no column snt
      yield* tx.update('gifts', { id: 1 }, { snt: true });
      // @ts-expect-error: no column usr
      yield* tx.insert('gifts', { id: 1, usr: 1, note: 'hi', sent: false });
      // @ts-expect-error: no column usr
      yield* tx.delete('gifts', { usr: 1 });
      // @ts-expect-error: no column usr
      yield* tx.select('gifts', {}, { orderBy: [['usr', 'asc']] });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('an insert row without a column', () => {
    function* program(tx: Tx<Db>) {
      // @ts-expect-error: sent is missing
      yield* tx.insert('gifts', { id: 1, user: 1, note: 'hi' });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });
});

describe('a value of the wrong type does not compile', () => {
  test('in where, a comparison, set, an increment and an insert row', () => {
    function* program(tx: Tx<Db>) {
      // @ts-expect-error: user is an int
      yield* tx.select('gifts', { user: '1' });
      // @ts-expect-error: id is an int
      yield* tx.select('gifts', { id: { gte: '1' } });
      // @ts-expect-error: sent is a bool
      yield* tx.update('gifts', { id: 1 }, { sent: 'yes' });
      // @ts-expect-error: note is a text, which takes no increment
      yield* tx.update('gifts', { id: 1 }, { note: { add: 1 } });
      // @ts-expect-error: user is an int
      yield* tx.insert('gifts', { id: 1, user: '1', note: 'hi', sent: false });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });

  test('two bounds on one column are a range; two bounds on one side, or ne or in with another, do not compile', () => {
    function* program(tx: Tx<Db>) {
      yield* tx.select('gifts', { id: { gte: 1, lt: 5 } });
      yield* tx.select('gifts', { id: { gt: 1, lte: 5 }, user: { in: [1, 2] } });
      // @ts-expect-error: two lower bounds
      yield* tx.select('gifts', { id: { gte: 1, gt: 5 } });
      // @ts-expect-error: two upper bounds
      yield* tx.select('gifts', { id: { lt: 1, lte: 5 } });
      // @ts-expect-error: ne with a bound
      yield* tx.select('gifts', { id: { ne: 1, lt: 5 } });
      // @ts-expect-error: in with a bound
      yield* tx.select('gifts', { id: { in: [1], lt: 5 } });
      // @ts-expect-error: an in list of the column's type
      yield* tx.select('gifts', { id: { in: ['1'] } });
      // @ts-expect-error: an in list is a list
      yield* tx.select('gifts', { id: { in: 1 } });
      return yield* tx.commit('ok');
    }
    expectTypeOf(program).toBeFunction();
  });
});

describe('seed rows are checked against the schema', () => {
  const scenario = (seed: Parameters<typeof defineScenario<typeof schema>>[0]['seed']) =>
    defineScenario({
      id: 'gift-once',
      title: 'one welcome gift per user',
      schema,
      seed,
      isolationLevels: ['read-committed'],
      operations: { claim: { args: fc.constant(null), serial: () => 'ok' } },
      strategies: {},
      invariants: [],
      transactions: { min: 2, max: 2 },
      canonical: [],
    });

  test('a well-typed seed compiles', () => {
    expectTypeOf(scenario).parameter(0).toEqualTypeOf<{ readonly gifts: readonly Gift[] }>();
    scenario({ gifts: [{ id: 1, user: 1, note: 'hi', sent: false }] });
  });

  test('a misspelt column, a missing table or a wrong value does not', () => {
    // @ts-expect-error: no column usr
    scenario({ gifts: [{ id: 1, usr: 1, note: 'hi', sent: false }] });
    // @ts-expect-error: no table gift
    scenario({ gifts: [], gift: [] });
    // @ts-expect-error: gifts is missing
    scenario({});
    // @ts-expect-error: user is an int
    scenario({ gifts: [{ id: 1, user: '1', note: 'hi', sent: false }] });
  });
});
