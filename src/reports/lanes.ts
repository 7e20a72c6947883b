import type { TxId } from '../adapters/backend.ts';
import type { Dependency } from '../adapters/memory/dependency-graph.ts';
import type { Row } from '../model/schema.ts';

/**
 * A swimlane diagram before layout: one lane per transaction, one row per
 * logical step of the schedule, a box for each statement at the step it ran
 * (or was released at), lock waits, and dependency edges between boxes.
 * Counterexamples and replays are both turned into one (`counterexample-lanes.ts`,
 * `replay-lanes.ts`); `lane-layout.ts` places it and `lanes-svg.ts` draws it.
 */
export interface LaneDiagram {
  /** Prefix of every id the drawing defines, unique within a page. */
  readonly idPrefix: string;
  readonly lanes: readonly Lane[];
  readonly rows: readonly LaneRow[];
  readonly boxes: readonly LaneBox[];
  readonly waits: readonly LaneWait[];
  readonly edges: readonly LaneEdge[];
}

export interface Lane {
  readonly tx: TxId;
  /** What the transaction runs: `deduct {"user":1,"amount":300}`. */
  readonly caption: string;
}

/** How a line of a box reads: the statement, a row read or written, an error, and so on. */
export type LineTone = 'statement' | 'result' | 'write' | 'error' | 'muted' | 'wait' | 'match' | 'mismatch';

export interface LaneLine {
  readonly text: string;
  readonly tone: LineTone;
}

/** How a statement ended, drawn as an icon: a commit, a rollback, an error (with its code), a wait, a release. */
export type BoxMark = 'commit' | 'rollback' | 'error' | 'blocked' | 'released';

export interface LaneBox {
  /** Unique within the diagram (prefix excluded). */
  readonly id: string;
  readonly lane: number;
  readonly row: number;
  readonly lines: readonly LaneLine[];
  readonly mark?: BoxMark;
  /** An SQLSTATE shown beside an error mark. */
  readonly code?: string;
  /** The step where the damage happens, or a replay's first divergent step. */
  readonly emphasis?: 'damage' | 'divergence';
  /** A small tag above the box, e.g. `attempt 2`. */
  readonly tag?: string;
  /** The whole box in words, for a tooltip and screen readers. */
  readonly title: string;
}

export interface LaneRow {
  /** The step number people read (1-based). */
  readonly step: number;
  readonly band?: 'damage' | 'divergence';
  /** A few words under the step number: `damage`, `diverged`, `race`. */
  readonly note?: string;
}

/** A statement waiting for a lock: from the row it was submitted at to the row it was released at. */
export interface LaneWait {
  readonly lane: number;
  readonly fromRow: number;
  /** Undefined when the run ended while it waited. */
  readonly toRow?: number;
  /** Lanes of the transactions it waited for. */
  readonly blockers: readonly number[];
  /** The box of the waiting statement, and of the step that released it. */
  readonly waiting: string;
  readonly released?: string;
  readonly releasedBy?: string;
}

/** A dependency between two statements (boxes), as in Adya's serialization graph. */
export interface LaneEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: Dependency['kind'];
  /** `rw accounts(1)`. */
  readonly label: string;
}

/** What a transaction runs, as its lane's caption: `deduct {"user":1,"amount":300}`, or the operation alone when it takes no arguments. */
export function operationCaption(operation: string, args: unknown): string {
  return args === null || args === undefined ? operation : `${operation} ${JSON.stringify(args)}`;
}

/** A row in words: `id=1 balance=3000`. */
export function formatRow(row: Row): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`)
    .join(' ');
}

/** At most `max` rows as lines, the rest counted. */
export function rowLines(rows: readonly Row[], prefix: string, tone: LineTone, max = 3): LaneLine[] {
  const shown = rows.length > max ? rows.slice(0, max - 1) : rows;
  const lines = shown.map((r) => ({ text: `${prefix}${formatRow(r)}`, tone }));
  if (shown.length < rows.length) lines.push({ text: `… and ${rows.length - shown.length} more rows`, tone: 'muted' });
  return lines;
}
