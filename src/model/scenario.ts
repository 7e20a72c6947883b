import type * as fc from 'fast-check';
import type { IsolationLevel, TxId } from './transaction.ts';
import type { DbError } from './statement.ts';
import type { DatabaseOf, Schema, Tables } from './schema.ts';
import type { OperationResult, Program } from './program.ts';

/** One transaction of a workload: which operation it runs, with which arguments. */
export interface WorkloadTx {
  readonly operation: string;
  readonly args: unknown;
}

/** The concurrent transactions of one run, numbered T1, T2, ... in order. */
export type Workload = readonly WorkloadTx[];

/** How a workload transaction ended. `aborted` means a database error its program did not handle. */
export type Fate = 'committed' | 'rolled-back' | 'aborted';

/** What one workload transaction did in a run. */
export interface TxOutcome {
  readonly id: TxId;
  readonly operation: string;
  readonly args: unknown;
  /** The program's return value; undefined when it was aborted by an error it did not handle. */
  readonly result: OperationResult | undefined;
  readonly fate: Fate;
  readonly error?: DbError;
  /** Database transactions the program opened (more than one when it retried). */
  readonly attempts: number;
}

/** What an invariant sees: the seed, the final committed tables and every transaction's outcome. */
export interface RunOutcome<Db = any> {
  readonly initial: { readonly [T in keyof Db]: readonly Db[T][] };
  readonly final: { readonly [T in keyof Db]: readonly Db[T][] };
  readonly outcomes: readonly TxOutcome[];
}

/** A domain rule over a finished run. `check` returns null when it holds, else one sentence saying how it broke. */
export interface Invariant<Db = any> {
  readonly name: string;
  readonly check: (run: RunOutcome<Db>) => string | null;
}

/** Mutable tables handed to the serial spec. */
export type SerialState<Db> = { [T in keyof Db]: Db[T][] };

/** One operation: its arguments and what it does when run alone (the serial spec). */
export interface Operation<Db = any, A = any> {
  readonly args: fc.Arbitrary<A>;
  /** Applies the operation to `state` as if it ran alone, returning what it reports. */
  readonly serial: (state: SerialState<Db>, args: A, ctx: { readonly id: TxId }) => OperationResult;
}

/** Expected verdict of a strategy under an isolation level: what the property suites assert. */
export type Verdict = 'passes' | 'fails';

/** A way of writing the scenario's operations: one program per operation. */
export interface Strategy<Db = any> {
  readonly description: string;
  readonly programs: { readonly [operation: string]: Program<Db, any> };
  /** What lockstep must find for this strategy under each isolation level the scenario supports. */
  readonly expected: Partial<Record<IsolationLevel, Verdict>>;
}

/**
 * A scenario: schema, seed rows, operations under each strategy, invariants,
 * serial spec and arbitraries. Each scenario's whole story is one file of
 * `src/model/`.
 */
export interface Scenario<S extends Schema = Schema, Db = DatabaseOf<S>> {
  readonly id: string;
  readonly title: string;
  readonly schema: S;
  readonly seed: { readonly [T in keyof Db]: readonly Db[T][] };
  readonly isolationLevels: readonly IsolationLevel[];
  readonly operations: { readonly [name: string]: Operation<Db, any> };
  readonly strategies: { readonly [name: string]: Strategy<Db> };
  readonly invariants: readonly Invariant<Db>[];
  /** Transactions per generated workload. */
  readonly transactions: { readonly min: number; readonly max: number };
  /** The workload with SCENARIOS.md's own numbers (for example 10 deductions of 300). */
  readonly canonical: Workload;
}

/** Marks the values `defineScenario` returned, across copies of lockstep (the CLI finds a module's scenarios by it). */
const scenarioBrand = Symbol.for('lockstep.scenario');

/**
 * Declares a scenario with its schema's types checked throughout: every
 * program's statements, seed rows, invariants and serial spec are typed
 * against `DatabaseOf<schema>`, so a misspelt table or column does not
 * compile.
 *
 * ```ts
 * export const giftOnce = defineScenario({
 *   id: 'gift-once', title: 'one welcome gift per user', schema, seed: { gifts: [] },
 *   isolationLevels: ['read-committed'], operations: { claim }, strategies: { naive, unique },
 *   invariants: [oneGiftPerUser], transactions: { min: 2, max: 3 },
 *   canonical: [{ operation: 'claim', args: { user: 1 } }, { operation: 'claim', args: { user: 1 } }],
 * });
 * ```
 */
export function defineScenario<S extends Schema>(scenario: Scenario<S, DatabaseOf<S>>): Scenario {
  Object.defineProperty(scenario, scenarioBrand, { value: true, enumerable: false });
  return scenario as unknown as Scenario;
}

/** True for a value `defineScenario` returned. */
export function isScenario(value: unknown): value is Scenario {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[scenarioBrand] === true;
}

/**
 * The same strategies with only the programs of `operations`: for strategies
 * written once and shared by scenarios that run different operations.
 *
 * ```ts
 * strategies: forOperations(ledgerStrategies, ['deduct']),
 * ```
 */
export function forOperations<Db>(strategies: { readonly [name: string]: Strategy<Db> }, operations: readonly string[]): Record<string, Strategy<Db>> {
  return Object.fromEntries(
    Object.entries(strategies).map(([name, s]) => [name, { ...s, programs: Object.fromEntries(operations.map((o) => [o, s.programs[o]])) }]),
  );
}

/** The seed as plain tables. */
export function seedTables(scenario: Scenario): Tables {
  return scenario.seed as Tables;
}
