import type { Counterexample } from '../explorer/counterexample.ts';
import { describeStatement, type Statement, type StatementResult } from '../model/statement.ts';
import type { DamageStep } from './damage-step.ts';
import type { StepDependency } from './dependency-steps.ts';
import { operationCaption, rowLines, type BoxMark, type LaneBox, type LaneDiagram, type LaneEdge, type LaneLine, type LaneWait } from './lanes.ts';
import type { RunHistory, StatementRun } from './step-history.ts';

/** What a statement's result says, as box lines and a mark. */
export function resultLines(statement: Statement, result: StatementResult): { lines: LaneLine[]; mark?: BoxMark; code?: string } {
  if (result.error) return { lines: [{ text: `${result.error.code} ${result.error.message}`, tone: 'error' }], mark: 'error', code: result.error.code };
  switch (statement.kind) {
    case 'commit':
      return { lines: [], mark: 'commit' };
    case 'rollback':
      return { lines: [], mark: 'rollback' };
    case 'select':
      return { lines: result.rows.length === 0 ? [{ text: 'read no rows', tone: 'muted' }] : rowLines(result.rows, 'read ', 'result') };
    case 'update':
      return { lines: result.rows.length === 0 ? [{ text: 'changed no rows', tone: 'muted' }] : rowLines(result.rows, 'wrote ', 'write') };
    case 'insert':
      return { lines: result.rows.length === 0 ? [{ text: 'inserted nothing (conflict)', tone: 'muted' }] : rowLines(result.rows, 'inserted ', 'write') };
    case 'delete':
      return { lines: result.rows.length === 0 ? [{ text: 'deleted no rows', tone: 'muted' }] : rowLines(result.rows, 'deleted ', 'write') };
    case 'savepoint':
    case 'rollback-to':
    case 'release':
      return { lines: [{ text: describeStatement(statement), tone: 'muted' }] };
    case 'advisory-lock':
      return { lines: statement.try === true && result.rows[0]?.locked !== true ? [{ text: 'not locked (held by another)', tone: 'muted' }] : [{ text: `locked ${statement.key}`, tone: 'muted' }] };
  }
}

/**
 * A counterexample as a swimlane diagram: its transactions as lanes, its
 * steps as rows, each statement where it ran, a statement that waited where
 * it was submitted and again where it was released, the cycle's dependency
 * edges between the statements that made them, and the damage step.
 */
export function counterexampleLanes(cx: Counterexample, history: RunHistory, cycle: readonly StepDependency[], damage: DamageStep | null, idPrefix: string): LaneDiagram {
  const lanes = cx.transactions.map((t) => ({ tx: t.id, caption: operationCaption(t.operation, t.args) }));
  const laneOf = (tx: number) => lanes.findIndex((l) => l.tx === tx);
  const boxes: LaneBox[] = [];
  const waits: LaneWait[] = [];
  /** The box of each transaction at each row. */
  const at = new Map<string, string>();
  /** The first statement of each database transaction after a transaction's first: a new transaction after a commit, else a retry. */
  const firstOfAttempt = new Map<number, string>();
  history.statements.forEach((s, i) => {
    const earlier = history.statements.slice(0, i).filter((o) => o.tx === s.tx);
    if (s.attempt === 1 || earlier.some((o) => o.attempt === s.attempt)) return;
    const last = earlier[earlier.length - 1];
    const committed = last?.statement.kind === 'commit' && last.result !== undefined && !last.result.error;
    firstOfAttempt.set(i, committed ? `transaction ${s.attempt}` : `retry: attempt ${s.attempt}`);
  });
  const push = (box: LaneBox, tx: number) => {
    boxes.push(box);
    at.set(`${tx} ${box.row}`, box.id);
  };
  const abandonedLine = (tx: number, row: number): LaneLine[] =>
    history.steps[row].abandoned.includes(tx) ? [{ text: 'rolled back: the program gave up', tone: 'muted' }] : [];
  history.steps.forEach((step, row) => {
    const own = history.statements[step.statement];
    const lines: LaneLine[] = [{ text: own.text, tone: 'statement' }];
    let mark: BoxMark | undefined;
    let code: string | undefined;
    if (own.completed === row && own.result) {
      const r = resultLines(own.statement, own.result);
      lines.push(...r.lines);
      mark = r.mark;
      code = r.code;
    } else {
      lines.push({ text: `waits for ${(own.blockedBy ?? []).map((t) => `T${t}`).join(', ') || 'another transaction'}`, tone: 'wait' });
      mark = 'blocked';
    }
    lines.push(...abandonedLine(own.tx, row));
    const emphasis = damage?.step === row && damage.tx === own.tx ? 'damage' : undefined;
    push(
      {
        id: `s${row + 1}`,
        lane: laneOf(own.tx),
        row,
        lines,
        ...(mark ? { mark } : {}),
        ...(code ? { code } : {}),
        ...(emphasis ? { emphasis } : {}),
        ...(firstOfAttempt.has(step.statement) ? { tag: firstOfAttempt.get(step.statement)! } : {}),
        title: `Step ${row + 1}, T${own.tx}: ${lines.map((l) => l.text).join('; ')}`,
      },
      own.tx,
    );
    for (const index of step.released) {
      const released = history.statements[index];
      const r = resultLines(released.statement, released.result!);
      const releasedLines: LaneLine[] = [{ text: `released: ${released.text}`, tone: 'muted' }, ...r.lines, ...abandonedLine(released.tx, row)];
      push(
        {
          id: `r${row + 1}-${released.tx}`,
          lane: laneOf(released.tx),
          row,
          lines: releasedLines,
          mark: r.mark ?? 'released',
          ...(r.code ? { code: r.code } : {}),
          ...(damage?.step === row && damage.tx === released.tx ? { emphasis: 'damage' as const } : {}),
          title: `Step ${row + 1}, T${released.tx} released: ${releasedLines.map((l) => l.text).join('; ')}`,
        },
        released.tx,
      );
    }
  });
  for (const s of history.statements) {
    if (!s.blockedBy) continue;
    waits.push(waitOf(s, laneOf, at, history));
  }
  const edges: LaneEdge[] = [];
  for (const e of cycle) {
    if (e.fromStep === undefined || e.toStep === undefined) continue;
    const from = at.get(`${e.from} ${e.fromStep}`);
    const to = at.get(`${e.to} ${e.toStep}`);
    if (from && to) edges.push({ from, to, kind: e.kind, label: `${e.kind} ${e.item}` });
  }
  const rows = history.steps.map((_, row) => (damage?.step === row ? { step: row + 1, band: 'damage' as const, note: 'damage' } : { step: row + 1 }));
  return { idPrefix, lanes, rows, boxes, waits, edges };
}

function waitOf(s: StatementRun, laneOf: (tx: number) => number, at: Map<string, string>, history: RunHistory): LaneWait {
  const released = s.completed !== undefined ? at.get(`${s.tx} ${s.completed}`) : undefined;
  const releasedBy = s.completed !== undefined ? at.get(`${history.steps[s.completed].tx} ${s.completed}`) : undefined;
  return {
    lane: laneOf(s.tx),
    fromRow: s.submitted,
    ...(s.completed !== undefined ? { toRow: s.completed } : {}),
    blockers: (s.blockedBy ?? []).map(laneOf).filter((l) => l >= 0),
    waiting: at.get(`${s.tx} ${s.submitted}`)!,
    ...(released ? { released } : {}),
    ...(releasedBy && releasedBy !== released ? { releasedBy } : {}),
  };
}
