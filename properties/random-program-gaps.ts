import { releasedStatement, type RunPlan, type Trace } from '../src/explorer/runner.ts';
import type { Row } from '../src/model/schema.ts';
import { isComparison, isSavepointControl, SqlState, type Where } from '../src/model/statement.ts';

/**
 * Why a random statement program's run falls in a documented model gap, or
 * null when its replay must match: the filter of the random-program property
 * (properties/random-programs.test.ts, which documents each gap) and of the
 * soak (bench/soak.ts). `onConflictSkipReads` is true on PostgreSQL
 * before 17.
 */
export function knownGap(spec: RunPlan, trace: Trace, onConflictSkipReads: boolean): string | null {
  const deadKeys = uncommittedKeys(trace);
  // Doomed as far as the trace tells: it fails with 40001 later; or it rolls back (a doomed transaction whose program ends with ROLLBACK never fails in the model).
  const failsLater = (tx: number) => trace.outcomes.some((o) => o.id === tx && (o.error?.code === SqlState.serializationFailure || (o.fate === 'rolled-back' && !o.error)));
  for (const step of trace.steps) {
    const s = step.statement;
    const own = step.events.find((e) => e.tx === step.tx);
    const released = step.events.filter((e) => e.tx !== step.tx && e.kind === 'completed').map((e) => releasedStatement(trace.steps, step, e.tx));
    if (released.some((r) => r.kind === 'select' && r.lock === 'key-share') && released.some((r) => r.kind === 'update' || r.kind === 'delete')) {
      return 'a FOR KEY SHARE woken with a writer under read committed (if the writer updates the row first, PostgreSQL follows the update chain and waits for it; the model rechecks the committed version)';
    }
    const skipped = s.kind === 'insert' && s.onConflict === 'nothing' && own?.kind === 'completed' && (own.result.rows?.length ?? s.rows.length) < s.rows.length;
    if (spec.isolation === 'serializable' && skipped && onConflictSkipReads) {
      return 'ON CONFLICT DO NOTHING skipped a row under serializable on PostgreSQL before 17 (which reads the conflicting row for SSI)';
    }
    if (spec.isolation === 'serializable' && onConflictSkipReads && upsertMetConflict(trace, step)) {
      return 'ON CONFLICT met a conflicting row (DO UPDATE updated or left it, or 40001 on a row its snapshot does not see) under serializable on PostgreSQL before 17 (which reads that row for SSI)';
    }
    if (spec.isolation === 'serializable' && s.kind === 'select' && s.limit !== undefined && keysOf(s.where).length === 0) {
      return 'a select with a LIMIT under serializable (PostgreSQL may scan the primary key index and stop at the LIMIT, locking finer than the model’s sequential scan)';
    }
    if (spec.isolation === 'serializable' && s.kind !== 'insert' && s.kind !== 'commit' && s.kind !== 'rollback' && s.kind !== 'advisory-lock' && !isSavepointControl(s) && keyRange(s.where)) {
      return 'IS NULL, an IN list or a range on an indexed column under serializable (PostgreSQL plans a bitmap index scan, whose SIREAD locks are finer than the model’s sequential scan)';
    }
    if (spec.isolation === 'serializable' && s.kind !== 'insert' && s.kind !== 'commit' && s.kind !== 'rollback' && s.kind !== 'advisory-lock' && !isSavepointControl(s) && failsLater(step.tx) && keysOf(s.where).some((key) => deadKeys.has(key))) {
      return 'a doomed serializable transaction looked up a key of an uncommitted row version (PostgreSQL still examines its index entry)';
    }
  }
  return null;
}

/**
 * True when an ON CONFLICT statement that completed at `step` (its own, or
 * one released there) met a conflicting row, as far as its result tells: it
 * failed with 40001 (the row was not in its snapshot), or, for DO UPDATE,
 * returned fewer rows than it proposed or a row it did not propose.
 */
function upsertMetConflict(trace: Trace, step: Trace['steps'][number]): boolean {
  for (const e of step.events) {
    if (e.kind !== 'completed') continue;
    const s = e.tx === step.tx ? step.statement : releasedStatement(trace.steps, step, e.tx);
    if (s.kind !== 'insert' || s.onConflict === undefined) continue;
    if (e.result.error?.code === SqlState.serializationFailure) return true;
    const rows = e.result.rows;
    if (s.onConflict === 'nothing' || rows === undefined) continue;
    const proposed = new Set(s.rows.map((r) => JSON.stringify(r)));
    if (rows.length < s.rows.length || rows.some((r) => !proposed.has(JSON.stringify(r)))) return true;
  }
  return false;
}

/** `id=…` and `k=…` of a WHERE clause's key equalities (IS NULL is none). */
function keysOf(where: Where<Row>): string[] {
  return ['id', 'k'].filter((c) => c in where && where[c] !== null && !isComparison(where[c])).map((c) => `${c}=${where[c]}`);
}

/** True when the WHERE clause has IS NULL, an IN list or a range on `id` or `k` and no key equality: a bitmap index scan on PostgreSQL. */
function keyRange(where: Where<Row>): boolean {
  return keysOf(where).length === 0 && ['id', 'k'].some((c) => c in where && (where[c] === null || isComparison(where[c])));
}

/** `id=…` and `k=…` of every row version written by a transaction that did not commit, or that rolled back to a savepoint (which may have undone it). */
function uncommittedKeys(trace: Trace): Set<string> {
  const rolledBack = new Set(trace.steps.filter((s) => s.statement.kind === 'rollback-to').map((s) => s.tx));
  const committed = new Set(trace.outcomes.filter((o) => o.fate === 'committed' && !rolledBack.has(o.id)).map((o) => o.id));
  const keys = new Set<string>();
  for (const step of trace.steps) {
    for (const e of step.events) {
      if (committed.has(e.tx) || e.kind !== 'completed' || !e.result.rows) continue;
      const kind = (e.tx === step.tx ? step.statement : releasedStatement(trace.steps, step, e.tx)).kind;
      if (kind === 'insert' || kind === 'update') for (const row of e.result.rows) keys.add(`id=${row.id}`).add(`k=${row.k}`);
    }
    // A failed insert or update may have left its version in the heap and in the indexes before the one that failed.
    const s = step.statement;
    if (committed.has(step.tx)) continue;
    if (s.kind === 'insert') for (const row of s.rows) keys.add(`id=${row.id}`).add(`k=${row.k}`);
    if (s.kind === 'update' && 'k' in s.set) keys.add(`k=${s.set.k}`);
  }
  return keys;
}
