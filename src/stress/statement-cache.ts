import type { CompiledSql, SqlCompiler } from '../adapters/postgres/sql-compiler.ts';
import type { Value } from '../model/schema.ts';
import { isSavepointControl, type Statement } from '../model/statement.ts';

/** Statement fields whose primitives are values (parameters), null aside; everything else is the statement's shape. */
const valueFields = new Set(['where', 'set', 'rows', 'limit']);

/** Shapes remembered at most (a workload has a handful). */
const maxShapes = 1000;

/** How to build a shape's parameters from its statement's values: SQL once, then the values in kysely's order. */
interface CompiledShape {
  readonly sql: string;
  /** Kysely's parameter i is the statement's value `order[i]` (values in walk order). */
  readonly order: readonly number[];
}

/**
 * The SqlCompiler's output for statements of the same shape (kind, table,
 * columns, comparisons, locks, ordering: everything but the values) is the
 * same SQL with the values as parameters: compiled once per shape with
 * kysely, then reused, so a transaction under load does not pay for
 * building and compiling a query tree at each statement (it would while
 * holding its locks).
 *
 * A shape is learned from a probe, the statement with each value replaced
 * by a distinct stand-in, whose compiled parameters say where each value
 * goes. A shape kysely would write a value into (or with two booleans, which
 * cannot be told apart) is compiled afresh every time.
 *
 * ```ts
 * const cache = new StatementCache(compiler);
 * cache.compile(s); // the same as compiler.statement(s), faster from the second statement of a shape on
 * ```
 */
export class StatementCache {
  private readonly shapes = new Map<string, CompiledShape | null>();

  constructor(private readonly compiler: SqlCompiler) {}

  compile(statement: Statement): CompiledSql {
    if (statement.kind === 'commit' || statement.kind === 'rollback' || statement.kind === 'advisory-lock' || isSavepointControl(statement)) return this.compiler.statement(statement);
    const leaves: Value[] = [];
    const key = shapeKey(statement, leaves);
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      shape = this.learn(statement, leaves.length);
      if (this.shapes.size < maxShapes) this.shapes.set(key, shape);
    }
    if (shape === null) return this.compiler.statement(statement);
    return { sql: shape.sql, parameters: shape.order.map((i) => leaves[i]) };
  }

  private learn(statement: Statement, count: number): CompiledShape | null {
    const stand = standIns(statement, count);
    if (stand === null) return null;
    const probe = this.compiler.statement(stand.statement);
    if (probe.parameters.length !== count) return null;
    const order = probe.parameters.map((p) => stand.values.indexOf(p));
    if (order.some((i) => i === -1) || new Set(order).size !== count) return null;
    return { sql: probe.sql, order };
  }
}

/** The statement's shape as a string; its values pushed to `leaves` in walk order. */
function shapeKey(statement: Statement, leaves: Value[]): string {
  let key = '';
  const walk = (node: unknown, inValues: boolean): void => {
    if (node === null || typeof node !== 'object') {
      // A null is shape, not a value: `{ c: null }` compiles to IS NULL, `{ ne: null }` to IS NOT NULL.
      if (inValues && node !== undefined && node !== null) {
        leaves.push(node as Value);
        key += typeof node === 'number' ? '#n' : typeof node === 'string' ? '#s' : '#b';
      } else {
        key += JSON.stringify(node) ?? 'u';
      }
      return;
    }
    if (Array.isArray(node)) {
      key += '[';
      for (const item of node) {
        walk(item, inValues);
        key += ',';
      }
      key += ']';
      return;
    }
    key += '{';
    for (const [name, value] of Object.entries(node)) {
      key += `${JSON.stringify(name)}:`;
      walk(value, inValues || valueFields.has(name));
      key += ',';
    }
    key += '}';
  };
  walk(statement, false);
  return key;
}

/** The statement with its values replaced by distinct stand-ins (in walk order), or null when two of them would be the same boolean. */
function standIns(statement: Statement, count: number): { statement: Statement; values: Value[] } | null {
  const values: Value[] = [];
  let booleans = 0;
  const rebuild = (node: unknown, inValues: boolean): unknown => {
    if (node === null || typeof node !== 'object') {
      if (!inValues || node === undefined || node === null) return node;
      const i = values.length;
      const stand = typeof node === 'number' ? 1_000_000_007 + i : typeof node === 'string' ? `\u0000lockstep-stand-in-${i}` : ++booleans === 1;
      values.push(stand);
      return stand;
    }
    if (Array.isArray(node)) return node.map((item) => rebuild(item, inValues));
    return Object.fromEntries(Object.entries(node).map(([name, value]) => [name, rebuild(value, inValues || valueFields.has(name))]));
  };
  const rebuilt = rebuild(statement, false) as Statement;
  return booleans > 1 || values.length !== count ? null : { statement: rebuilt, values };
}
