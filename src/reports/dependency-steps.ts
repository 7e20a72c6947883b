import type { TxId } from '../adapters/backend.ts';
import type { Dependency } from '../adapters/memory/dependency-graph.ts';
import type { Anomaly } from '../explorer/anomaly.ts';
import type { Schema } from '../model/schema.ts';
import { isSavepointControl } from '../model/statement.ts';
import type { RunHistory, StatementRun } from './step-history.ts';

/** An edge of an anomaly's cycle, placed on the steps that made it and told in one sentence. */
export interface StepDependency extends Dependency {
  /** The step (0-based) of `from`'s side: its read for rw, its write for ww and wr; undefined when no step shows it. */
  readonly fromStep?: number;
  /** The step (0-based) of `to`'s side: its write for ww and rw, its read for wr. */
  readonly toStep?: number;
  /** `T1 read accounts(1) at step 1; T2 replaced that version at step 3, so T1 -rw-> T2.` */
  readonly sentence: string;
}

/** A read of aborted or intermediate data (G1a, G1b), placed on the step that read it. */
export interface DirtyReadStep {
  readonly reader: TxId;
  readonly writer: TxId;
  readonly item: string;
  readonly step?: number;
  readonly sentence: string;
}

/**
 * The edges of an anomaly's cycle, in the cycle's order, each with the steps
 * that made it and a sentence naming rows and steps. The edges come from
 * the dependency graph of the run again (`runHistory`); among several edges
 * between the same two transactions, a lost update's two edges share their
 * row, a G2-item's are item edges, otherwise the first in the graph's order.
 *
 * ```ts
 * cycleSteps(history, schema, { class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' })[0].sentence;
 * // 'T1 read accounts(1) at step 1; T2 replaced that version at step 3, so T1 -rw-> T2.'
 * ```
 */
export function cycleSteps(history: RunHistory, schema: Schema, anomaly: Anomaly | null): StepDependency[] {
  const hops = anomaly ? parseCycle(anomaly.cycle) : [];
  if (hops.length === 0) return [];
  const edges = history.graph.edges.filter((e) => e.from !== e.to);
  const chosen: Dependency[] = [];
  for (const hop of hops) {
    let candidates = edges.filter((e) => e.from === hop.from && e.to === hop.to && e.kind === hop.kind);
    if (anomaly!.class === 'G2-item') candidates = candidates.filter((e) => !e.predicate);
    const previous = chosen[chosen.length - 1];
    const sameRow = anomaly!.class === 'lost update' && previous ? candidates.filter((e) => e.item === previous.item) : [];
    const edge = sameRow[0] ?? candidates[0];
    if (!edge) return [];
    chosen.push(edge);
  }
  const facts = new StatementFacts(history, schema);
  return chosen.map((e) => facts.place(e));
}

/** The dirty read of a G1a or G1b anomaly, placed on its step; null for other anomalies. */
export function dirtyReadStep(history: RunHistory, schema: Schema, anomaly: Anomaly | null): DirtyReadStep | null {
  if (!anomaly || (anomaly.class !== 'G1a' && anomaly.class !== 'G1b')) return null;
  const dirty = history.graph.dirtyReads.find((d) => d.kind === anomaly.class);
  if (!dirty) return null;
  const facts = new StatementFacts(history, schema);
  const read = facts.reads(dirty.reader, dirty.item)[0];
  const write = facts.writes(dirty.writer, dirty.item)[0];
  const what = dirty.kind === 'G1a' ? `which T${dirty.writer} later rolled back` : `which T${dirty.writer} overwrote again before it committed`;
  const wrote = write ? ` at step ${write.completed! + 1}` : '';
  const at = read ? ` at step ${read.completed! + 1}` : '';
  return {
    reader: dirty.reader,
    writer: dirty.writer,
    item: dirty.item,
    ...(read ? { step: read.completed } : {}),
    sentence: `T${dirty.reader} read ${dirty.item}${at} as T${dirty.writer} had written it${wrote}, ${what}.`,
  };
}

/** `T1 -rw-> T2 -ww-> T1` as its hops; none for a dirty read's description. */
export function parseCycle(cycle: string): { from: TxId; to: TxId; kind: Dependency['kind'] }[] {
  const nodes = /^T\d+( -(ww|wr|rw)-> T\d+)+$/.test(cycle) ? [...cycle.matchAll(/T(\d+)/g)].map((m) => Number(m[1])) : [];
  const kinds = [...cycle.matchAll(/-(ww|wr|rw)->/g)].map((m) => m[1] as Dependency['kind']);
  return kinds.map((kind, i) => ({ from: nodes[i], to: nodes[i + 1], kind }));
}

/** What each statement of a run read and wrote, by row, to find the steps behind a dependency. */
class StatementFacts {
  constructor(
    private readonly history: RunHistory,
    private readonly schema: Schema,
  ) {}

  private item(table: string, row: Record<string, unknown>): string {
    return `${table}(${this.schema[table].primaryKey.map((c) => String(row[c])).join(',')})`;
  }

  private done(tx: TxId): StatementRun[] {
    return this.history.statements.filter((s) => s.tx === tx && s.completed !== undefined && s.result !== undefined && !s.result.error);
  }

  private touches(s: StatementRun, item: string): boolean {
    const st = s.statement;
    return st.kind !== 'commit' && st.kind !== 'rollback' && st.kind !== 'advisory-lock' && !isSavepointControl(st) && (s.result?.rows ?? []).some((row) => this.item(st.table, row) === item);
  }

  /** Statements of `tx` that read `item` (selects, and updates and deletes, which read the row they change). */
  reads(tx: TxId, item: string): StatementRun[] {
    return this.done(tx).filter((s) => s.statement.kind !== 'insert' && this.touches(s, item));
  }

  writes(tx: TxId, item: string): StatementRun[] {
    return this.done(tx).filter((s) => (s.statement.kind === 'insert' || s.statement.kind === 'update' || s.statement.kind === 'delete') && this.touches(s, item));
  }

  /** Statements of `tx` whose WHERE clause searched `table`; a search happens when the statement starts. */
  private searches(tx: TxId, table: string): StatementRun[] {
    return this.history.statements.filter((s) => s.tx === tx && (s.statement.kind === 'select' || s.statement.kind === 'update' || s.statement.kind === 'delete') && s.statement.table === table);
  }

  /** The step at which `tx` committed the work it did at `step`. */
  private commitAfter(tx: TxId, step: number): number {
    const commit = this.done(tx).find((s) => s.statement.kind === 'commit' && s.completed! >= step);
    return commit ? commit.completed! : Infinity;
  }

  place(e: Dependency): StepDependency {
    const arrow = `T${e.from} -${e.kind}-> T${e.to}`;
    const step = (s: StatementRun | undefined) => (s ? ` at step ${s.completed! + 1}` : '');
    const verb = (s: StatementRun | undefined) => (s?.statement.kind === 'delete' ? 'deleted' : s?.statement.kind === 'insert' ? 'inserted' : 'replaced');
    const placed = (from: StatementRun | undefined, to: StatementRun | undefined, sentence: string, fromAt = from?.completed): StepDependency => ({
      ...e,
      ...(fromAt !== undefined ? { fromStep: fromAt } : {}),
      ...(to ? { toStep: to.completed } : {}),
      sentence,
    });
    if (e.kind === 'ww') {
      const theirs = this.writes(e.from, e.item);
      const to = this.writes(e.to, e.item).find((w) => theirs.some((t) => t.completed! < w.completed!)) ?? this.writes(e.to, e.item)[0];
      const from = to ? theirs.filter((t) => t.completed! < to.completed!).pop() : theirs[0];
      const overwrote = to?.statement.kind === 'delete' ? 'deleted it' : 'overwrote it';
      const wrote = from?.statement.kind === 'insert' ? 'inserted' : 'wrote';
      return placed(from, to, `T${e.from} ${wrote} ${e.item}${step(from)}; T${e.to} ${overwrote}${step(to)}, so ${arrow}.`);
    }
    if (e.kind === 'wr') {
      const theirs = this.writes(e.from, e.item);
      const to = this.reads(e.to, e.item).find((r) => theirs.some((w) => this.commitAfter(e.from, w.completed!) <= r.completed!)) ?? this.reads(e.to, e.item)[0];
      const from = to ? (theirs.filter((w) => this.commitAfter(e.from, w.completed!) <= to.completed!).pop() ?? theirs[0]) : theirs[0];
      const wrote = from?.statement.kind === 'insert' ? 'inserted' : 'wrote';
      return placed(from, to, `T${e.from} ${wrote} ${e.item}${step(from)}; T${e.to} read that version${step(to)}, so ${arrow}.`);
    }
    const writes = this.writes(e.to, e.item);
    if (e.predicate) {
      const table = e.item.slice(0, e.item.indexOf('('));
      const to = writes[0];
      const searches = this.searches(e.from, table);
      const from = searches.find((s) => !to || s.submitted < this.commitAfter(e.to, to.completed!)) ?? searches[0];
      const how = to?.statement.kind === 'insert' ? 'inserted' : to?.statement.kind === 'delete' ? 'deleted' : 'changed';
      const searched = from ? `T${e.from}'s "${from.text}" at step ${from.submitted + 1}` : `A search of T${e.from}`;
      return placed(from, to, `${searched} did not see ${e.item}, which T${e.to} ${how}${step(to)}, so ${arrow}.`, from?.submitted);
    }
    const reads = this.reads(e.from, e.item);
    const from = reads.find((r) => writes.some((w) => r.completed! < this.commitAfter(e.to, w.completed!))) ?? reads[0];
    const to = (from ? writes.find((w) => from.completed! < this.commitAfter(e.to, w.completed!)) : undefined) ?? writes[0];
    return placed(from, to, `T${e.from} read ${e.item}${step(from)}; T${e.to} ${verb(to)} that version${step(to)}, so ${arrow}.`);
  }
}
