/**
 * A scenario's tables, declared once as a value so that both backends can
 * create them and TypeScript can derive each table's row type from it.
 *
 * ```ts
 * const points = defineSchema({
 *   accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
 * });
 * type Db = DatabaseOf<typeof points>; // { accounts: { id: number; balance: number } }
 * ```
 *
 * A column is a type (`'int'`, `'text'`, `'bool'`, `'bigint'`), NOT NULL, or
 * `{ type, nullable: true }`, which may hold null:
 * `holder: { type: 'int', nullable: true }` is `holder: number | null` in the row type.
 */
export type ColumnType = 'int' | 'text' | 'bool' | 'bigint';

/** A column written out: its type, and whether it may hold null (default false, NOT NULL). */
export interface ColumnSpec<T extends ColumnType = ColumnType> {
  readonly type: T;
  readonly nullable?: boolean;
}

/** How a column is declared: its type (NOT NULL), or a `ColumnSpec`. */
export type Column = ColumnType | ColumnSpec;

/** The TypeScript type of a non-null value of a column type: a bigint is a JavaScript number, like an int. */
type BaseValueOf<C extends ColumnType> = C extends 'int' | 'bigint' ? number : C extends 'text' ? string : boolean;

/** The TypeScript type a column holds: `number | null` for `{ type: 'int', nullable: true }`. */
export type ValueOf<C extends Column> = C extends ColumnType
  ? BaseValueOf<C>
  : C extends { readonly type: infer T extends ColumnType; readonly nullable: true }
    ? BaseValueOf<T> | null
    : C extends { readonly type: infer T extends ColumnType }
      ? BaseValueOf<T>
      : never;

/** Any value a row can hold (null only in a nullable column). */
export type Value = number | string | boolean | null;

/** One table: its columns, primary key, further unique indexes and foreign keys. */
export interface TableSchema<Cols extends Record<string, Column> = Record<string, Column>> {
  readonly columns: Cols;
  readonly primaryKey: readonly (keyof Cols & string)[];
  readonly unique?: readonly (readonly (keyof Cols & string)[])[];
  /** Foreign keys of this (child) table, each checked as PostgreSQL checks it (`foreign-keys.ts`). */
  readonly foreignKeys?: readonly ForeignKey<keyof Cols & string>[];
}

/**
 * A foreign key, declared on the child table: its `columns` reference, in
 * order, `references.columns` of the parent table, which are its primary
 * key or a unique index (in any order). A child row with a null in any of them is not
 * checked (MATCH SIMPLE). Deleting a referenced parent row fails with 23503
 * (`'no-action'`, the default, and `'restrict'`) or deletes its children
 * (`'cascade'`); changing a referenced key fails with 23503 either way.
 *
 * ```ts
 * order_lines: {
 *   columns: { id: 'int', product: 'int', qty: 'int' },
 *   primaryKey: ['id'],
 *   foreignKeys: [{ columns: ['product'], references: { table: 'products', columns: ['id'] } }],
 * }
 * ```
 */
export interface ForeignKey<C extends string = string> {
  readonly columns: readonly C[];
  readonly references: { readonly table: string; readonly columns: readonly string[] };
  readonly onDelete?: 'no-action' | 'restrict' | 'cascade';
}

/** A whole scenario schema: table name to table. */
export type Schema = Record<string, TableSchema>;

/** The type of a declared column: `'int'` for `'int'` and for `{ type: 'int', nullable: true }`. */
export function columnType(column: Column): ColumnType {
  return typeof column === 'string' ? column : column.type;
}

/** True when a declared column may hold null. */
export function isNullable(column: Column): boolean {
  return typeof column === 'object' && column !== null && column.nullable === true;
}

/** Row type of one table schema. */
export type RowOf<T extends TableSchema> = { -readonly [K in keyof T['columns']]: ValueOf<T['columns'][K]> };

/** The typed view of a schema that statements are checked against. */
export type DatabaseOf<S extends Schema> = { [T in keyof S]: RowOf<S[T]> };

/** A row of any table, as both backends pass it around. */
export type Row = Record<string, Value>;

/** Contents of every table, rows in primary-key order. */
export type Tables = Record<string, Row[]>;

/** Declares a schema, keeping its literal column types for `DatabaseOf`. */
export function defineSchema<const S extends Record<string, TableSchema<any>>>(schema: S): S {
  return schema;
}

/** The unique indexes of a table, primary key first. */
export function uniqueIndexes(table: TableSchema): readonly (readonly string[])[] {
  return [table.primaryKey, ...(table.unique ?? [])];
}

/** The index among `indexes` on exactly `columns`, in any order (an upsert's conflict target, a foreign key's referenced columns), or undefined. */
export function indexOn(indexes: readonly (readonly string[])[], columns: readonly string[]): readonly string[] | undefined {
  return indexes.find((index) => index.length === columns.length && index.every((c) => columns.includes(c)));
}

/** PostgreSQL's default name of a unique index: `<table>_pkey` for the primary key, `<table>_<col1>_<col2>_key` otherwise. Both backends use it. */
export function constraintName(name: string, table: TableSchema, columns: readonly string[]): string {
  return columns === table.primaryKey ? `${name}_pkey` : `${name}_${columns.join('_')}_key`;
}

/** PostgreSQL's default name of a foreign key constraint: `<table>_<col1>_<col2>_fkey`. Both backends use it. */
export function foreignKeyName(name: string, foreignKey: ForeignKey): string {
  return `${name}_${foreignKey.columns.join('_')}_fkey`;
}

/**
 * The schema's table names, every referenced table before the tables
 * referencing it, otherwise in schema order: the order both backends
 * create and seed tables in. (`checkScenario` rejects a cycle of foreign keys.)
 */
export function tablesParentsFirst(schema: Schema): readonly string[] {
  const out: string[] = [];
  const visit = (name: string, path: readonly string[]): void => {
    if (out.includes(name) || path.includes(name)) return;
    for (const fk of schema[name]?.foreignKeys ?? []) visit(fk.references.table, [...path, name]);
    if (Object.hasOwn(schema, name)) out.push(name);
  };
  for (const name of Object.keys(schema)) visit(name, []);
  return out;
}

/**
 * A row read from PostgreSQL as the model holds it: the table's columns in
 * schema order, a bigint (which `pg` reads as a string of digits) as a
 * number.
 */
export function rowFromPostgres(table: TableSchema, row: Record<string, unknown>): Row {
  const out: Row = {};
  const columns = table.columns;
  for (const column in columns) {
    const v = row[column];
    out[column] = typeof v === 'string' && columnType(columns[column]) === 'bigint' ? Number(v) : (v as Value);
  }
  return out;
}

/** True when two rows hold the same values in the given columns (null equal to null: the same row contents). */
export function sameValues(columns: readonly string[], a: Row, b: Row): boolean {
  for (const c of columns) if (a[c] !== b[c]) return false;
  return true;
}

/**
 * True when two rows have the same key in a unique index's columns: equal
 * values, none of them null (a unique index treats NULLs as distinct, as
 * PostgreSQL does by default).
 */
export function sameKey(columns: readonly string[], a: Row, b: Row): boolean {
  for (const c of columns) if (a[c] === null || a[c] !== b[c]) return false;
  return true;
}

/**
 * Orders two rows by the given columns, as PostgreSQL orders ints, text (C
 * collation) and booleans, and NULL after every value (so NULLS LAST
 * ascending and NULLS FIRST descending, PostgreSQL's defaults).
 */
export function compareBy(columns: readonly string[], a: Row, b: Row): number {
  for (const c of columns) {
    const x = a[c];
    const y = b[c];
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    if (typeof x === 'string' && typeof y === 'string') return compareCodePoints(x, y);
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Orders strings by Unicode code point, as PostgreSQL's "C" collation does (JavaScript's `<` compares UTF-16 units). */
function compareCodePoints(x: string, y: string): number {
  return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
}

/** Sorts every table by primary key: the canonical form used to compare states. */
export function canonicalTables(schema: Schema, tables: Tables): Tables {
  const out: Tables = {};
  for (const name of tableNames(schema)) {
    const pk = schema[name].primaryKey;
    const rows = tables[name] ?? [];
    out[name] = isSorted(pk, rows) ? rows : [...rows].sort((a, b) => compareBy(pk, a, b));
  }
  return out;
}

const sortedNames = new WeakMap<Schema, readonly string[]>();

/** The schema's table names in alphabetical order (cached: this runs after every explored run). */
function tableNames(schema: Schema): readonly string[] {
  let names = sortedNames.get(schema);
  if (!names) sortedNames.set(schema, (names = Object.keys(schema).sort()));
  return names;
}

function isSorted(columns: readonly string[], rows: readonly Row[]): boolean {
  for (let i = 1; i < rows.length; i++) if (compareBy(columns, rows[i - 1], rows[i]) > 0) return false;
  return true;
}
