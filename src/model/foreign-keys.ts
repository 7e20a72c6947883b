import { show } from './check-statement.ts';
import { columnType, foreignKeyName, indexOn, tablesParentsFirst, uniqueIndexes, type ColumnType, type ForeignKey, type Row, type Schema, type TableSchema } from './schema.ts';

/**
 * A schema's foreign keys, resolved once: for each child table the keys it
 * declares, for each parent table the keys referencing it (in the order
 * PostgreSQL fires their triggers: the order the constraints were created,
 * child tables in creation order), and the definition checks `checkScenario`
 * makes of them.
 */

/** One foreign key with both ends named: `child(columns)` references `parent(parentColumns)`. */
export interface ResolvedForeignKey {
  /** PostgreSQL's default constraint name, `<child>_<columns>_fkey`. */
  readonly name: string;
  readonly child: string;
  readonly columns: readonly string[];
  readonly parent: string;
  readonly parentColumns: readonly string[];
  readonly onDelete: 'no-action' | 'restrict' | 'cascade';
}

interface Resolved {
  readonly byChild: ReadonlyMap<string, readonly ResolvedForeignKey[]>;
  readonly byParent: ReadonlyMap<string, readonly ResolvedForeignKey[]>;
}

const resolvedBySchema = new WeakMap<Schema, Resolved>();
const none: readonly ResolvedForeignKey[] = [];

function resolved(schema: Schema): Resolved {
  let r = resolvedBySchema.get(schema);
  if (r === undefined) {
    const byChild = new Map<string, ResolvedForeignKey[]>();
    const byParent = new Map<string, ResolvedForeignKey[]>();
    // In creation order: a parent's triggers fire in the order its referencing constraints were made.
    for (const child of tablesParentsFirst(schema)) {
      for (const fk of schema[child].foreignKeys ?? []) {
        const key: ResolvedForeignKey = { name: foreignKeyName(child, fk), child, columns: fk.columns, parent: fk.references.table, parentColumns: fk.references.columns, onDelete: fk.onDelete ?? 'no-action' };
        byChild.set(child, [...(byChild.get(child) ?? []), key]);
        byParent.set(key.parent, [...(byParent.get(key.parent) ?? []), key]);
      }
    }
    resolvedBySchema.set(schema, (r = { byChild, byParent }));
  }
  return r;
}

/** The foreign keys `table` declares (as a child). */
export function foreignKeysOf(schema: Schema, table: string): readonly ResolvedForeignKey[] {
  return resolved(schema).byChild.get(table) ?? none;
}

/** The foreign keys that reference `table` (as a parent). */
export function foreignKeysReferencing(schema: Schema, table: string): readonly ResolvedForeignKey[] {
  return resolved(schema).byParent.get(table) ?? none;
}

/** The child row's referenced key as a where-clause on the parent (`{ id: 3 }`), or null when a column of it is null (MATCH SIMPLE: not checked). */
export function parentWhere(fk: ResolvedForeignKey, child: Row): Row | null {
  const where: Row = {};
  for (let i = 0; i < fk.columns.length; i++) {
    const v = child[fk.columns[i]];
    if (v === null) return null;
    where[fk.parentColumns[i]] = v;
  }
  return where;
}

/** The children of a parent row as a where-clause on the child (`{ product: 3 }`), or null when the referenced key holds a null (no child can reference it). */
export function childWhere(fk: ResolvedForeignKey, parent: Row): Row | null {
  const where: Row = {};
  for (let i = 0; i < fk.columns.length; i++) {
    const v = parent[fk.parentColumns[i]];
    if (v === null) return null;
    where[fk.columns[i]] = v;
  }
  return where;
}

/** True when the two rows hold the same values in the columns a foreign key covers (`columns` on one side, as given). */
export function sameColumns(columns: readonly string[], a: Row, b: Row): boolean {
  for (const c of columns) if (a[c] !== b[c]) return false;
  return true;
}

const deleteActions: readonly unknown[] = ['no-action', 'restrict', 'cascade'];

/** What is wrong with the foreign keys of table `name`, or null. */
export function foreignKeysProblem(schema: Schema, name: string, table: TableSchema): string | null {
  const keys: unknown = table.foreignKeys;
  if (keys === undefined) return null;
  if (!Array.isArray(keys)) return `the foreign keys of table ${name} are ${show(keys)}, not a list of { columns, references: { table, columns } }.`;
  for (const fk of keys as ForeignKey[]) {
    const columns: unknown = fk?.columns;
    const label = `foreign key ${Array.isArray(columns) ? `(${columns.join(', ')})` : show(columns)} of table ${name}`;
    if (!Array.isArray(columns) || columns.length === 0) return `${label} has columns ${show(columns)}; name one or more of its columns ${Object.keys(table.columns).join(', ')}.`;
    for (const column of columns) {
      if (typeof column !== 'string' || !Object.hasOwn(table.columns, column)) return `${label} names column ${nameOf(column)}, which the table does not have; its columns are ${Object.keys(table.columns).join(', ')}.`;
    }
    const parentName: unknown = fk.references?.table;
    if (typeof parentName !== 'string' || !Object.hasOwn(schema, parentName)) return `${label} references table ${nameOf(parentName)}, which the schema does not have; the tables are ${Object.keys(schema).join(', ')}.`;
    const parent = schema[parentName];
    const referenced: unknown = fk.references.columns;
    if (!Array.isArray(referenced) || referenced.length !== columns.length) return `${label} references columns ${show(referenced)} of table ${parentName}; give one referenced column for each of its ${columns.length}.`;
    for (const column of referenced) {
      if (typeof column !== 'string' || !Object.hasOwn(parent.columns, column)) return `${label} references column ${nameOf(column)} of table ${parentName}, which that table does not have; its columns are ${Object.keys(parent.columns).join(', ')}.`;
    }
    if (indexOn(uniqueIndexes(parent), referenced) === undefined) {
      return `${label} references (${referenced.join(', ')}) of table ${parentName}, which is not its primary key or a unique index; PostgreSQL needs one to find the referenced row.`;
    }
    for (let i = 0; i < columns.length; i++) {
      const [a, b] = [family(columnType(table.columns[columns[i]])), family(columnType(parent.columns[referenced[i]]))];
      if (a !== b) return `${label} has column ${columns[i]} of type ${columnType(table.columns[columns[i]])} referencing ${parentName}.${referenced[i]} of type ${columnType(parent.columns[referenced[i]])}; give them the same type.`;
    }
    if (fk.onDelete !== undefined && !deleteActions.includes(fk.onDelete)) return `${label} has onDelete ${show(fk.onDelete)}; it is 'no-action' (the default), 'restrict' or 'cascade'.`;
  }
  return null;
}

/** A name as written when it is a string, else shown as a value. */
function nameOf(v: unknown): string {
  return typeof v === 'string' ? v : show(v);
}

/** int and bigint compare with each other in PostgreSQL, so a foreign key may join them. */
function family(type: ColumnType): string {
  return type === 'bigint' ? 'int' : type;
}

/** A cycle of foreign keys (a table referencing itself included), as `a -> b -> a`, or null. lockstep creates and seeds referenced tables first, so it needs none. */
export function foreignKeyCycle(schema: Schema): string | null {
  const visit = (name: string, path: readonly string[]): string | null => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name].join(' -> ');
    for (const fk of schema[name]?.foreignKeys ?? []) {
      const cycle = visit(fk.references.table, [...path, name]);
      if (cycle) return cycle;
    }
    return null;
  };
  for (const name of Object.keys(schema)) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return null;
}

/** What is wrong with the seed rows of a child table: a row whose referenced parent row is not in the seed (rows already checked against their columns). */
export function seedForeignKeyProblem(schema: Schema, seed: Readonly<Record<string, readonly Row[]>>, name: string): string | null {
  for (const fk of foreignKeysOf(schema, name)) {
    const parents = seed[fk.parent] ?? [];
    const rows = seed[name] ?? [];
    for (let i = 0; i < rows.length; i++) {
      const where = parentWhere(fk, rows[i]);
      if (where === null || parents.some((p) => sameColumns(fk.parentColumns, p, where))) continue;
      const values = fk.columns.map((c) => `${c}=${show(rows[i][c])}`).join(', ');
      return `seed row ${i + 1} of table ${name} has ${values}, which no seed row of table ${fk.parent} has in (${fk.parentColumns.join(', ')}) (foreign key ${fk.name}); seed the referenced row.`;
    }
  }
  return null;
}
