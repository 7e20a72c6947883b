import type { TxId } from '../adapters/backend.ts';
import { DefinitionError, LockstepError, thrownName } from '../errors.ts';
import type { OperationResult } from '../model/program.ts';
import { seedTables, type Scenario, type SerialState, type TxOutcome } from '../model/scenario.ts';
import { canonicalTables, sameValues, type Tables } from '../model/schema.ts';

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
  const preferred: TxOutcome[] = [];
  for (const id of finishOrder) {
    const o = participants.find((p) => p.id === id);
    if (o) preferred.push(o);
  }
  let state: Tables | null = seedTables(scenario);
  for (const o of preferred) {
    state = applySerially(scenario, state, o);
    if (!state) break;
  }
  if (state && sameTables(scenario, state, final)) return preferred.map((o) => o.id);
  const order: TxId[] = [];
  return searchOrder(scenario, seedTables(scenario), participants, final, order, new Set()) ? order : null;
}

/** Runs one transaction's operation under the serial spec; null when it would report another result. */
function applySerially(scenario: Scenario, state: Tables, o: TxOutcome): Tables | null {
  const next = cloneTables(state);
  const result = runSerial(scenario, o, next, o.id);
  return sameResult(result, o.result!) ? next : null;
}

/** The serial spec of `tx`'s operation applied to `state` (changed in place); a spec that throws is the scenario's error, named. */
export function runSerial(scenario: Scenario, tx: { readonly operation: string; readonly args: unknown }, state: Tables, id: TxId): OperationResult {
  try {
    return scenario.operations[tx.operation].serial(state as SerialState<any>, tx.args, { id });
  } catch (e) {
    if (e instanceof LockstepError) throw e;
    throw new DefinitionError(`Scenario ${scenario.id}: the serial spec of operation ${tx.operation} threw ${thrownName(e)} on ${JSON.stringify(tx.args)}.`, { cause: e });
  }
}

function searchOrder(scenario: Scenario, state: Tables, remaining: readonly TxOutcome[], final: Tables, order: TxId[], deadEnds: Set<string>): boolean {
  if (remaining.length === 0) return sameTables(scenario, state, final);
  const key = `${[...order].sort((a, b) => a - b).join(',')}|${JSON.stringify(canonicalTables(scenario.schema, state))}`;
  if (deadEnds.has(key)) return false;
  for (let i = 0; i < remaining.length; i++) {
    const next = applySerially(scenario, state, remaining[i]);
    if (!next) continue;
    order.push(remaining[i].id);
    if (searchOrder(scenario, next, [...remaining.slice(0, i), ...remaining.slice(i + 1)], final, order, deadEnds)) return true;
    order.pop();
  }
  deadEnds.add(key);
  return false;
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
      if (!sameValues(columns, rx[i], ry[i])) return false;
    }
  }
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
