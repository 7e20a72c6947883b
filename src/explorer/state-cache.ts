import { createHash } from 'node:crypto';
import type { Event, TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { createTx, StatementFailure } from '../model/program.ts';
import type { Statement, StatementResult } from '../model/statement.ts';
import type { DependencyStep } from './dependency-run.ts';
import type { RunPlan } from './runner.ts';

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
  private readonly given: StatementResult[][];
  private readonly endings: string[][];
  private readonly attempts: Attempt[];
  private readonly pending: (Statement | null)[];
  private readonly outcomes = new Map<string, string>();

  constructor(
    private readonly spec: RunPlan,
    private readonly engine: Engine,
  ) {
    const n = spec.workload.length;
    this.results = Array.from({ length: n + 1 }, () => []);
    this.given = Array.from({ length: n + 1 }, () => []);
    this.endings = Array.from({ length: n + 1 }, () => []);
    this.attempts = new Array<Attempt>(n + 1).fill('closed');
    this.pending = new Array<Statement | null>(n + 1).fill(null);
  }

  /** Starts a new run. */
  reset(): void {
    for (let t = 1; t < this.results.length; t++) {
      this.results[t].length = 0;
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
    this.endings[tx].push('abandoned');
    this.pending[tx] = null;
  }

  /** Events of a step: results given to programs. */
  events(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind !== 'completed') continue;
      const statement = this.pending[e.tx];
      if (statement === null) continue; // the ROLLBACK of an abandon
      this.pending[e.tx] = null;
      this.results[e.tx].push(JSON.stringify(e.result));
      this.given[e.tx].push(e.result);
      if (statement.kind === 'commit' || statement.kind === 'rollback') {
        this.endings[e.tx].push(`${statement.kind}${e.result.error ? ` ${e.result.error.code}` : ''}`);
        this.attempts[e.tx] = 'closed';
      } else if (e.result.error) {
        this.endings[e.tx].push(`failed ${e.result.error.code}`);
        this.attempts[e.tx] = 'dirty';
      }
    }
  }

  /**
   * The key of the state reached, or null where it is not known. `runnable`:
   * the transactions that can step now. Where every unfinished transaction
   * holds nothing, the committed tables and the programs' states; elsewhere
   * the engine's whole state (`Engine.stateKey`) and the programs'.
   */
  key(runnable: readonly TxId[]): string | null {
    if (this.spec.isolation === 'serializable') return null;
    const n = this.spec.workload.length;
    let quiescent = true;
    for (let t = 1; t <= n && quiescent; t++) {
      const attempt = this.attempts[t];
      if (this.engine.isBlocked(t) || attempt === 'dirty' || (attempt === 'clean' && this.spec.isolation !== 'read-committed')) quiescent = false;
    }
    const parts: string[] = [];
    if (quiescent) {
      for (let t = 1; t <= n; t++) parts.push(runnable.includes(t) ? `${this.attempts[t]} ${this.results[t].join(' ')}` : `done ${this.outcome(t)}`);
      return `${JSON.stringify(this.engine.tables())}\n${this.engine.heapOrder()}\n${parts.join('\n')}`;
    }
    const engine = this.engine.stateKey();
    if (engine === null) return null;
    for (let t = 1; t <= n; t++) {
      const finished = !runnable.includes(t) && !this.engine.isBlocked(t);
      parts.push(finished ? `done ${this.outcome(t)}` : `${this.results[t].join(' ')} | ${this.endings[t].join(',')}`);
    }
    // A digest (128 bits) keeps a large cache small; the engine's names run to a kilobyte.
    return createHash('sha256').update(engine).update('\n').update(parts.join('\n')).digest('base64').slice(0, 22);
  }

  /** What a finished transaction's program returned (or threw), and how each of its attempts ended: all of it the run's outcome keeps. */
  private outcome(tx: TxId): string {
    const memo = `${tx}\n${this.results[tx].join(' ')}\n${this.endings[tx].join(',')}`;
    let known = this.outcomes.get(memo);
    if (known !== undefined) return known;
    const w = this.spec.workload[tx - 1];
    const program = this.spec.strategy.programs[w.operation](createTx(tx), w.args);
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

/** A state explored once: the sleep set it was first explored with and every step taken in the continuations explored from it. */
export interface CachedState {
  /** Transactions asleep when it was first reached: the continuations starting with their steps were left to other schedules. */
  readonly asleep: ReadonlySet<TxId>;
  /** Steps of the continuations explored from it (and from the cached states they reached), one of each kind, as `StateCache.stepId` numbers them. */
  readonly steps: Set<number>;
  /** Every continuation has been explored (its choice point left the search stack). */
  complete: boolean;
}

/** Identifies a step by what decides its dependencies: its transaction, the transactions it moved on, its footprint. */
function stepKey(step: DependencyStep): string {
  return `${step.tx}|${step.movedOn.join(',')}|${step.footprint.key()}`;
}

/**
 * A bounded map of explored states: once full, no new state is added
 * (deterministic: the first `capacity` states reached stay). Steps of the
 * summaries are numbered once for the whole search, so a summary is a set of
 * small numbers.
 */
export class StateCache {
  private readonly states = new Map<string, CachedState>();
  private readonly stepIds = new Map<string, number>();
  private readonly stepList: DependencyStep[] = [];
  /** Prefixes not run further because they reached an explored state. */
  pruned = 0;

  constructor(readonly capacity: number) {}

  get(key: string): CachedState | undefined {
    return this.states.get(key);
  }

  /** A new entry for a state reached for the first time, or undefined when the cache is full. */
  add(key: string, asleep: Iterable<TxId>): CachedState | undefined {
    if (this.states.size >= this.capacity) return undefined;
    const state: CachedState = { asleep: new Set(asleep), steps: new Set(), complete: false };
    this.states.set(key, state);
    return state;
  }

  /** The number of a step's kind (steps with equal `stepKey`s share one). */
  stepId(step: DependencyStep): number {
    const key = stepKey(step);
    let id = this.stepIds.get(key);
    if (id === undefined) {
      id = this.stepList.length;
      this.stepIds.set(key, id);
      this.stepList.push(step);
    }
    return id;
  }

  /** The steps of a cached state's continuations. */
  *steps(state: CachedState): Generator<DependencyStep> {
    for (const id of state.steps) yield this.stepList[id];
  }

  get size(): number {
    return this.states.size;
  }
}
