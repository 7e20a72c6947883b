import { createHash } from 'node:crypto';
import type { Event, TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { createTx, StatementFailure } from '../model/program.ts';
import type { Statement, StatementResult } from '../model/statement.ts';
import type { Footprint } from './footprint.ts';
import type { DependencyStep } from './dependency-run.ts';
import type { RunPlan } from './runner.ts';
import type { IdColumns } from './id-columns.ts';
import type { Symmetry } from './symmetry.ts';

/** How a transaction's current attempt stands, as far as the state key cares. */
type Attempt = 'closed' | 'clean' | 'dirty';

/**
 * Names the state a run has reached at a choice point, so that two prefixes
 * with the same name go on in the same ways and end in the same final states
 * with the same results. Two kinds of name:
 *
 * - When the memory engine holds nothing of any unfinished transaction but
 *   what its committed tables show (no statement waits, and no open attempt
 *   holds a lock, a row version or a snapshot; under READ COMMITTED an
 *   attempt that has only run plain selects holds none of these: each
 *   statement's snapshot ends with it): the committed tables (as
 *   `Engine.tables()` shows them) and their heap order
 *   (`Engine.heapOrder()`), every finished transaction's
 *   outcome (its program's result, how each of its attempts ended) and every
 *   unfinished transaction's program state (the results it was given, in
 *   order: programs are deterministic). Committed tables and their heap
 *   order are enough then because older row versions and their commit
 *   order are seen by nobody: every new snapshot sees the newest committed
 *   version, a unique-index check passes over dead versions, a select sorts
 *   its rows by key, and an UPDATE or DELETE meets them in the order of
 *   their line pointers, which only their relative order decides.
 * - Elsewhere (a waiter, a lock, an uncommitted version, a REPEATABLE READ
 *   snapshot): the engine's whole state (`Engine.stateKey`: row
 *   versions in storage order, locks and their queues, each open
 *   transaction's snapshot, waits and half-run statement), the finished
 *   transactions' outcomes and every unfinished transaction's results and
 *   attempt endings so far, as a 128-bit digest. Null where the engine's
 *   name does not cover the state: SERIALIZABLE (SSI bookkeeping outlives
 *   commits), savepoints.
 */
export class StateKeys {
  /** Per transaction: the results its program was given, as JSON (for the key) and as they came (to replay the program). */
  private readonly results: string[][];
  /** Per transaction: `results` and `endings` joined (` ` and `,`), kept up to date for the keys. */
  private readonly resultText: string[];
  private readonly endingText: string[];
  private readonly given: StatementResult[][];
  private readonly endings: string[][];
  private readonly attempts: Attempt[];
  private readonly pending: (Statement | null)[];
  private readonly outcomes = new Map<string, string>();

  /** With interchangeable transactions that write their ids (`id-columns.ts`): the results of their appends are named without the ids. */
  ids?: IdColumns;

  constructor(
    private readonly spec: RunPlan,
    private readonly engine: Engine,
  ) {
    const n = spec.workload.length;
    this.results = Array.from({ length: n + 1 }, () => []);
    this.resultText = new Array<string>(n + 1).fill('');
    this.endingText = new Array<string>(n + 1).fill('');
    this.given = Array.from({ length: n + 1 }, () => []);
    this.endings = Array.from({ length: n + 1 }, () => []);
    this.attempts = new Array<Attempt>(n + 1).fill('closed');
    this.pending = new Array<Statement | null>(n + 1).fill(null);
  }

  /** Starts a new run. */
  reset(): void {
    for (let t = 1; t < this.results.length; t++) {
      this.results[t].length = 0;
      this.resultText[t] = '';
      this.endingText[t] = '';
      this.given[t].length = 0;
      this.endings[t].length = 0;
      this.attempts[t] = 'closed';
      this.pending[t] = null;
    }
  }

  /** `tx` submitted `statement`. */
  submitted(tx: TxId, statement: Statement): void {
    this.pending[tx] = statement;
    if (statement.kind === 'commit' || statement.kind === 'rollback') return;
    if (this.attempts[tx] === 'closed') this.attempts[tx] = 'clean';
    if (statement.kind !== 'select' || statement.lock !== undefined) this.attempts[tx] = 'dirty';
  }

  /** The runner abandoned `tx`'s open attempt (a ROLLBACK after an error its program did not handle). */
  abandoned(tx: TxId): void {
    this.attempts[tx] = 'closed';
    this.ended(tx, 'abandoned');
    this.pending[tx] = null;
  }

  /** Events of a step: results given to programs. */
  events(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind !== 'completed') continue;
      const statement = this.pending[e.tx];
      if (statement === null) continue; // the ROLLBACK of an abandon
      this.pending[e.tx] = null;
      const result = JSON.stringify(this.ids ? this.ids.withoutIds(statement, e.result) : e.result);
      this.resultText[e.tx] += this.results[e.tx].length === 0 ? result : ` ${result}`;
      this.results[e.tx].push(result);
      this.given[e.tx].push(e.result);
      if (statement.kind === 'commit' || statement.kind === 'rollback') {
        this.ended(e.tx, `${statement.kind}${e.result.error ? ` ${e.result.error.code}` : ''}`);
        this.attempts[e.tx] = 'closed';
      } else if (e.result.error) {
        this.ended(e.tx, `failed ${e.result.error.code}`);
        this.attempts[e.tx] = 'dirty';
      }
    }
  }

  /**
   * The key of the state reached, or null where it is not known, with the
   * order in which it names the transactions (`order[k]` is number k + 1).
   * `runnable`: the transactions that can step now. Where every unfinished
   * transaction holds nothing, the committed tables and the programs'
   * states; elsewhere the engine's whole state (`Engine.stateKey`) and the
   * programs'. Each transaction is named by its class (itself, or with
   * `symmetry` the first transaction running the same operation on the
   * same arguments) and its program's state, in the engine's order of
   * naming, then the rest sorted by those: two states with equal keys are
   * the same once the transactions at equal places in their orders are
   * swapped.
   */
  key(runnable: readonly TxId[], symmetry?: Symmetry): { readonly key: string; readonly order: readonly TxId[] } | null {
    if (this.spec.isolation === 'serializable') return null;
    const n = this.spec.workload.length;
    // Tables that hold transactions' ids are left out (`id-columns.ts`): what each transaction's program was given says what they hold.
    const leaveOut = this.ids && this.ids.tables.size > 0 ? this.ids.tables : undefined;
    const classOf = (t: TxId) => symmetry?.classOf[t] ?? t;
    let quiescent = true;
    for (let t = 1; t <= n && quiescent; t++) {
      const attempt = this.attempts[t];
      if (this.engine.isBlocked(t) || attempt === 'dirty' || (attempt === 'clean' && this.spec.isolation !== 'read-committed')) quiescent = false;
    }
    const parts: string[] = [];
    if (quiescent) {
      for (let t = 1; t <= n; t++) parts[t] = `${classOf(t)} ${runnable.includes(t) ? `${this.attempts[t]} ${this.resultText[t]}` : `done ${this.outcome(t)}${this.appended(t)}`}`;
      const all = Array.from({ length: n }, (_, i) => i + 1);
      const order = symmetry ? sortedByPart(all, parts) : all;
      let tables = this.engine.tables();
      if (leaveOut) tables = Object.fromEntries(Object.entries(tables).filter(([name]) => !leaveOut.has(name)));
      return { key: `${JSON.stringify(tables)}\n${this.engine.heapOrder(leaveOut)}\n${order.map((t) => parts[t]).join('\n')}`, order };
    }
    const engine = this.engine.stateKey(leaveOut);
    if (engine === null) return null;
    for (let t = 1; t <= n; t++) {
      const finished = !runnable.includes(t) && !this.engine.isBlocked(t);
      parts[t] = `${classOf(t)} ${finished ? `done ${this.outcome(t)}${this.appended(t)}` : `${this.resultText[t]} | ${this.endingText[t]}`}`;
    }
    const rest: TxId[] = [];
    for (let t = 1; t <= n; t++) if (!engine.txs.includes(t)) rest.push(t);
    const order = [...engine.txs, ...(symmetry ? sortedByPart(rest, parts) : rest)];
    let text = engine.key;
    for (const t of order) text += `\n${parts[t]}`;
    // A digest (128 bits) keeps a large cache small; the engine's names run to a kilobyte.
    return { key: createHash('sha256').update(text).digest('base64').slice(0, 22), order };
  }

  /** What a finished transaction committed to the tables left out of the key (`id-columns.ts`), without its id: an unfinished one's results say it. */
  private appended(tx: TxId): string {
    return this.ids && this.ids.tables.size > 0 ? ` ${this.ids.committedShape(tx)}` : '';
  }

  private ended(tx: TxId, how: string): void {
    this.endingText[tx] += this.endings[tx].length === 0 ? how : `,${how}`;
    this.endings[tx].push(how);
  }

  /** What a finished transaction's program returned (or threw), and how each of its attempts ended: all of it the run's outcome keeps. */
  private outcome(tx: TxId): string {
    const memo = `${tx}\n${this.resultText[tx]}\n${this.endingText[tx]}`;
    let known = this.outcomes.get(memo);
    if (known !== undefined) return known;
    const w = this.spec.workload[tx - 1];
    const program = this.spec.strategy.programs[w.operation](createTx(tx, this.spec.onIdRead), w.args);
    let returned: unknown;
    let thrown: unknown = null;
    try {
      let r = program.next();
      for (const result of this.given[tx]) {
        if (r.done) break;
        r = program.next(result);
      }
      returned = r.done ? r.value : '(unfinished)';
    } catch (e) {
      if (!(e instanceof StatementFailure)) throw e;
      thrown = e.error;
    }
    known = JSON.stringify([returned ?? null, thrown, this.endings[tx]]);
    this.outcomes.set(memo, known);
    return known;
  }
}

/** `txs` ordered by their parts (then by workload position). */
function sortedByPart(txs: TxId[], parts: readonly string[]): TxId[] {
  return txs.sort((a, b) => (parts[a] < parts[b] ? -1 : parts[a] > parts[b] ? 1 : a - b));
}

/** A state explored once: the sleep set it was first explored with and every step taken in the continuations explored from it. */
export interface CachedState {
  /** Transactions asleep when it was first reached, by place in its order (`StateKeys.key`): the continuations starting with their steps were left to other schedules. */
  readonly asleep: readonly number[];
  /** Steps of the continuations explored from it (and from the cached states they reached), one of each kind, as `StateCache.stepId` numbers them. */
  readonly steps: Set<number>;
  /** Every continuation has been explored (its choice point left the search stack). */
  complete: boolean;
}

/** A step with its transactions named by place in a state's order: what decides its dependencies. */
interface PlacedStep {
  readonly tx: number;
  readonly movedOn: readonly number[];
  readonly footprint: Footprint;
  readonly footprintId: number;
}

/** A step of a cached state's continuations, with its footprint's number (`StateCache.footprintId`). */
export interface CachedStep extends DependencyStep {
  readonly footprintId: number;
}

/**
 * A bounded map of explored states: once full, no new state is added
 * (deterministic: the first `capacity` states reached stay). A state's
 * transactions are named by their place in the order of its key
 * (`StateKeys.key`), so a state reached again with other transactions in
 * those places (interchangeable ones, `symmetry.ts`) reads its sleep set and
 * steps in its own transactions. Steps of the summaries are numbered once
 * for the whole search, so a summary is a set of small numbers.
 */
export class StateCache {
  private readonly states = new Map<string, CachedState>();
  private readonly footprintIds = new Map<string, number>();
  private readonly stepIds = new Map<number | string, number>();
  private readonly stepList: PlacedStep[] = [];
  /** Prefixes not run further because they reached an explored state. */
  pruned = 0;

  constructor(readonly capacity: number) {}

  get(key: string): CachedState | undefined {
    return this.states.get(key);
  }

  /** A new entry for a state reached for the first time, or undefined when the cache is full. */
  add(key: string, asleep: Iterable<TxId>, order: readonly TxId[]): CachedState | undefined {
    if (this.states.size >= this.capacity) return undefined;
    const state: CachedState = { asleep: [...asleep].map((t) => order.indexOf(t) + 1), steps: new Set(), complete: false };
    this.states.set(key, state);
    return state;
  }

  /** The transactions asleep when `state` was first reached, as the transactions of `order` (the order of the state reached now). */
  asleep(state: CachedState, order: readonly TxId[]): TxId[] {
    return state.asleep.map((p) => order[p - 1]);
  }

  /** A number for the footprint of a step (equal keys, one number). */
  footprintId(step: DependencyStep): number {
    const key = step.footprint.key();
    let id = this.footprintIds.get(key);
    if (id === undefined) {
      id = this.footprintIds.size;
      this.footprintIds.set(key, id);
    }
    return id;
  }

  /** The number of a step's kind, its transactions named by `place` (steps with equal footprints and places share one). */
  stepId(step: DependencyStep, footprintId: number, place: readonly number[]): number {
    // A number while places fit in a bit mask (up to 20 transactions), else text.
    let key: number | string;
    if (place.length <= 21) {
      let moved = 0;
      for (const t of step.movedOn) if (t !== step.tx) moved |= 1 << place[t];
      key = (footprintId * 32 + place[step.tx]) * 2 ** 22 + moved;
    } else {
      key = `${footprintId}:${place[step.tx]}`;
      for (const t of step.movedOn) if (t !== step.tx) key += `,${place[t]}`;
    }
    let id = this.stepIds.get(key);
    if (id === undefined) {
      id = this.stepList.length;
      this.stepIds.set(key, id);
      this.stepList.push({ tx: place[step.tx], movedOn: step.movedOn.map((t) => place[t]), footprint: step.footprint, footprintId });
    }
    return id;
  }

  /** The steps of a cached state's continuations, as steps of the transactions of `order`. */
  *steps(state: CachedState, order: readonly TxId[]): Generator<CachedStep> {
    for (const id of state.steps) {
      const s = this.stepList[id];
      yield { tx: order[s.tx - 1], movedOn: s.movedOn.map((p) => order[p - 1]), footprint: s.footprint, footprintId: s.footprintId };
    }
  }

  get size(): number {
    return this.states.size;
  }
}

/** Each transaction's place (from 1) in `order`, indexed by transaction. */
export function placesIn(order: readonly TxId[]): number[] {
  const place: number[] = [0];
  order.forEach((t, i) => (place[t] = i + 1));
  return place;
}
