import pg from 'pg';
import type { Value } from '../../model/schema.ts';
import type { CompiledSql } from './sql-compiler.ts';

/**
 * A compiled statement with its parameters written into it as literals, for
 * the simple query protocol (one message, one round trip, as `pgbench`
 * sends its scripts by default) and for isolationtester spec files, whose
 * steps are plain text: ints as numbers, booleans as `true` and `false`,
 * null as `NULL`, strings quoted by `pg.escapeLiteral`.
 *
 * ```ts
 * withLiterals({ sql: 'select * from "s"."accounts" where "id" = $1', parameters: [1] });
 * // 'select * from "s"."accounts" where "id" = 1'
 * ```
 *
 * The compiler writes every value as a parameter and every name as a quoted
 * identifier from the schema, so a `$n` outside a quoted name is always a
 * parameter; a schema whose names hold `$` is refused by `literalsSafe`.
 */
export function withLiterals(compiled: CompiledSql): string {
  if (compiled.parameters.length === 0) return compiled.sql;
  return compiled.sql.replace(/\$(\d+)/g, (_, n: string) => sqlLiteral(compiled.parameters[Number(n) - 1]));
}

/** True when no table or column name holds a `$`, so `withLiterals` cannot mistake part of a name for a parameter. */
export function literalsSafe(names: readonly string[]): boolean {
  return names.every((name) => !name.includes('$'));
}

/** One value as an SQL literal. */
export function sqlLiteral(value: Value): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as an SQL literal`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return pg.escapeLiteral(value);
}
