import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type ComparisonOperator,
  type Expression,
  type OnConflictBuilder,
  type OnConflictUpdateBuilder,
  type SqlBool,
} from 'kysely';
import type { IsolationLevel } from '../backend.ts';
import { columnType, constraintName, foreignKeyName, isNullable, tablesParentsFirst, uniqueIndexes, type ColumnType, type Row, type Schema, type TableSchema, type Tables, type Value } from '../../model/schema.ts';
import { isComparison, type AdvisoryLockStatement, type Assignment, type Condition, type ConflictUpdate, type SelectStatement, type Statement, type Where } from '../../model/statement.ts';

/** One SQL statement with its `$1, $2, ...` parameters, ready for `pg`. */
export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly Value[];
}

const comparisonOperators: Record<string, ComparisonOperator> = { gte: '>=', gt: '>', lte: '<=', lt: '<', ne: '<>' };

const columnTypes: Record<ColumnType, Expression<unknown>> = {
  int: sql`integer`,
  text: sql`text collate "C"`,
  bool: sql`boolean`,
  bigint: sql`bigint`,
};

const isolationSql: Record<IsolationLevel, string> = {
  'read-committed': 'begin isolation level read committed',
  'repeatable-read': 'begin isolation level repeatable read',
  serializable: 'begin isolation level serializable',
};

/**
 * Compiles lockstep's statements and a scenario schema to PostgreSQL, with
 * kysely (a Kysely instance over a DummyDriver, used only to compile). Every
 * table lives in one run schema (`lockstep_<hex>`).
 *
 * ```ts
 * const compiler = new SqlCompiler(pointsSchema, 'lockstep_1f2e');
 * compiler.statement({ kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' });
 * // { sql: 'select * from "lockstep_1f2e"."accounts" where "id" = $1 order by "id" for update', parameters: [1] }
 * ```
 *
 * Rows come back in a defined order, as in the model: a select orders by its
 * `orderBy` columns and then the primary key. Text columns use the "C"
 * collation so PostgreSQL orders strings by bytes, as the model does. The
 * primary key constraint is `<table>_pkey` and a unique index
 * `<table>_<col1>_<col2>_key`, the names the model puts in 23505 messages.
 */
export class SqlCompiler {
  private readonly db = new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });

  /** `schemaName` '' compiles statements with unqualified table names, as a person would write them (reports). */
  constructor(
    readonly schema: Schema,
    readonly schemaName: string,
  ) {}

  /** A statement of the language as parameterised SQL. Update, insert and delete return the changed rows (`returning *`). */
  statement(s: Statement): CompiledSql {
    const db = this.schemaName === '' ? this.db : this.db.withSchema(this.schemaName);
    switch (s.kind) {
      case 'select': {
        if (s.aggregate !== undefined) {
          const from = db.selectFrom(s.table);
          const a = s.aggregate;
          const aggregate = a === 'count' ? from.select((eb) => eb.fn.countAll().as('count')) : from.select((eb) => eb.fn.sum(a.sum).as('sum'));
          return compiled(filtered(aggregate, s.where).compile());
        }
        let query = filtered(db.selectFrom(s.table).selectAll(), s.where);
        for (const [column, direction] of s.orderBy ?? []) query = query.orderBy(column, direction);
        for (const column of this.table(s.table).primaryKey) query = query.orderBy(column);
        if (s.limit !== undefined) query = query.limit(s.limit);
        if (s.lock === 'update') query = query.forUpdate();
        if (s.lock === 'share') query = query.forShare();
        if (s.lock === 'no-key-update') query = query.forNoKeyUpdate();
        if (s.lock === 'key-share') query = query.forKeyShare();
        if (s.lock && s.skipLocked) query = query.skipLocked();
        if (s.lock && s.nowait) query = query.noWait();
        return compiled(query.compile());
      }
      case 'update': {
        const set: Record<string, unknown> = {};
        for (const [column, assignment] of Object.entries(s.set as Record<string, Assignment<Value>>)) {
          set[column] = typeof assignment === 'object' && assignment !== null ? sql`${sql.ref(column)} + ${exact(assignment.add)}` : exact(assignment);
        }
        // An empty SET list still writes a new version of each matching row, as the model does.
        if (Object.keys(set).length === 0) {
          const key = this.table(s.table).primaryKey[0];
          set[key] = sql.ref(key);
        }
        return compiled(filtered(db.updateTable(s.table).set(set), s.where).returningAll().compile());
      }
      case 'insert': {
        // No rows: nothing to insert, but the statement still reads (and takes a snapshot) like the model's.
        if (s.rows.length === 0) return compiled(db.selectFrom(s.table).selectAll().where(sql<SqlBool>`false`).compile());
        let query = db.insertInto(s.table).values(s.rows.map((row) => exactRow(this.inColumnOrder(s.table, row as Row))));
        if (s.onConflict === 'nothing') query = query.onConflict((oc) => oc.doNothing());
        else if (s.onConflict !== undefined) query = query.onConflict((oc) => conflictUpdate(oc, s.table, s.onConflict as ConflictUpdate));
        return compiled(query.returningAll().compile());
      }
      case 'delete':
        return compiled(filtered(db.deleteFrom(s.table), s.where).returningAll().compile());
      case 'advisory-lock':
        return {
          sql: s.try === true ? 'select pg_try_advisory_xact_lock($1) as locked' : 'select pg_advisory_xact_lock($1)',
          parameters: [runSchema.test(this.schemaName) ? advisoryKey(s.key, this.schemaName) : exact(s.key)],
        };
      case 'savepoint':
        return { sql: `savepoint ${quoteIdentifier(s.name)}`, parameters: [] };
      case 'rollback-to':
        return { sql: `rollback to savepoint ${quoteIdentifier(s.name)}`, parameters: [] };
      case 'release':
        return { sql: `release savepoint ${quoteIdentifier(s.name)}`, parameters: [] };
      case 'commit':
        return { sql: 'commit', parameters: [] };
      case 'rollback':
        return { sql: 'rollback', parameters: [] };
    }
  }

  /** `begin isolation level ...` for a new transaction. */
  begin(isolation: IsolationLevel): string {
    return isolationSql[isolation];
  }

  /** Creates the run schema and every table, as one script of several statements. */
  createSchemaScript(): string {
    const statements = [this.db.schema.createSchema(this.schemaName).compile().sql];
    for (const name of tablesParentsFirst(this.schema)) {
      const table = this.schema[name];
      let create = this.db.schema.withSchema(this.schemaName).createTable(name);
      for (const [column, declared] of Object.entries(table.columns)) {
        create = create.addColumn(column, columnTypes[columnType(declared)], (c) => (isNullable(declared) ? c : c.notNull()));
      }
      for (const columns of uniqueIndexes(table)) {
        const constraint = constraintName(name, table, columns);
        create =
          columns === table.primaryKey
            ? create.addPrimaryKeyConstraint(constraint, columns as never[])
            : create.addUniqueConstraint(constraint, columns as never[]);
      }
      for (const fk of table.foreignKeys ?? []) {
        const onDelete = fk.onDelete === 'cascade' ? 'cascade' : fk.onDelete === 'restrict' ? 'restrict' : 'no action';
        create = create.addForeignKeyConstraint(foreignKeyName(name, fk), fk.columns as never[], `${this.schemaName}.${fk.references.table}`, fk.references.columns as never[], (c) => c.onDelete(onDelete));
      }
      // Never vacuumed nor analysed during a run: the planner keeps choosing the scans the model assumes (see `startStatement`'s heap order).
      statements.push(create.modifyEnd(sql`with (autovacuum_enabled = false)`).compile().sql);
    }
    return script(statements);
  }

  /** Drops the run schema and everything in it. */
  dropSchemaScript(): string {
    return this.db.schema.dropSchema(this.schemaName).ifExists().cascade().compile().sql;
  }

  /**
   * Empties every table and inserts `seed`, as one script with the values
   * written as literals (the simple query protocol takes no parameters).
   * Strings are quoted by doubling `'`, which is safe with
   * `standard_conforming_strings` on (the default, and set by the backend).
   */
  resetScript(seed: Tables): string {
    const db = this.db.withSchema(this.schemaName);
    const names = Object.keys(this.schema);
    const statements = [sql`truncate ${sql.join(names.map((n) => sql.table(`${this.schemaName}.${n}`)))}`.compile(this.db).sql];
    // Referenced tables first, so that every child row finds its parent.
    for (const name of tablesParentsFirst(this.schema)) {
      const rows = seed[name] ?? [];
      if (rows.length === 0) continue;
      const literals = rows.map((row) => Object.fromEntries(Object.entries(this.inColumnOrder(name, row)).map(([c, v]) => [c, typeof v === 'number' && !Number.isSafeInteger(v) ? sql.raw(String(exact(v))) : sql.lit(v)])));
      statements.push(db.insertInto(name).values(literals).compile().sql);
    }
    return script(statements);
  }

  /** Reads every table's committed rows in primary-key order, one statement per table in schema order. */
  tablesScript(): string {
    const db = this.db.withSchema(this.schemaName);
    return script(
      Object.entries(this.schema).map(([name, table]) => {
        let query = db.selectFrom(name).selectAll();
        for (const column of table.primaryKey) query = query.orderBy(column);
        return query.compile().sql;
      }),
    );
  }

  private table(name: string): TableSchema {
    const table = this.schema[name];
    if (!table) throw new Error(`unknown table ${name}`);
    return table;
  }

  /** The row's values keyed in the table's column order, so the SQL column list does not depend on how the row was written. */
  private inColumnOrder(table: string, row: Row): Row {
    const out: Row = {};
    for (const column of Object.keys(this.table(table).columns)) if (column in row) out[column] = row[column];
    return out;
  }
}

/**
 * Adds one `where` per column condition (kysely joins them with `and`); no
 * conditions, no where clause. Null is `IS NULL`, `{ ne: null }` `IS NOT
 * NULL`, `{ in: [...] }` an `IN` list, a range its two bounds; any other
 * comparison with null is written as such (`>= NULL`), which matches nothing.
 */
function filtered<Q extends { where(...args: any[]): any }>(query: Q, where: Where<Row>): Q {
  for (const [column, condition] of Object.entries(where) as [string, Condition<Value>][]) {
    if (condition === null) {
      query = query.where(column, 'is', null);
    } else if (!isComparison(condition)) {
      query = query.where(column, '=', exact(condition));
    } else {
      for (const [op, value] of Object.entries(condition) as [string, Value | readonly Value[]][]) {
        if (op === 'in') query = query.where(column, 'in', (value as readonly Value[]).map(exact));
        else if (op === 'ne' && value === null) query = query.where(column, 'is not', null);
        else query = query.where(column, comparisonOperators[op], exact(value as Value));
      }
    }
  }
  return query;
}

/**
 * `ON CONFLICT (columns) DO UPDATE SET ... [WHERE ...]`. The existing row's
 * columns are written qualified by the table's name (`"t"."n" + 1`, `where
 * "t"."n" < 10`): unqualified, PostgreSQL finds them ambiguous with
 * `excluded`'s.
 */
function conflictUpdate(oc: OnConflictBuilder<any, any>, table: string, spec: ConflictUpdate): OnConflictUpdateBuilder<any, any> {
  const set: Record<string, unknown> = {};
  for (const [column, a] of Object.entries(spec.update as Record<string, unknown>)) {
    if (typeof a !== 'object' || a === null) set[column] = exact(a as Value);
    else if ('excluded' in a) set[column] = sql.ref(`excluded.${(a as { excluded: string }).excluded}`);
    else set[column] = sql`${sql.ref(`${table}.${column}`)} + ${exact((a as { add: number }).add)}`;
  }
  const update = oc.columns(spec.columns as string[]).doUpdateSet(set);
  if (spec.where === undefined) return update;
  const qualified: Record<string, Condition<Value>> = {};
  for (const [column, c] of Object.entries(spec.where)) qualified[`${table}.${column}`] = c as Condition<Value>;
  return filtered(update, qualified);
}

/** A savepoint name as a quoted identifier (PostgreSQL's message names it as written). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A run schema's name, `lockstep_<hex>` (`PostgresBackend`). */
const runSchema = /^lockstep_[0-9a-f]{12}$/;

/** The rows of an advisory lock statement as the model gives them: none, or for the try form `{ locked }`. */
export function advisoryLockRows(s: AdvisoryLockStatement, rows: readonly Record<string, unknown>[]): Row[] {
  return s.try === true ? [{ locked: rows[0].locked === true }] : [];
}

/**
 * The row an aggregate select returns as the model gives it: `node-postgres`
 * reads `count(*)` (a bigint) and `sum` (a bigint over an int column, a
 * numeric over a bigint one) as strings of digits; the model's numbers are
 * those digits read as the nearest JavaScript number, and a sum of no rows
 * is null on both.
 */
export function aggregateRows(s: SelectStatement, rows: readonly Record<string, unknown>[]): Row[] {
  const v = rows[0][s.aggregate === 'count' ? 'count' : 'sum'];
  return [s.aggregate === 'count' ? { count: Number(v) } : { sum: v === null ? null : Number(v) }];
}

/**
 * The advisory lock key a run sends for `key`: advisory locks belong to the
 * database, not to the run schema, so runs sharing a database (parallel
 * tests, workers) would share keys. Each run's keys are shifted by a number
 * drawn from its schema name (its random hex times 2^16, wrapping in bigint's
 * range): distinct keys stay distinct, and the keys of two runs meet only
 * if two of their keys differ by the difference of their shifts. Only a
 * run schema's statements are shifted: reports and isolationtester specs
 * show the key as written.
 */
export function advisoryKey(key: number, schemaName: string): string {
  let h = 0xcbf29ce484222325n;
  for (const c of schemaName) h = BigInt.asUintN(64, (h ^ BigInt(c.codePointAt(0)!)) * 0x100000001b3n);
  const shift = BigInt.asUintN(48, h) << 16n;
  return BigInt.asIntN(64, BigInt(key) + shift).toString();
}

/**
 * A value as `pg` must send it: a whole number past 2^53 (a bigint) as its
 * exact digits, since `String` writes the shortest digits that read back as
 * the same double (`2 ** 62` would go as 4611686018427388000, not
 * 4611686018427387904). PostgreSQL reads the text as the column's type.
 */
function exact(v: Value): Value {
  return typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? BigInt(v).toString() : v;
}

function exactRow(row: Row): Row {
  const out: Row = {};
  for (const column in row) out[column] = exact(row[column]);
  return out;
}

function compiled(query: { readonly sql: string; readonly parameters: readonly unknown[] }): CompiledSql {
  return { sql: query.sql, parameters: query.parameters as readonly Value[] };
}

function script(statements: readonly string[]): string {
  return statements.join(';\n');
}
