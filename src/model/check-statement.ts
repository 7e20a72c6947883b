import type { TxId } from './transaction.ts';
import { DefinitionError } from '../errors.ts';
import type { Scenario, Strategy } from './scenario.ts';
import { columnType, indexOn, isNullable, uniqueIndexes, type ColumnType, type Schema } from './schema.ts';
import { describeStatement, type AdvisoryLockStatement, type SavepointControl, type Statement } from './statement.ts';

/** PostgreSQL's `integer` range. */
const int4Min = -2147483648;
const int4Max = 2147483647;
/** PostgreSQL's `bigint` range, as JavaScript numbers: 2^63 is the first whole number past it (2^63 - 1 is not a double). */
const int8Limit = 2 ** 63;

/** One table's columns, for checking statements quickly. */
interface TableColumns {
  readonly name: string;
  readonly types: ReadonlyMap<string, ColumnType>;
  /** The columns that may hold null. */
  readonly nullable: ReadonlySet<string>;
  /** Column names in schema order. */
  readonly names: readonly string[];
  /** The unique indexes, primary key first: what an ON CONFLICT target may name. */
  readonly uniques: readonly (readonly string[])[];
}

const tablesBySchema = new WeakMap<Schema, ReadonlyMap<string, TableColumns>>();
/** The last schema looked up and its tables: exploration checks one schema's statements millions of times in a row. */
let lastSchema: Schema | undefined;
let lastTables: ReadonlyMap<string, TableColumns> | undefined;

/** The schema's tables as maps (a `Map` has no inherited names like `toString`), cached per schema object. */
function tablesOf(schema: Schema): ReadonlyMap<string, TableColumns> {
  if (schema === lastSchema) return lastTables!;
  let tables = tablesBySchema.get(schema);
  if (tables === undefined) {
    const built = new Map<string, TableColumns>();
    for (const name of Object.keys(schema)) {
      const columns = schema[name].columns;
      const names = Object.keys(columns);
      built.set(name, { name, types: new Map(names.map((c) => [c, columnType(columns[c])])), nullable: new Set(names.filter((c) => isNullable(columns[c]))), names, uniques: uniqueIndexes(schema[name]) });
    }
    tablesBySchema.set(schema, (tables = built));
  }
  lastSchema = schema;
  lastTables = tables;
  return tables;
}

/**
 * Throws a `DefinitionError` unless `statement`, yielded by the program of
 * `operation` under `strategy` as transaction `tx`, is a statement of the
 * language on the scenario's schema with values of its columns' types. A
 * misspelt table or column, or a value of the wrong type, would otherwise be
 * a statement that silently matches no rows in the model (TypeScript catches
 * these at compile time, but tests run untyped). The runner calls this for
 * every statement of every explored run, so it is one pass over the
 * statement's own keys against per-table column maps cached by schema.
 *
 * ```ts
 * checkStatement(giftOnce, 'naive', 'claim', 1, { kind: 'select', table: 'gift', where: { user: 1 } });
 * // DefinitionError: Scenario gift-once, strategy naive, operation claim (T1): select gift where user=1 names unknown table "gift"; the tables are gifts.
 * ```
 */
export function checkStatement(scenario: Scenario, strategy: Strategy | string, operation: string, tx: TxId, statement: unknown): void {
  if (typeof statement === 'object' && statement !== null) {
    const kind = (statement as { kind?: unknown }).kind;
    if (kind === 'commit' || kind === 'rollback') return;
    if (kind === 'savepoint' || kind === 'rollback-to' || kind === 'release') {
      const problem = savepointProblem(statement as SavepointControl);
      if (problem === null) return;
      throw new DefinitionError(`${programOrigin(scenario, strategy, operation, tx)}: ${show(statement)} ${problem}`);
    }
    if (kind === 'advisory-lock') {
      const problem = advisoryLockProblem(statement as AdvisoryLockStatement);
      if (problem === null) return;
      throw new DefinitionError(`${programOrigin(scenario, strategy, operation, tx)}: ${show(statement)} ${problem}`);
    }
    if (kind === 'select' || kind === 'update' || kind === 'insert' || kind === 'delete') {
      const problem = statementProblem(tablesOf(scenario.schema), statement as DataStatement);
      if (problem === null) return;
      const [text, rest] = problem instanceof Malformed ? [show(statement), problem.text] : [describeSafely(statement as Statement), problem];
      throw new DefinitionError(`${programOrigin(scenario, strategy, operation, tx)}: ${text} ${rest}`);
    }
  }
  throw new DefinitionError(`${programOrigin(scenario, strategy, operation, tx)} yielded ${notAStatement(statement)}`);
}

/** `Scenario gift-once, strategy naive, operation claim (T1)`: which program did something, for error sentences. */
export function programOrigin(scenario: Scenario, strategy: Strategy | string, operation: string, tx: TxId): string {
  return `Scenario ${scenario.id}, strategy ${strategyName(scenario, strategy)}, operation ${operation} (T${tx})`;
}

/** The key of `strategy` in the scenario's strategies (only looked up on error paths). */
function strategyName(scenario: Scenario, strategy: Strategy | string): string {
  if (typeof strategy === 'string') return strategy;
  return Object.keys(scenario.strategies).find((name) => scenario.strategies[name] === strategy) ?? '(unnamed)';
}

type DataStatement = Exclude<Statement, { kind: 'commit' | 'rollback' | 'advisory-lock' | 'savepoint' | 'rollback-to' | 'release' }>;

/** What is wrong with a savepoint statement: its name must be a string PostgreSQL takes as an identifier (at most 63 bytes, no NUL). */
function savepointProblem(s: SavepointControl): string | null {
  const keys = Object.keys(s).filter((k) => k !== 'kind' && k !== 'name');
  if (keys.length > 0) return `has ${show(keys[0])}; a ${s.kind} has a name only.`;
  if (typeof s.name !== 'string' || s.name === '' || s.name.includes('\0') || Buffer.byteLength(s.name) > 63) return `has name ${show(s.name)}; a savepoint's name is a non-empty string of at most 63 bytes.`;
  return null;
}

/** What is wrong with an advisory lock statement: its key must be a whole number in bigint's range (PostgreSQL's `pg_advisory_xact_lock(bigint)`). */
function advisoryLockProblem(s: AdvisoryLockStatement): string | null {
  const keys = Object.keys(s).filter((k) => k !== 'kind' && k !== 'key' && k !== 'try');
  if (keys.length > 0) return `has ${show(keys[0])}; an advisory lock has a key and may have try.`;
  if (typeof s.key !== 'number' || !Number.isInteger(s.key) || s.key < -int8Limit || s.key >= int8Limit) return `has key ${show(s.key)}; an advisory lock's key is a whole number in bigint's range.`;
  if (s.try !== undefined && typeof s.try !== 'boolean') return `has try ${show(s.try)}; it is true or false.`;
  return null;
}

/** A problem with a statement too malformed for `describeStatement` to render faithfully: the sentence shows the statement as written. */
class Malformed {
  constructor(readonly text: string) {}
}

/** The end of an error sentence, or null when there is nothing wrong. */
type Problem = string | Malformed | null;

/** What is wrong with a select, update, insert or delete, as the end of a sentence; null when nothing is. */
function statementProblem(tables: ReadonlyMap<string, TableColumns>, s: DataStatement): Problem {
  const table = tables.get(s.table);
  if (table === undefined) return `names unknown table ${show(s.table)}; the tables are ${[...tables.keys()].join(', ')}.`;
  switch (s.kind) {
    case 'select':
      return whereProblem(table, s.where) ?? selectOptionsProblem(table, s);
    case 'update':
      return whereProblem(table, s.where) ?? setProblem(table, s.set);
    case 'delete':
      return whereProblem(table, s.where);
    case 'insert':
      return rowsProblem(table, s.rows) ?? (s.onConflict === undefined || s.onConflict === 'nothing' ? null : conflictUpdateProblem(table, s.onConflict));
  }
}

function whereProblem(table: TableColumns, where: unknown): Problem {
  if (typeof where !== 'object' || where === null) return new Malformed(`has where clause ${show(where)}; a where clause is an object ({} for every row).`);
  for (const column in where) {
    const type = table.types.get(column);
    if (type === undefined) return unknownColumn(table, column, 'its where clause');
    const c = (where as Record<string, unknown>)[column];
    // null is `IS NULL`, fine SQL on any column (on a NOT NULL one it matches nothing).
    if (c === null) continue;
    if (typeof c === 'object') {
      const problem = comparisonProblem(type, column, c as Record<string, unknown>);
      if (problem !== null) return problem;
    } else if (!fits(type, c, true)) {
      return `compares ${column} with ${show(c)}, but column ${column} is ${typeText(type, c, true)}.`;
    }
  }
  return null;
}

const comparisonShapes = 'a comparison is { gte: v }, { gt: v }, { lte: v }, { lt: v }, a lower and an upper bound ({ gte: a, lt: b }), { ne: v } or { in: [v, ...] }.';

/** What is wrong with a comparison object on `column`: unknown operators, two bounds on one side, `ne` or `in` with others, an empty `in`, values of another type. */
function comparisonProblem(type: ColumnType, column: string, c: Record<string, unknown>): Problem {
  let lower = 0;
  let upper = 0;
  let other = 0;
  let ops = 0;
  for (const op in c) {
    ops++;
    if (op === 'gte' || op === 'gt') lower++;
    else if (op === 'lte' || op === 'lt') upper++;
    else if (op === 'ne' || op === 'in') other++;
    else return new Malformed(`compares ${column} with ${show(c)}; ${comparisonShapes}`);
  }
  if (ops === 0 || lower > 1 || upper > 1 || (other > 0 && ops > 1)) return new Malformed(`compares ${column} with ${show(c)}; ${comparisonShapes}`);
  if ('in' in c) {
    const list = c.in;
    if (!Array.isArray(list) || list.length === 0) return new Malformed(`compares ${column} with ${show(c)}; { in: [...] } takes a non-empty list of values.`);
    for (const v of list) if (v !== null && !fits(type, v, true)) return `compares ${column} with ${show(v)} in its in list, but column ${column} is ${typeText(type, v, true)}.`;
    return null;
  }
  for (const op in c) {
    const v = c[op];
    if (v !== null && !fits(type, v, true)) return `compares ${column} with ${show(v)}, but column ${column} is ${typeText(type, v, true)}.`;
  }
  return null;
}

/**
 * What is wrong with `ON CONFLICT (columns) DO UPDATE`: the columns must be
 * those of the primary key or of a unique index (PostgreSQL's 42P10
 * otherwise), the SET list a set list that may also take `{ excluded: col }`,
 * the where clause one on the table.
 */
function conflictUpdateProblem(table: TableColumns, spec: unknown): Problem {
  const shape = 'onConflict is nothing or { columns, update, where? }.';
  if (typeof spec !== 'object' || spec === null) return new Malformed(`has onConflict ${show(spec)}; ${shape}`);
  const extra = Object.keys(spec).find((k) => k !== 'columns' && k !== 'update' && k !== 'where');
  if (extra !== undefined) return new Malformed(`has onConflict with ${show(extra)}; ${shape}`);
  const { columns, update, where } = spec as { columns?: unknown; update?: unknown; where?: unknown };
  if (!Array.isArray(columns) || columns.length === 0) return new Malformed(`has onConflict columns ${show(columns)}; they are a non-empty list of the columns of a unique index.`);
  for (const column of columns as unknown[]) if (typeof column !== 'string' || !table.types.has(column)) return unknownColumn(table, column, 'its on conflict columns');
  const target = columns as string[];
  if (indexOn(table.uniques, target) === undefined) {
    return `has on conflict (${target.join(', ')}), but no primary key or unique index of ${table.name} is on exactly these columns (PostgreSQL's 42P10); ${table.name}'s are ${table.uniques.map((index) => `(${index.join(', ')})`).join(', ')}.`;
  }
  const set = setProblem(table, update, true);
  if (set !== null) return set;
  if (Object.keys(update as object).length === 0) return 'has an empty on conflict update list; DO UPDATE sets at least one column.';
  return where === undefined ? null : whereProblem(table, where);
}

/** What is wrong with a SET list; `excluded`: an upsert's, whose values may also be `{ excluded: col }`. */
function setProblem(table: TableColumns, set: unknown, excluded = false): Problem {
  if (typeof set !== 'object' || set === null) return new Malformed(`has set list ${show(set)}; a set list is an object of column values.`);
  for (const column in set) {
    const type = table.types.get(column);
    if (type === undefined) return unknownColumn(table, column, 'its set list');
    const a = (set as Record<string, unknown>)[column];
    if (excluded && typeof a === 'object' && a !== null && Object.keys(a).length === 1 && 'excluded' in a) {
      const from = (a as { excluded: unknown }).excluded;
      if (typeof from !== 'string' || !table.types.has(from)) return unknownColumn(table, from, `the excluded value of ${column}`);
      if (table.types.get(from) !== type) return `sets ${column} to excluded.${from}, but column ${from} is ${typeText(table.types.get(from)!, undefined, false)} and ${column} ${typeText(type, undefined, false)}.`;
    } else if (typeof a === 'object' && a !== null) {
      let keys = 0;
      let onlyAdd = true;
      for (const key in a) {
        keys++;
        if (key !== 'add') onlyAdd = false;
      }
      if (keys !== 1 || !onlyAdd) return new Malformed(`sets ${column} to ${show(a)}; a new value is a constant, null${excluded ? ', { add: n } or { excluded: column }' : ' or { add: n }'}.`);
      if (type !== 'int' && type !== 'bigint') return `adds to ${column}, but column ${column} is ${typeText(type, undefined, false)}; only an int or bigint column takes { add: n }.`;
      const n = (a as { add: unknown }).add;
      if (!fits(type, n, true)) return `adds ${show(n)} to ${column}, but an increment is a whole number from ${type === 'int' ? `${int4Min} to ${int4Max}` : '-2^63 to 2^63 - 1'}.`;
    } else if (a !== null && !fits(type, a, false)) {
      return `sets ${column} to ${show(a)}, but column ${column} is ${typeText(type, a, false)}.`;
    }
  }
  return null;
}

function rowsProblem(table: TableColumns, rows: unknown): Problem {
  if (!Array.isArray(rows)) return new Malformed(`has rows ${show(rows)}; an insert's rows are an array.`);
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    if (typeof row !== 'object' || row === null) return new Malformed(`has row ${i + 1} ${show(row)}, which is not a row object.`);
    let count = 0;
    for (const column in row) {
      const type = table.types.get(column);
      if (type === undefined) return unknownColumn(table, column, `row ${i + 1}`);
      const v = (row as Record<string, unknown>)[column];
      if (v !== null && !fits(type, v, false)) return `gives ${column} the value ${show(v)} in row ${i + 1}, but column ${column} is ${typeText(type, v, false)}.`;
      count++;
    }
    if (count !== table.names.length) {
      const missing = table.names.find((c) => !Object.hasOwn(row, c));
      return `gives row ${i + 1} no value for column ${missing}; every row of ${table.name} needs ${table.names.join(', ')}.`;
    }
  }
  return null;
}

function selectOptionsProblem(table: TableColumns, s: { readonly orderBy?: unknown; readonly limit?: unknown; readonly lock?: unknown; readonly skipLocked?: unknown; readonly nowait?: unknown; readonly aggregate?: unknown }): Problem {
  const { orderBy, limit, lock, skipLocked, nowait, aggregate } = s;
  if (aggregate !== undefined) {
    const problem = aggregateProblem(table, aggregate, s);
    if (problem !== null) return problem;
  }
  if (orderBy !== undefined) {
    if (!Array.isArray(orderBy)) return new Malformed(`has orderBy ${show(orderBy)}; orderBy is a list of [column, 'asc' | 'desc'].`);
    for (const entry of orderBy as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2) return new Malformed(`orders by ${show(entry)}; an ordering is [column, 'asc' | 'desc'].`);
      const [column, direction] = entry as [unknown, unknown];
      if (typeof column !== 'string' || !table.types.has(column)) return unknownColumn(table, column, 'its order by');
      if (direction !== 'asc' && direction !== 'desc') return new Malformed(`orders by ${column} ${show(direction)}; a direction is asc or desc.`);
    }
  }
  if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) >= 0)) return `has limit ${show(limit)}; a limit is a whole number of at least 0.`;
  if (lock !== undefined && lock !== 'update' && lock !== 'no-key-update' && lock !== 'share' && lock !== 'key-share') return `has lock ${show(lock)}; a lock is update, no-key-update, share or key-share.`;
  for (const [name, v] of [['skipLocked', skipLocked], ['nowait', nowait]] as const) {
    if (v !== undefined && typeof v !== 'boolean') return `has ${name} ${show(v)}; ${name} is true or false.`;
    if (v === true && lock === undefined) return `has ${name} but no lock; ${name === 'skipLocked' ? 'SKIP LOCKED' : 'NOWAIT'} goes with a lock (lock: 'update', 'no-key-update', 'share' or 'key-share').`;
  }
  if (skipLocked === true && nowait === true) return 'has both skipLocked and nowait; a locking read either skips the rows it cannot lock at once or fails on them, not both.';
  return null;
}

/** What is wrong with a select's aggregate: `count`, or `{ sum: column }` of an int or bigint column, in a select without a lock, an ORDER BY or a LIMIT. */
function aggregateProblem(table: TableColumns, aggregate: unknown, s: { readonly orderBy?: unknown; readonly limit?: unknown; readonly lock?: unknown }): Problem {
  if (aggregate !== 'count') {
    const column = typeof aggregate === 'object' && aggregate !== null && Object.keys(aggregate).length === 1 ? (aggregate as { sum?: unknown }).sum : undefined;
    if (column === undefined) return new Malformed(`has aggregate ${show(aggregate)}; an aggregate is 'count' or { sum: column }.`);
    const type = table.types.get(column as string);
    if (type === undefined) return unknownColumn(table, column, 'its sum');
    if (type !== 'int' && type !== 'bigint') return `sums ${String(column)}, but column ${String(column)} is ${typeText(type, undefined, false)}; only an int or bigint column is summed.`;
  }
  if (s.lock !== undefined) {
    const clause = typeof s.lock === 'string' ? `FOR ${s.lock.replace(/-/g, ' ').toUpperCase()}` : 'a lock';
    return `locks the rows it aggregates; PostgreSQL refuses that (0A000: ${clause} is not allowed with aggregate functions): lock them with a select first, then aggregate.`;
  }
  if (s.orderBy !== undefined || s.limit !== undefined) return `has ${s.orderBy !== undefined ? 'orderBy' : 'limit'} with an aggregate; an aggregate returns one row, with no ordering or limit.`;
  return null;
}

function unknownColumn(table: TableColumns, column: unknown, place: string): string {
  return `names unknown column ${show(column)} in ${place}; the columns of ${table.name} are ${table.names.join(', ')}.`;
}

/**
 * True when `v` is a non-null value of a column of `type`: an int is a safe
 * whole number (within PostgreSQL's 32 bits when `int4`, as a compared value
 * or increment must be; a stored value outside them is the database's
 * 22003), a bigint a whole number within PostgreSQL's 64 bits (JavaScript
 * holds it exactly up to 2^53), a text a string, a bool a boolean. A null is
 * checked apart: fine SQL anywhere, 23502 in a NOT NULL column when stored.
 */
export function fits(type: ColumnType, v: unknown, int4: boolean): boolean {
  switch (type) {
    case 'int':
      // int4 is exactly int32, and `v | 0` keeps exactly the int32 numbers (the common case, so it goes first).
      return typeof v === 'number' && ((v | 0) === v || (!int4 && Number.isSafeInteger(v)));
    case 'bigint':
      return typeof v === 'number' && Number.isInteger(v) && v >= -int8Limit && v < int8Limit;
    case 'text':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
  }
}

/** How an error sentence names a column type, given the misfit value: `an int`, or for a number that is not one, `an int, a whole number from ...`. */
export function typeText(type: ColumnType, v: unknown, int4: boolean): string {
  if (type === 'int' && typeof v === 'number') return `an int, a whole number${int4 ? ` from ${int4Min} to ${int4Max}` : ''}`;
  if (type === 'bigint' && typeof v === 'number') return 'a bigint, a whole number from -2^63 to 2^63 - 1';
  return type === 'int' ? 'an int' : type === 'bigint' ? 'a bigint' : type === 'text' ? 'a text' : 'a bool';
}

/** A value as an error sentence shows it: strings quoted, everything else as written in code. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object' && v !== null) {
    try {
      const json = JSON.stringify(v);
      if (json !== undefined) return json;
    } catch {
      // a cycle or a throwing toJSON: fall through
    }
    return Object.prototype.toString.call(v);
  }
  return String(v);
}

/** `describeStatement`, or the raw value for a statement too malformed to describe. */
function describeSafely(s: Statement): string {
  try {
    return describeStatement(s);
  } catch {
    return show(s);
  }
}

function notAStatement(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { next?: unknown }).next === 'function') return 'a generator instead of a statement; write yield* tx.select(...), with a star, to run a statement.';
    if ((value as { kind?: unknown }).kind !== undefined) return `a statement of unknown kind ${show((value as { kind: unknown }).kind)}; the kinds are select, update, insert, delete, advisory-lock, savepoint, rollback-to, release, commit, rollback.`;
  }
  return `${show(value)}, which is not a statement; yield* the statements of tx (tx.select, tx.update, ...).`;
}
