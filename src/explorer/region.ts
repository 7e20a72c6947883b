import type { Row, Value } from '../model/schema.ts';
import { isComparison, type Condition, type UpdateStatement } from '../model/statement.ts';

/**
 * A set of rows of one table, as a conjunction of column conditions (a
 * where-clause): `{}` is the whole table, `{ id: 1 }` the row with key 1.
 */
export type Region = Readonly<Record<string, Condition<Value>>>;

/** False only when no row can satisfy both conjunctions: some column's two conditions exclude each other. */
export function intersects(a: Region, b: Region): boolean {
  for (const column in a) {
    if (!Object.hasOwn(b, column)) continue;
    if (!compatible(a[column], b[column])) return false;
  }
  return true;
}

/** A condition as bounds: an equality, a lower or upper bound, or "not equal". */
type Bound = { kind: 'eq'; v: Value } | { kind: 'ne'; v: Value } | { kind: 'lower' | 'upper'; v: Value; strict: boolean };

function boundOf(c: Condition<Value>): Bound {
  if (!isComparison(c)) return { kind: 'eq', v: c };
  const o = c as { gte?: Value; gt?: Value; lte?: Value; lt?: Value; ne?: Value };
  if (o.gte !== undefined) return { kind: 'lower', v: o.gte, strict: false };
  if (o.gt !== undefined) return { kind: 'lower', v: o.gt, strict: true };
  if (o.lte !== undefined) return { kind: 'upper', v: o.lte, strict: false };
  if (o.lt !== undefined) return { kind: 'upper', v: o.lt, strict: true };
  return { kind: 'ne', v: o.ne as Value };
}

/** Values the engine compares with `<` and `>` the same way on both sides (numbers with numbers, strings with strings). */
function comparable(x: Value, y: Value): boolean {
  return (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
}

/** True when a value satisfies a condition, as `matches` in the statement language decides it. */
function satisfies(v: Value, b: Bound): boolean {
  switch (b.kind) {
    case 'eq':
      return v === b.v;
    case 'ne':
      return v !== b.v;
    case 'lower':
      return b.strict ? v! > b.v! : v! >= b.v!;
    case 'upper':
      return b.strict ? v! < b.v! : v! <= b.v!;
  }
}

/** Whether some value can satisfy both conditions; true when unsure (mixed types, `ne`). */
function compatible(x: Condition<Value>, y: Condition<Value>): boolean {
  const a = boundOf(x);
  const b = boundOf(y);
  if (a.kind === 'eq' && b.kind === 'eq') return a.v === b.v;
  if (a.kind === 'eq' || b.kind === 'eq') {
    const [e, o] = a.kind === 'eq' ? [a, b] : [b, a];
    if (o.kind === 'ne') return e.v !== o.v;
    return comparable(e.v, o.v) ? satisfies(e.v, o) : true;
  }
  if (a.kind === 'ne' || b.kind === 'ne' || a.kind === b.kind || !comparable(a.v, b.v)) return true;
  const lower = a.kind === 'lower' ? a : (b as typeof a);
  const upper = a.kind === 'upper' ? a : (b as typeof a);
  // Over the reals: a lower bound l and an upper bound u leave a value unless l > u, or l = u with either strict.
  if (lower.v! < upper.v!) return true;
  return lower.v === upper.v && !lower.strict && !upper.strict;
}

/** The primary key of the row a where-condition pins with equalities on every key column, or null (a predicate). */
export function pinnedKey(pk: readonly string[], where: Record<string, unknown>): Region | null {
  const region: Record<string, Condition<Value>> = {};
  for (const c of pk) {
    const v = where[c];
    if (v === undefined || isComparison(v as never)) return null;
    region[c] = v as Value;
  }
  return region;
}

/** Only the conditions on `columns`. */
export function project(region: Region, columns: readonly string[]): Region {
  const out: Record<string, Condition<Value>> = {};
  for (const c of columns) if (Object.hasOwn(region, c)) out[c] = region[c];
  return out;
}

/** The region the rows an update wrote lie in: its where-clause with the SET list applied (a column set to a constant is that constant; `add` shifts the condition). */
export function updatedRegion(where: Region, set: UpdateStatement['set']): Region {
  const out: Record<string, Condition<Value>> = { ...where };
  for (const column in set as Record<string, unknown>) {
    const a = (set as Record<string, unknown>)[column];
    if (typeof a !== 'object' || a === null) {
      out[column] = a as Value;
      continue;
    }
    const shifted = shift(where[column], (a as { add: number }).add);
    if (shifted === undefined) delete out[column];
    else out[column] = shifted;
  }
  return out;
}

/** A condition on a number column after `column = column + add`; undefined when unknown. */
function shift(c: Condition<Value> | undefined, add: number): Condition<Value> | undefined {
  if (c === undefined) return undefined;
  if (!isComparison(c)) return typeof c === 'number' ? c + add : undefined;
  const [op, v] = Object.entries(c as object)[0] as [string, Value];
  return typeof v === 'number' ? ({ [op]: v + add } as unknown as Condition<Value>) : undefined;
}

/** The conjunction that matches exactly this row. */
export function rowRegion(row: Row): Region {
  return row as Region;
}
