import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { provisionPostgres, type Provisioned } from '../adapters/postgres/provision.ts';
import { SqlCompiler } from '../adapters/postgres/sql-compiler.ts';
import { InputError } from '../errors.ts';
import { rowFromPostgres } from '../model/schema.ts';
import { literalsSafe } from '../adapters/postgres/sql-literal.ts';
import { driveLoad } from './load-driver.ts';
import { readServer, ResourceMonitor } from './resource-monitor.ts';
import { StatementCache } from './statement-cache.ts';
import { stressFindings } from './stress-findings.ts';
import type { StressPlan, StressReport } from './stress.ts';
import { workloadSource } from './workload-source.ts';

/** `statement_timeout` of the pool's sessions: a safety net a healthy run never reaches. */
const safetyTimeoutMs = 60_000;

/**
 * Runs a checked plan on PostgreSQL: provisions the server, creates the run
 * schema with the seed rows, opens the pool, drives the load, reads the final
 * tables and checks them; and whatever happens (a finding, a failure, an
 * abort) ends every connection, drops the run schema and stops an embedded
 * server before it settles.
 */
export async function runStress(plan: StressPlan): Promise<StressReport> {
  const transactionAt = workloadSource(plan.scenario, plan.workload, plan.seed);
  const strategy = plan.scenario.strategies[plan.strategy];
  if (plan.protocol === 'simple' && !literalsSafe(Object.entries(plan.scenario.schema).flatMap(([table, t]) => [table, ...Object.keys(t.columns)]))) {
    throw new InputError(`Scenario ${plan.scenario.id} has a table or column name with "$", which the simple protocol cannot write literals around; use the extended protocol.`);
  }
  const resources = new RunResources(plan);
  try {
    const server = await resources.provision();
    const control = await resources.connect(server.url);
    const serverReport = await readServer(control);
    if (plan.pool > serverReport.max_connections) {
      throw new InputError(`A pool of ${plan.pool} connections is more than the server's max_connections (${serverReport.max_connections}); give a smaller pool.`);
    }
    const compiler = await resources.createSchema();
    const pool = resources.openPool(server.url);
    const monitor = resources.monitor(performance.now());
    let load;
    try {
      load = await driveLoad(
        plan,
        { pool, compiler, statements: new StatementCache(compiler), schema: plan.scenario.schema, isolation: plan.isolation, programs: strategy.programs, origin: `Scenario ${plan.scenario.id}, strategy ${plan.strategy}`, protocol: plan.protocol },
        transactionAt,
        () => resources.aborted,
      );
    } finally {
      resources.throwIfAborted();
    }
    const usage = await monitor.stop();
    resources.throwIfAborted();
    const final = await resources.tables(compiler);
    return stressFindings(plan, load, final, usage, serverReport, { cores: availableParallelism(), node: process.versions.node });
  } finally {
    await resources.release();
  }
}

/** What a run holds on the server, and how it lets go of it (once, also on abort). */
class RunResources {
  readonly applicationName = `lockstep-stress-${randomBytes(4).toString('hex')}`;
  private readonly schemaName = `lockstep_${randomBytes(6).toString('hex')}`;
  private server: Provisioned | undefined;
  private control: pg.Client | undefined;
  private pool: pg.Pool | undefined;
  private compiler: SqlCompiler | undefined;
  private resourceMonitor: ResourceMonitor | undefined;
  private released: Promise<void> | undefined;
  private abortRequested = false;
  private readonly onAbort = () => void this.abort();

  constructor(private readonly plan: StressPlan) {
    plan.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get aborted(): boolean {
    return this.abortRequested || this.plan.signal?.aborted === true;
  }

  throwIfAborted(): void {
    if (this.aborted) throw abortError(this.plan.signal);
  }

  async provision(): Promise<Provisioned> {
    this.throwIfAborted();
    this.server = await provisionPostgres({ url: this.plan.db });
    this.throwIfAborted();
    return this.server;
  }

  async connect(url: string): Promise<pg.Client> {
    const control = new pg.Client({ connectionString: url, application_name: `${this.applicationName}-control` });
    control.on('error', () => {});
    this.control = control;
    await control.connect();
    this.throwIfAborted();
    return control;
  }

  async createSchema(): Promise<SqlCompiler> {
    const compiler = new SqlCompiler(this.plan.scenario.schema, this.schemaName);
    this.compiler = compiler;
    await this.control!.query(compiler.createSchemaScript());
    await this.control!.query(compiler.resetScript(this.plan.seedRows));
    this.throwIfAborted();
    return compiler;
  }

  /** Starts sampling the pool's server connections and this process's memory. */
  monitor(startedAt: number): ResourceMonitor {
    this.resourceMonitor = new ResourceMonitor(this.control!, this.applicationName, startedAt);
    this.resourceMonitor.start();
    return this.resourceMonitor;
  }

  openPool(url: string): pg.Pool {
    const pool = new pg.Pool({
      connectionString: url,
      max: this.plan.pool,
      connectionTimeoutMillis: this.plan.acquireTimeoutMs,
      application_name: this.applicationName,
      statement_timeout: safetyTimeoutMs,
    });
    // A connection the server ends (idle in the pool, or between two queries of a transaction, whose next query then fails) is not an uncaught error.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    this.pool = pool;
    return pool;
  }

  async tables(compiler: SqlCompiler): Promise<Record<string, Record<string, unknown>[]>> {
    const answer = (await this.control!.query(compiler.tablesScript())) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(answer) ? answer : [answer];
    const schema = this.plan.scenario.schema;
    return Object.fromEntries(Object.keys(schema).map((name, i) => [name, results[i].rows.map((row) => rowFromPostgres(schema[name], row))]));
  }

  /**
   * On abort: the clients start nothing more, and the statements of the
   * pool's connections running now are cancelled, so that a transaction
   * waiting for a lock ends at once (the connections stay usable and are
   * closed with the pool).
   */
  private async abort(): Promise<void> {
    this.abortRequested = true;
    if (this.control !== undefined && this.pool !== undefined) {
      await this.control.query(`select pg_cancel_backend(pid) from pg_stat_activity where application_name = $1 and state = 'active'`, [this.applicationName]).catch(() => {});
    }
  }

  release(): Promise<void> {
    this.released ??= this.letGo();
    return this.released;
  }

  private async letGo(): Promise<void> {
    this.plan.signal?.removeEventListener('abort', this.onAbort);
    try {
      await this.resourceMonitor?.stop().catch(() => {});
      if (this.pool !== undefined) {
        await endPool(this.pool, this.control, this.applicationName);
        if (this.control !== undefined) await gone(this.control, this.applicationName);
      }
      if (this.control !== undefined && this.compiler !== undefined) await this.control.query(this.compiler.dropSchemaScript()).catch(() => {});
      await this.control?.end().catch(() => {});
    } finally {
      await this.server?.stop();
    }
  }
}

/** Ends the pool; connections still busy after 5 s (a lock wait) are terminated on the server first. */
async function endPool(pool: pg.Pool, control: pg.Client | undefined, applicationName: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = pool.end().catch(() => {});
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), 5000);
  });
  if (await Promise.race([ended.then(() => false), late])) {
    await control?.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName]).catch(() => {});
    await ended;
  }
  clearTimeout(timer);
}

/**
 * Waits (up to 2 s) until the server no longer lists the pool's connections:
 * a backend leaves pg_stat_activity a moment after its client has closed the
 * connection, and a run is over only when they are gone.
 */
async function gone(control: pg.Client, applicationName: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const left = await control.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]).catch(() => undefined);
    if (left === undefined || left.rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error an aborted run rejects with: the signal's reason, else an `AbortError`. */
function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The stress run was aborted.', 'AbortError');
}
