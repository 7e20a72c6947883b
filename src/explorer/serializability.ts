import type { TxId } from '../adapters/backend.ts';
import type { OperationResult } from '../model/program.ts';
import type { Scenario, SerialState, TxOutcome } from '../model/scenario.ts';
import { canonicalTables, type Row, type Tables } from '../model/schema.ts';

/**
 * Looks for a serial order of the transactions that ran to a result (those
 * not aborted by an unhandled database error) under which the serial spec
 * gives every transaction the result it reported and leaves the final state.
 * Returns that order, or null when there is none.
 *
 * The order in which the transactions finished is tried first (it is the
 * answer for almost every serializable run); otherwise a depth-first search
 * prunes as soon as a transaction's result differs, and remembers dead ends
 * by the set of transactions applied and the state they produced.
 */
export function findSerialOrder(scenario: Scenario, outcomes: readonly TxOutcome[], final: Tables, finishOrder: readonly TxId[]): TxId[] | null {
  const participants = outcomes.filter((o) => o.fate !== 'aborted');
  const byId = new Map(participants.map((o) => [o.id, o]));
  const initial = scenario.seed as Tables;
  const target = final;

  const apply = (state: Tables, o: TxOutcome): Tables | null => {
    const next = cloneTables(state);
    const result = scenario.operations[o.operation].serial(next as SerialState<any>, o.args, { id: o.id });
    return sameResult(result, o.result!) ? next : null;
  };

  const preferred = finishOrder.filter((id) => byId.has(id));
  let state: Tables | null = cloneTables(initial);
  for (const id of preferred) {
    state = apply(state, byId.get(id)!);
    if (!state) break;
  }
  if (state && sameTables(scenario, state, target)) return preferred;

  const deadEnds = new Set<string>();
  const order: TxId[] = [];
  const search = (state: Tables, remaining: TxOutcome[]): boolean => {
    if (remaining.length === 0) return sameTables(scenario, state, target);
    const key = `${order.slice().sort((a, b) => a - b).join(',')}|${JSON.stringify(canonicalTables(scenario.schema, state))}`;
    if (deadEnds.has(key)) return false;
    for (let i = 0; i < remaining.length; i++) {
      const o = remaining[i];
      const next = apply(state, o);
      if (!next) continue;
      order.push(o.id);
      if (search(next, [...remaining.slice(0, i), ...remaining.slice(i + 1)])) return true;
      order.pop();
    }
    deadEnds.add(key);
    return false;
  };
  return search(cloneTables(initial), participants) ? order : null;
}

function cloneTables(tables: Tables): Tables {
  const out: Tables = {};
  for (const name in tables) out[name] = tables[name].map((r) => ({ ...r }));
  return out;
}

/** Same rows in every table, compared column by column in primary-key order. */
export function sameTables(scenario: Scenario, a: Tables, b: Tables): boolean {
  const x = canonicalTables(scenario.schema, a);
  const y = canonicalTables(scenario.schema, b);
  for (const name in scenario.schema) {
    const columns = Object.keys(scenario.schema[name].columns);
    const rx = x[name];
    const ry = y[name];
    if (rx.length !== ry.length) return false;
    for (let i = 0; i < rx.length; i++) {
      if (!sameRow(columns, rx[i], ry[i])) return false;
    }
  }
  return true;
}

function sameRow(columns: readonly string[], a: Row, b: Row): boolean {
  for (const c of columns) if (a[c] !== b[c]) return false;
  return true;
}

/** Structural equality of operation results. */
export function sameResult(a: OperationResult, b: OperationResult): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in b && sameResult((a as any)[k], (b as any)[k]));
}
