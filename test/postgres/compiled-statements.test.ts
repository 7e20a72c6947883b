import { describe, expect, it } from 'vitest';
import { CompiledStatements, statementKey } from '../../src/adapters/postgres/compiled-statements.ts';
import { SqlCompiler } from '../../src/adapters/postgres/sql-compiler.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

const schema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int', big: 'bigint' }, primaryKey: ['id'] },
});
const seed = { accounts: [{ id: 1, balance: 3000, big: 0 }] };

/** A compiler that counts what it compiles. */
function counting() {
  const compiler = new SqlCompiler(schema, 'lockstep_0a0b');
  const counts = { statement: 0, reset: 0, tables: 0 };
  const statement = compiler.statement.bind(compiler);
  const resetScript = compiler.resetScript.bind(compiler);
  const tablesScript = compiler.tablesScript.bind(compiler);
  compiler.statement = (s) => (counts.statement++, statement(s));
  compiler.resetScript = (t) => (counts.reset++, resetScript(t));
  compiler.tablesScript = () => (counts.tables++, tablesScript());
  return { compiled: new CompiledStatements(compiler), counts, plain: new SqlCompiler(schema, 'lockstep_0a0b') };
}

describe('CompiledStatements', () => {
  it('compiles each distinct statement once and answers what the compiler answers', () => {
    const { compiled, counts, plain } = counting();
    const update: Statement = { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2700 } };
    const again: Statement = { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2700 } };
    const other: Statement = { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2400 } };
    expect(compiled.statement(update)).toEqual(plain.statement(update));
    expect(compiled.statement(again)).toEqual(plain.statement(update));
    expect(compiled.statement(other)).toEqual(plain.statement(other));
    expect(counts.statement).toBe(2);
  });

  it('compiles the reset script once per seed and the tables script once', () => {
    const { compiled, counts, plain } = counting();
    expect(compiled.resetScript(seed)).toBe(plain.resetScript(seed));
    expect(compiled.resetScript(seed)).toBe(plain.resetScript(seed));
    const other = { accounts: [{ id: 2, balance: 100, big: 0 }] };
    expect(compiled.resetScript(other)).toBe(plain.resetScript(other));
    expect(compiled.tablesScript()).toBe(plain.tablesScript());
    expect(compiled.tablesScript()).toBe(plain.tablesScript());
    expect(counts).toEqual({ statement: 0, reset: 2, tables: 1 });
  });
});

describe('statementKey', () => {
  it('tells apart the values JSON writes alike: a bigint and its digits, undefined and a missing key, NaN and null, the infinities', () => {
    const where = (value: unknown): Statement => ({ kind: 'select', table: 'accounts', where: { big: value } }) as Statement;
    const keys = [where(12n), where('12'), where(12), where(undefined), where(null), where(Number.NaN), where(Number.POSITIVE_INFINITY), where(Number.NEGATIVE_INFINITY)].map(statementKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(statementKey({ kind: 'select', table: 'accounts', where: {} })).not.toBe(statementKey(where(undefined)));
  });
});
