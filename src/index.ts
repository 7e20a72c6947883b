/**
 * lockstep: finds and proves race conditions in database-backed business
 * logic. Define a scenario (schema, seed rows, operations written once per
 * strategy as transaction programs, invariants), `explore` its schedules on
 * the model of PostgreSQL, and `replay` a counterexample on real PostgreSQL.
 *
 * ```ts
 * import { explore, replay } from 'lockstep';
 * const report = explore({ scenario: giftOnce, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * if (report.counterexample) console.log((await replay(report.counterexample)).status); // 'confirmed'
 * ```
 */

// Defining a scenario
export * as fc from 'fast-check';
export { defineSchema, type Column, type ColumnSpec, type ColumnType, type DatabaseOf, type ForeignKey, type Row, type RowOf, type Schema, type TableSchema, type Tables, type Value } from './model/schema.ts';
export {
  defineScenario,
  forOperations,
  isScenario,
  type Fate,
  type Invariant,
  type Operation,
  type RunOutcome,
  type Scenario,
  type SerialState,
  type Strategy,
  type TxOutcome,
  type Verdict,
  type Workload,
  type WorkloadTx,
} from './model/scenario.ts';
export { isSqlState, StatementFailure, type OperationResult, type Program, type Tx, type TxGenerator } from './model/program.ts';
export { SqlState, type Aggregate, type AdvisoryLockStatement, type ReleaseStatement, type RollbackToStatement, type SavepointStatement, type Assignment, type Changes, type Comparison, type ConflictAssignment, type ConflictUpdate, type Condition, type DbError, type LockMode, type NumberColumn, type Statement, type StatementResult, type Where } from './model/statement.ts';
export { retrying } from './model/retry.ts';
export { runAlone } from './explorer/run-alone.ts';
export { describeTx, everyRequestAnswered, plural, withResult } from './model/invariants.ts';
export { isolationLevels, type IsolationLevel, type TxId } from './model/transaction.ts';

// Checking it
export { explore, exploreAsync, type ExploreOptions, type ExploreProgress, type ExploreReport, type ExploreStats } from './explorer/explore.ts';
export { exploreOnWorkers, exploreShard, mergeShards, type Shard, type ShardedExploration, type ShardResult, type WorkerOptions } from './explorer/parallel.ts';
export { closeWorkerPools } from './explorer/worker-pool.ts';
export type { PartResult, Shrunk, UnitResult } from './explorer/exploration.ts';
export type { SearchMode } from './explorer/search-mode.ts';
export type { Violation } from './explorer/violation.ts';
export type { Anomaly, AnomalyClass } from './explorer/anomaly.ts';
export { counterexampleJson, readCounterexample, writeCounterexample, type Counterexample, type CounterexampleStep } from './explorer/counterexample.ts';
export { formatExploreReport } from './explorer/explore-report.ts';
export { replayCounterexample as replay, type ReplayOptions } from './explorer/replay-counterexample.ts';
export type { ReplayReport, ReplayStep, StepSide } from './explorer/replay.ts';
export { formatReplayReport } from './explorer/replay-report.ts';
export { counterexampleSpec } from './explorer/counterexample-spec.ts';
export { startPostgres, type PostgresServer } from './adapters/postgres/start-postgres.ts';
export { leaveSignalsToCaller } from './adapters/postgres/signals.ts';

// Reports people look at: self-contained HTML, standalone SVG, Markdown summaries
export { renderCounterexampleHtml, renderExploreHtml, type ExploreHtmlOptions, type HtmlReportOptions } from './reports/counterexample-html.ts';
export { renderCounterexampleSvg } from './reports/counterexample-svg.ts';
export { renderReplayHtml } from './reports/replay-html.ts';
export { renderReplaySvg } from './reports/replay-svg.ts';
export { counterexampleMarkdown, exploreMarkdown, replayMarkdown } from './reports/markdown.ts';
export { renderStressHtml } from './reports/stress-html.ts';

// Load on real PostgreSQL
/**
 * `stress(options)`: runs a scenario's programs under real concurrency on
 * PostgreSQL (a `pg` pool shared by logical clients, each transaction a real
 * BEGIN ... COMMIT) and reports latency percentiles from each transaction's
 * intended start, outcomes by result and SQLSTATE, thresholds, and the
 * scenario's invariants over the final tables.
 *
 * ```ts
 * import { stress } from 'lockstep';
 * const report = await stress({ scenario: pointsDeduct, strategy: 'atomic-update', profile: 'points-scale', thresholds: ['p95<500ms'] });
 * report.status; // 'passed': 500 deductions of 1,000 from 500,000 all succeeded and left 0
 * ```
 */
export { stress, type RuleResult, type StressOptions, type StressReport, type ThresholdResult } from './stress/stress.ts';
export { stressProfiles, type StressProfile } from './stress/profiles.ts';
export { formatStressReport } from './stress/stress-report-text.ts';
export type { StressWorkload } from './stress/workload-source.ts';
export type { OperationReport, ErrorCount } from './stress/operation-stats.ts';
export type { LatencySummary } from './stress/latency-histogram.ts';

// The CLI's configuration file
export { defineConfig, type LockstepConfig } from './config.ts';

// Errors
export { DefinitionError, EnvironmentError, InputError, InterruptedError, LockstepError } from './errors.ts';
