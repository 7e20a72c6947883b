import { isolationLevels } from './transaction.ts';
import { DefinitionError } from '../errors.ts';
import { fits, show, typeText } from './check-statement.ts';
import type { Scenario } from './scenario.ts';
import { columnType, isNullable, uniqueIndexes, type ColumnType, type Row, type TableSchema } from './schema.ts';
import { foreignKeyCycle, foreignKeysProblem, seedForeignKeyProblem } from './foreign-keys.ts';

/** Scenarios that passed `checkScenario`. */
const checked = new WeakSet<Scenario>();

/**
 * Checks a scenario's definition before anything runs: its isolation levels
 * and workload sizes, its schema's keys, its seed rows against the schema
 * (every table seeded, every row with exactly the table's columns, values of
 * the columns' types, no two rows with one key), every strategy with exactly
 * one program per operation and verdicts only for supported levels, and the
 * canonical workload's operations. TypeScript checks most of this when the
 * scenario is written with `defineScenario`, but tests and the CLI load
 * scenarios untyped. A scenario that passes is remembered, so checking it
 * again is free.
 *
 * ```ts
 * checkScenario(giftOnce);
 * // DefinitionError: Scenario gift-once: seed row 2 of table gifts has "user": "1", but column user is an int.
 * ```
 */
export function checkScenario(scenario: Scenario): void {
  if (checked.has(scenario)) return;
  const problem =
    isolationProblem(scenario) ??
    transactionsProblem(scenario) ??
    schemaProblem(scenario) ??
    seedProblem(scenario) ??
    strategiesProblem(scenario) ??
    invariantsProblem(scenario) ??
    canonicalProblem(scenario);
  if (problem !== null) throw new DefinitionError(`Scenario ${scenario.id}: ${problem}`);
  checked.add(scenario);
}

const columnTypes: readonly ColumnType[] = ['int', 'text', 'bool', 'bigint'];

function isolationProblem(scenario: Scenario): string | null {
  const levels: unknown = scenario.isolationLevels;
  if (!Array.isArray(levels) || levels.length === 0) return `isolationLevels is ${show(levels)}; list at least one of ${isolationLevels.join(', ')}.`;
  for (const level of levels) {
    if (!isolationLevels.includes(level as never)) return `isolationLevels has ${show(level)}, which is not an isolation level; the levels are ${isolationLevels.join(', ')}.`;
  }
  return null;
}

function transactionsProblem(scenario: Scenario): string | null {
  const t: unknown = scenario.transactions;
  const { min, max } = (typeof t === 'object' && t !== null ? t : {}) as { min?: unknown; max?: unknown };
  if (Number.isSafeInteger(min) && Number.isSafeInteger(max) && (min as number) >= 1 && (min as number) <= (max as number)) return null;
  const given = typeof t === 'object' && t !== null ? `{ min: ${show(min)}, max: ${show(max)} }` : show(t);
  return `transactions is ${given}; min and max must be whole numbers with 1 <= min <= max.`;
}

function schemaProblem(scenario: Scenario): string | null {
  const schema: unknown = scenario.schema;
  if (typeof schema !== 'object' || schema === null) return `the schema is ${show(schema)}, not an object of tables.`;
  for (const [name, table] of Object.entries(schema as Record<string, TableSchema>)) {
    const columns: unknown = table?.columns;
    if (typeof columns !== 'object' || columns === null || Object.keys(columns).length === 0) return `table ${name} has columns ${show(columns)}; give it an object of column names to int, text, bool or bigint.`;
    for (const [column, declared] of Object.entries(columns)) {
      const spec = typeof declared === 'object' && declared !== null;
      const type: unknown = spec ? (declared as { type?: unknown }).type : declared;
      const extra = spec ? Object.keys(declared).find((k) => k !== 'type' && k !== 'nullable') : undefined;
      const nullable: unknown = spec ? (declared as { nullable?: unknown }).nullable : undefined;
      if (!columnTypes.includes(type as ColumnType) || extra !== undefined || (nullable !== undefined && typeof nullable !== 'boolean')) {
        return `column ${column} of table ${name} is ${show(declared)}; a column is 'int', 'text', 'bool' or 'bigint', or { type, nullable: true } for one that may hold null.`;
      }
    }
    for (const column of Array.isArray(table.primaryKey) ? table.primaryKey : []) {
      if (Object.hasOwn(columns, column) && isNullable((columns as TableSchema['columns'])[column])) {
        return `column ${column} of table ${name} is nullable, but it is in the primary key, which PostgreSQL makes NOT NULL; drop nullable: true.`;
      }
    }
    const keys = table.unique;
    if (keys !== undefined && !Array.isArray(keys)) return `the unique indexes of table ${name} are ${show(keys)}, not a list of column lists.`;
    const problem = keyProblem(name, table, 'the primary key', table.primaryKey);
    if (problem !== null) return problem;
    for (const key of keys ?? []) {
      const p = keyProblem(name, table, `unique index ${Array.isArray(key) ? `(${key.join(', ')})` : show(key)}`, key);
      if (p !== null) return p;
    }
    const fkProblem = foreignKeysProblem(schema as Scenario['schema'], name, table);
    if (fkProblem !== null) return fkProblem;
  }
  const cycle = foreignKeyCycle(schema as Scenario['schema']);
  if (cycle !== null) return `the foreign keys form a cycle (${cycle}); lockstep creates and seeds each referenced table before the tables referencing it, so it needs none.`;
  return null;
}

/** A primary key or unique index: a non-empty list of the table's columns. */
function keyProblem(name: string, table: TableSchema, label: string, key: unknown): string | null {
  const columns = Object.keys(table.columns).join(', ');
  if (!Array.isArray(key) || key.length === 0) return `${label} of table ${name} is ${show(key)}; name one or more of its columns ${columns}.`;
  for (const column of key) {
    if (typeof column !== 'string' || !Object.hasOwn(table.columns, column)) {
      return `${label} of table ${name} names column ${typeof column === 'string' ? column : show(column)}, which the table does not have; its columns are ${columns}.`;
    }
  }
  return null;
}

function seedProblem(scenario: Scenario): string | null {
  const { schema } = scenario;
  const seed: unknown = scenario.seed;
  const tableNames = Object.keys(schema).join(', ');
  if (typeof seed !== 'object' || seed === null) return `the seed is ${show(seed)}; give it a list of rows for each table (${tableNames}).`;
  for (const name of Object.keys(seed)) {
    if (!Object.hasOwn(schema, name)) return `the seed has table ${name}, which the schema does not have; the tables are ${tableNames}.`;
  }
  for (const name of Object.keys(schema)) {
    if (!Object.hasOwn(seed, name)) return `the seed has no rows for table ${name}; give every table a list of rows, [] for none.`;
    const rows: unknown = (seed as Record<string, unknown>)[name];
    if (!Array.isArray(rows)) return `the seed of table ${name} is ${show(rows)}, not a list of rows.`;
    const problem = seedRowsProblem(name, schema[name], rows);
    if (problem !== null) return problem;
  }
  for (const name of Object.keys(schema)) {
    const problem = seedForeignKeyProblem(schema, seed as Record<string, readonly Row[]>, name);
    if (problem !== null) return problem;
  }
  return null;
}

function seedRowsProblem(name: string, table: TableSchema, rows: readonly unknown[]): string | null {
  const columns = Object.keys(table.columns);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const at = `seed row ${i + 1} of table ${name}`;
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return `${at} is ${show(row)}, not a row object.`;
    for (const [column, v] of Object.entries(row)) {
      if (!Object.hasOwn(table.columns, column)) return `${at} has column ${column}, which the table does not have; its columns are ${columns.join(', ')}.`;
      const type = columnType(table.columns[column]);
      if (v === null) {
        if (!isNullable(table.columns[column])) return `${at} has ${JSON.stringify(column)}: null, but column ${column} is NOT NULL; declare it { type: '${type}', nullable: true } to allow null.`;
      } else if (!fits(type, v, true)) return `${at} has ${JSON.stringify(column)}: ${show(v)}, but column ${column} is ${typeText(type, v, true)}.`;
    }
    const missing = columns.find((c) => !Object.hasOwn(row, c));
    if (missing !== undefined) return `${at} has no value for column ${missing}; every row of ${name} needs ${columns.join(', ')}.`;
  }
  for (const key of uniqueIndexes(table)) {
    const seen = new Map<string, number>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Record<string, unknown>;
      // NULLs are distinct in a unique index: a key with a null never collides.
      if (key.some((c) => row[c] === null)) continue;
      const values = JSON.stringify(key.map((c) => row[c]));
      const first = seen.get(values);
      if (first === undefined) {
        seen.set(values, i);
        continue;
      }
      const which = key === table.primaryKey ? 'the primary key' : 'a unique index';
      return `seed rows ${first + 1} and ${i + 1} of table ${name} both have ${key.map((c) => `${c}=${show(row[c])}`).join(', ')}, but (${key.join(', ')}) is ${which}.`;
    }
  }
  return null;
}

function strategiesProblem(scenario: Scenario): string | null {
  for (const field of ['operations', 'strategies'] as const) {
    const value: unknown = scenario[field];
    if (typeof value !== 'object' || value === null) return `${field} is ${show(value)}, not an object keyed by name.`;
  }
  const operations = Object.keys(scenario.operations);
  if (operations.length === 0) return 'operations is {}; give the scenario at least one operation.';
  for (const [name, operation] of Object.entries(scenario.operations)) {
    const args = (operation as { args?: { generate?: unknown } } | null)?.args;
    if (typeof args?.generate !== 'function') return `operation ${name} has args ${show(args)}; give it a fast-check arbitrary of its arguments (fc from 'lockstep').`;
    if (typeof operation.serial !== 'function') return `operation ${name} has serial ${show(operation.serial)}; give it the serial spec, (state, args, { id }) => what the operation answers alone.`;
  }
  if (Object.keys(scenario.strategies).length === 0) return 'strategies is {}; give the scenario at least one strategy.';
  const supported = scenario.isolationLevels;
  for (const [name, strategy] of Object.entries(scenario.strategies)) {
    const programs: unknown = strategy?.programs;
    if (typeof programs !== 'object' || programs === null) return `strategy ${name} has programs ${show(programs)}; give it one program per operation (${operations.join(', ')}).`;
    for (const operation of operations) {
      if (!Object.hasOwn(programs, operation)) return `strategy ${name} has no program for operation ${operation}; every strategy needs one for each of ${operations.join(', ')}.`;
      const program = (programs as Record<string, unknown>)[operation];
      if (typeof program !== 'function') return `strategy ${name} has ${show(program)} as the program for operation ${operation}, not a generator function.`;
    }
    for (const operation of Object.keys(programs)) {
      if (!Object.hasOwn(scenario.operations, operation)) {
        return `strategy ${name} has a program for operation ${operation}, which the scenario does not have; the operations are ${operations.join(', ')}.`;
      }
    }
    for (const [level, verdict] of Object.entries(strategy.expected ?? {})) {
      if (!supported.includes(level as never)) {
        return `strategy ${name} expects a verdict under ${level}, which the scenario does not support; its isolation levels are ${supported.join(', ')}.`;
      }
      if (verdict !== 'passes' && verdict !== 'fails') return `strategy ${name} expects ${show(verdict)} under ${level}; a verdict is passes or fails.`;
    }
  }
  return null;
}

function invariantsProblem(scenario: Scenario): string | null {
  const invariants: unknown = scenario.invariants;
  if (!Array.isArray(invariants)) return `invariants is ${show(invariants)}; give a list of rules, [] for none.`;
  for (const [i, invariant] of invariants.entries()) {
    const { name, check } = (invariant ?? {}) as { name?: unknown; check?: unknown };
    if (typeof name !== 'string' || typeof check !== 'function') return `invariant ${i + 1} is not { name, check(run) }; each rule has a name and a check that returns null or a sentence.`;
  }
  return null;
}

function canonicalProblem(scenario: Scenario): string | null {
  const canonical: unknown = scenario.canonical;
  if (!Array.isArray(canonical)) return `the canonical workload is ${show(canonical)}, not a list of transactions.`;
  for (let i = 0; i < canonical.length; i++) {
    const operation: unknown = canonical[i]?.operation;
    if (typeof operation !== 'string' || !Object.hasOwn(scenario.operations, operation)) {
      const operations = Object.keys(scenario.operations).join(', ');
      return `canonical transaction ${i + 1} runs operation ${typeof operation === 'string' ? operation : show(operation)}, which the scenario does not have; the operations are ${operations}.`;
    }
  }
  return null;
}
