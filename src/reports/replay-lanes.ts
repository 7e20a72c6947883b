import type { TxId } from '../adapters/backend.ts';
import type { Counterexample } from '../explorer/counterexample.ts';
import type { ReplayReport, ReplayStep, StepSide } from '../explorer/replay.ts';
import { operationCaption, type BoxMark, type LaneBox, type LaneDiagram, type LaneLine, type LaneRow, type LaneWait } from './lanes.ts';

const errorCode = /^error ([0-9A-Z]{5})/;

/** A side's outcome as a mark: commit, rollback, error, wait. */
function markOf(statement: string, side: StepSide | { outcome: string }): { mark?: BoxMark; code?: string } {
  const code = errorCode.exec(side.outcome)?.[1];
  if (code) return { mark: 'error', code };
  if (side.outcome.startsWith('blocked')) return { mark: 'blocked' };
  if (statement === 'commit') return { mark: 'commit' };
  if (statement === 'rollback') return { mark: 'rollback' };
  return {};
}

/** The model's and PostgreSQL's outcome, as two lines: the model's, then PostgreSQL's with ✓ or ✗. */
function sideLines(model: string | undefined, postgres: string | undefined, match: boolean): LaneLine[] {
  return [
    { text: `model: ${model ?? '(nothing)'}`, tone: 'result' },
    { text: `PostgreSQL: ${postgres ?? '(nothing)'} ${match ? '✓' : '✗'}`, tone: match ? 'match' : 'mismatch' },
  ];
}

const blockers = (outcome: string): TxId[] => (outcome.startsWith('blocked') ? [...outcome.matchAll(/T(\d+)/g)].map((m) => Number(m[1])) : []);

/**
 * A replay as swimlanes: the same lanes and steps as the counterexample,
 * each box with the model's prediction and what PostgreSQL did (✓ when they
 * agree), released statements where they completed, the first divergent
 * step banded, and the steps where PostgreSQL settled a race noted.
 */
export function replayLanes(report: ReplayReport, cx: Pick<Counterexample, 'transactions'>, idPrefix: string): LaneDiagram {
  const lanes = cx.transactions.map((t) => ({ tx: t.id, caption: operationCaption(t.operation, t.args) }));
  const laneOf = (tx: TxId) => lanes.findIndex((l) => l.tx === tx);
  const boxes: LaneBox[] = [];
  const waits: LaneWait[] = [];
  const at = new Map<string, string>();
  const raced = new Map(report.racesFollowed.map((r) => [r.step, r]));
  const open: { tx: TxId; row: number; blockers: TxId[] }[] = [];
  report.steps.forEach((step: ReplayStep, row) => {
    const diverged = report.firstDivergence === step.index;
    const own = { id: `s${step.index}`, lane: laneOf(step.tx), row };
    const lines: LaneLine[] = [{ text: step.statementText, tone: 'statement' }, ...sideLines(step.model.outcome, step.postgres.outcome, step.match || step.model.outcome === step.postgres.outcome)];
    const race = raced.get(step.index);
    if (race) lines.push({ text: `race: PostgreSQL let T${race.chosen} go first`, tone: 'muted' });
    const { mark, code } = markOf(step.statementText, step.postgres.outcome === step.model.outcome ? step.postgres : step.model);
    boxes.push({
      ...own,
      lines,
      ...(mark ? { mark } : {}),
      ...(code ? { code } : {}),
      ...(diverged ? { emphasis: 'divergence' as const } : {}),
      title: `Step ${step.index}, T${step.tx}: ${lines.map((l) => l.text).join('; ')}`,
    });
    at.set(`${step.tx} ${row}`, own.id);
    const released = [...new Set([...step.model.released, ...step.postgres.released].map((r) => r.tx))].sort((a, b) => a - b);
    for (const tx of released) {
      const m = step.model.released.find((r) => r.tx === tx)?.outcome;
      const p = step.postgres.released.find((r) => r.tx === tx)?.outcome;
      const releasedLines: LaneLine[] = [{ text: 'released', tone: 'muted' }, ...sideLines(m, p, m === p)];
      const id = `r${step.index}-${tx}`;
      const r = markOf('', { outcome: p ?? m ?? '' });
      boxes.push({ id, lane: laneOf(tx), row, lines: releasedLines, mark: r.mark ?? 'released', ...(r.code ? { code: r.code } : {}), title: `Step ${step.index}, T${tx} released: ${releasedLines.map((l) => l.text).join('; ')}` });
      at.set(`${tx} ${row}`, id);
      const waiting = open.findIndex((w) => w.tx === tx);
      if (waiting >= 0) {
        const w = open.splice(waiting, 1)[0];
        waits.push({ lane: laneOf(tx), fromRow: w.row, toRow: row, blockers: w.blockers.map(laneOf).filter((l) => l >= 0), waiting: at.get(`${tx} ${w.row}`)!, released: id, releasedBy: own.id });
      }
    }
    const blockedBy = blockers(step.model.outcome).length ? blockers(step.model.outcome) : blockers(step.postgres.outcome);
    if (blockedBy.length) open.push({ tx: step.tx, row, blockers: blockedBy });
  });
  for (const w of open) waits.push({ lane: laneOf(w.tx), fromRow: w.row, blockers: w.blockers.map(laneOf).filter((l) => l >= 0), waiting: at.get(`${w.tx} ${w.row}`)! });
  const rows: LaneRow[] = report.steps.map((s) =>
    report.firstDivergence === s.index ? { step: s.index, band: 'divergence', note: 'diverged' } : raced.has(s.index) ? { step: s.index, note: 'race' } : { step: s.index },
  );
  return { idPrefix, lanes, rows, boxes, waits, edges: [] };
}
