import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { IsolationLevel } from '../adapters/backend.ts';
import { advisoryLockRows, aggregateRows, type SqlCompiler } from '../adapters/postgres/sql-compiler.ts';
import { DefinitionError, thrownName } from '../errors.ts';
import { createTx, StatementFailure, type OperationResult, type Program, type TxGenerator } from '../model/program.ts';
import type { Fate, TxOutcome, WorkloadTx } from '../model/scenario.ts';
import { compareBy, rowFromPostgres, type Row, type Schema } from '../model/schema.ts';
import { isSavepointControl, type DbError, type Statement, type StatementResult } from '../model/statement.ts';
import { withLiterals } from '../adapters/postgres/sql-literal.ts';
import type { StatementCache } from './statement-cache.ts';

/** Outcome keys that are not a SQLSTATE or a program's result. */
export const poolTimeout = 'pool-timeout';
export const clientError = 'client-error';

/** One workload transaction run on a pooled connection: its outcome as the model reports one, and where its time went. */
export interface PooledRun {
  readonly outcome: TxOutcome;
  /** The program's result (a string as is, anything else as JSON), or the SQLSTATE, `pool-timeout` or `client-error` that ended it. */
  readonly key: string;
  /** Every failed statement, also those the program handled (a 40001 before a retry). */
  readonly statementErrors: readonly DbError[];
  /** Waiting for a connection from the pool. */
  readonly acquireMs: number;
  /** From holding the connection to giving it back. */
  readonly serviceMs: number;
  /** Of the service time, the part spent waiting for the server's answers. */
  readonly serverMs: number;
}

/** What a pooled run needs besides the transaction: the pool, the compiled statements' schema, the level and how to find each program. */
export interface PooledRunContext {
  readonly pool: pg.Pool;
  readonly compiler: SqlCompiler;
  /** The compiler's statements, compiled once per shape. */
  readonly statements: StatementCache;
  readonly schema: Schema;
  readonly isolation: IsolationLevel;
  readonly programs: { readonly [operation: string]: Program };
  /** For messages: `Scenario points-deduct, strategy naive`. */
  readonly origin: string;
  /** `extended`: parameters apart (as node-postgres sends a query with values); `simple`: values written into the SQL, one message per statement (as pgbench). */
  readonly protocol: 'extended' | 'simple';
}

/**
 * Runs one workload transaction's program on one connection of the pool, as
 * the model's runner would step it: the first statement of an attempt sends
 * `begin isolation level ...`, `commit` and `rollback` end it, a failed
 * statement is thrown into the program (which may catch it and retry), and
 * an error the program does not handle rolls the transaction back and aborts
 * it. The connection is held for the whole program, retries included.
 *
 * A program that throws anything but a failed statement is a
 * `DefinitionError`; a connection that breaks is discarded from the pool and
 * the transaction ends as `client-error`.
 */
export async function runPooled(context: PooledRunContext, id: number, tx: WorkloadTx): Promise<PooledRun> {
  const asked = performance.now();
  let client: pg.PoolClient;
  try {
    client = await context.pool.connect();
  } catch (e) {
    const acquireMs = performance.now() - asked;
    const error = connectionError(e);
    return { outcome: outcomeOf(id, tx, undefined, 'aborted', error, 0), key: error.code, statementErrors: [], acquireMs, serviceMs: 0, serverMs: 0 };
  }
  const held = performance.now();
  const run = new ProgramRun(context, id, tx, client);
  let broken: Error | undefined;
  try {
    await run.toEnd();
  } catch (e) {
    if (!(e instanceof BrokenConnection)) {
      client.release(true);
      throw e;
    }
    broken = e.cause as Error;
  }
  client.release(broken ?? false);
  const released = performance.now();
  return { ...run.finished(), acquireMs: held - asked, serviceMs: released - held };
}

/** A connection that failed under a transaction (not a database error): the transaction ends as `client-error`. */
class BrokenConnection extends Error {}

class ProgramRun {
  private readonly program: TxGenerator<OperationResult>;
  private open = false;
  private failed = false;
  private fate: Fate = 'rolled-back';
  private result: OperationResult | undefined;
  private error: DbError | undefined;
  private attempts = 0;
  private serverMs = 0;
  private readonly statementErrors: DbError[] = [];

  constructor(
    private readonly context: PooledRunContext,
    private readonly id: number,
    private readonly tx: WorkloadTx,
    private readonly client: pg.PoolClient,
  ) {
    if (!Object.hasOwn(context.programs, tx.operation)) throw new DefinitionError(`${context.origin} has no program for operation ${tx.operation}.`);
    this.program = context.programs[tx.operation](createTx(id), tx.args);
  }

  async toEnd(): Promise<void> {
    let input: StatementResult | undefined;
    for (;;) {
      let next: IteratorResult<Statement, OperationResult>;
      try {
        next = input === undefined ? this.program.next() : this.program.next(input);
      } catch (e) {
        if (!(e instanceof StatementFailure)) throw this.programThrew(e);
        this.fate = 'aborted';
        this.error = e.error;
        if (this.open) await this.query('rollback', undefined, undefined);
        return;
      }
      if (next.done) {
        this.result = next.value;
        if (this.open) {
          await this.query('rollback', undefined, undefined);
          throw new DefinitionError(`${this.context.origin}, operation ${this.tx.operation} (T${this.id}) returned without commit or rollback.`);
        }
        return;
      }
      input = await this.execute(next.value);
    }
  }

  finished(): Omit<PooledRun, 'acquireMs' | 'serviceMs'> {
    const outcome = outcomeOf(this.id, this.tx, this.result, this.fate, this.error, this.attempts);
    const key = this.error !== undefined ? this.error.code : typeof this.result === 'string' ? this.result : JSON.stringify(this.result ?? null);
    return { outcome, key, statementErrors: this.statementErrors, serverMs: this.serverMs };
  }

  private async execute(statement: Statement): Promise<StatementResult> {
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      let result: StatementResult = { rows: [] };
      if (this.open) result = await this.query(statement.kind, undefined, statement);
      this.fate = statement.kind === 'commit' && !this.failed && result.error === undefined ? 'committed' : 'rolled-back';
      this.open = false;
      this.failed = false;
      return result;
    }
    if (!this.open) {
      this.open = true;
      this.attempts++;
      const begun = await this.query(this.context.compiler.begin(this.context.isolation), undefined, undefined);
      if (begun.error !== undefined) return begun;
    }
    const compiled = this.context.statements.compile(statement);
    const result =
      this.context.protocol === 'simple' ? await this.query(withLiterals(compiled), undefined, statement) : await this.query(compiled.sql, compiled.parameters as unknown[], statement);
    if (result.error !== undefined) this.failed = true;
    else if (statement.kind === 'rollback-to') this.failed = false;
    return result;
  }

  private async query(text: string, values: unknown[] | undefined, statement: Statement | undefined): Promise<StatementResult> {
    const sent = performance.now();
    try {
      const answer = await this.client.query({ text, values });
      return { rows: statement === undefined ? [] : rowsOf(this.context.schema, statement, answer) };
    } catch (e) {
      if (e instanceof pg.DatabaseError && e.code !== undefined) {
        const error = { code: e.code, message: e.message };
        this.statementErrors.push(error);
        return { error };
      }
      this.fate = 'aborted';
      this.error = { code: clientError, message: (e as Error).message };
      this.open = false;
      throw new BrokenConnection('the connection broke', { cause: e });
    } finally {
      this.serverMs += performance.now() - sent;
    }
  }

  private programThrew(e: unknown): DefinitionError {
    return new DefinitionError(`${this.context.origin}, operation ${this.tx.operation} (T${this.id}) threw ${thrownName(e)}.`, { cause: e });
  }
}

function outcomeOf(id: number, tx: WorkloadTx, result: OperationResult | undefined, fate: Fate, error: DbError | undefined, attempts: number): TxOutcome {
  return { id, operation: tx.operation, args: tx.args, result, fate, ...(error ? { error } : {}), attempts };
}

/** Why no connection could be had: the pool's acquire timeout, a SQLSTATE the server refused with (53300 too many clients), or a client error. */
function connectionError(e: unknown): DbError {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof pg.DatabaseError && e.code !== undefined) return { code: e.code, message };
  if (/timeout exceeded when trying to connect|due to connection timeout/.test(message)) return { code: poolTimeout, message };
  return { code: clientError, message };
}

/** Result rows as plain rows in column order; an update's or delete's rows sorted by primary key, as the model returns them. */
function rowsOf(schema: Schema, statement: Statement, answer: pg.QueryResult): Row[] {
  if (statement.kind === 'commit' || statement.kind === 'rollback' || isSavepointControl(statement)) return [];
  if (statement.kind === 'advisory-lock') return advisoryLockRows(statement, answer.rows);
  if (statement.kind === 'select' && statement.aggregate !== undefined) return aggregateRows(statement, answer.rows);
  const rows = answer.rows.map((r: Record<string, unknown>) => rowFromPostgres(schema[statement.table], r));
  if (statement.kind === 'update' || statement.kind === 'delete') rows.sort((a, b) => compareBy(schema[statement.table].primaryKey, a, b));
  return rows;
}
