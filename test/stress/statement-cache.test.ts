import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SqlCompiler } from '../../src/adapters/postgres/sql-compiler.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';
import { withLiterals } from '../../src/adapters/postgres/sql-literal.ts';
import { StatementCache } from '../../src/stress/statement-cache.ts';

const schema = defineSchema({
  items: { columns: { id: 'int', name: { type: 'text', nullable: true }, qty: { type: 'int', nullable: true }, done: 'bool', flag: 'bool' }, primaryKey: ['id'], unique: [['name']] },
});
const columns = { id: 'int', name: 'text', qty: 'int', done: 'bool', flag: 'bool' } as const;
type Column = keyof typeof columns;

const valueOf = (column: Column) =>
  columns[column] === 'int' ? fc.integer({ min: -5, max: 5 }) : columns[column] === 'text' ? fc.constantFrom('a', "o'hara", 'b\\c', '$1', '') : fc.boolean();
const someColumns = fc.subarray(Object.keys(columns) as Column[]);
/** A value, or null (IS NULL, IS NOT NULL, a comparison with null, setting null). */
const valueOrNull = (column: Column) => fc.oneof({ arbitrary: valueOf(column), weight: 3 }, { arbitrary: fc.constant(null), weight: 1 });
const condition = (c: Column) =>
  fc.oneof(
    valueOrNull(c),
    fc.constantFrom('gte', 'gt', 'lte', 'lt', 'ne').chain((op) => valueOrNull(c).map((v) => ({ [op]: v }))),
    fc.array(valueOrNull(c), { minLength: 1, maxLength: 3 }).map((list) => ({ in: list })),
    fc.tuple(fc.constantFrom('gte', 'gt'), fc.constantFrom('lte', 'lt'), valueOrNull(c), valueOrNull(c)).map(([lower, upper, a, b]) => ({ [lower]: a, [upper]: b })),
  );
const where = someColumns.chain((cs) => fc.tuple(...cs.map((c) => condition(c).map((v) => [c, v] as const))).map(Object.fromEntries));
const set = someColumns.chain((cs) =>
  fc.tuple(...cs.map((c) => (columns[c] === 'int' ? fc.oneof(valueOrNull(c), valueOf(c).map((add) => ({ add }))) : valueOrNull(c)).map((v) => [c, v] as const))).map(Object.fromEntries),
);
const row = fc.record({ id: valueOf('id'), name: valueOf('name'), qty: valueOf('qty'), done: valueOf('done'), flag: valueOf('flag') });
const statement: fc.Arbitrary<Statement> = fc.oneof(
  fc.record({ kind: fc.constant('select' as const), table: fc.constant('items'), where, lock: fc.constantFrom(undefined, 'update' as const, 'share' as const), orderBy: fc.constantFrom(undefined, [['qty', 'desc']] as const), limit: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant('update' as const), table: fc.constant('items'), where, set }),
  fc.record({ kind: fc.constant('insert' as const), table: fc.constant('items'), rows: fc.array(row, { maxLength: 3 }), onConflict: fc.constantFrom(undefined, 'nothing' as const) }),
  fc.record({ kind: fc.constant('delete' as const), table: fc.constant('items'), where }),
) as fc.Arbitrary<Statement>;

describe('StatementCache', () => {
  const compiler = new SqlCompiler(schema, 'lockstep_cache');

  test.prop([fc.array(statement, { minLength: 1, maxLength: 30 })], { numRuns: 300 })('gives exactly what the SqlCompiler gives, for any run of statements', (statements) => {
    const cache = new StatementCache(compiler);
    for (const s of statements) {
      expect(cache.compile(s)).toEqual(compiler.statement(s));
      expect(withLiterals(cache.compile(s))).toBe(withLiterals(compiler.statement(s)));
    }
  });

  it('reuses a shape with other values', () => {
    const cache = new StatementCache(compiler);
    const deduct = (id: number, amount: number): Statement => ({ kind: 'update', table: 'items', where: { id, qty: { gte: amount } }, set: { qty: { add: -amount } } });
    expect(cache.compile(deduct(1, 300))).toEqual({ sql: 'update "lockstep_cache"."items" set "qty" = "qty" + $1 where "id" = $2 and "qty" >= $3 returning *', parameters: [-300, 1, 300] });
    expect(cache.compile(deduct(7, 5))).toEqual({ sql: 'update "lockstep_cache"."items" set "qty" = "qty" + $1 where "id" = $2 and "qty" >= $3 returning *', parameters: [-5, 7, 5] });
  });
});

describe('withLiterals', () => {
  it('writes ints, booleans and quoted strings in place of the parameters', () => {
    expect(withLiterals({ sql: 'select * from "s"."t" where "a" = $1 and "b" = $2 and "c" = $3 and "d" = $10', parameters: [-3, true, "o'hara", 1, 1, 1, 1, 1, 1, 'x\\y'] })).toBe(
      `select * from "s"."t" where "a" = -3 and "b" = true and "c" = 'o''hara' and "d" =  E'x\\\\y'`,
    );
  });
});
