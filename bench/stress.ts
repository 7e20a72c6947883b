import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { provisionPostgres } from '../src/adapters/postgres/provision.ts';
import { SqlCompiler } from '../src/adapters/postgres/sql-compiler.ts';
import type { Statement } from '../src/model/statement.ts';
import { pointsDeduct } from '../src/model/scenarios/points.ts';
import type { WorkloadTx } from '../src/model/scenario.ts';
import { withLiterals } from '../src/adapters/postgres/sql-literal.ts';
import { stress } from '../src/stress/stress.ts';

const run = promisify(execFile);

/** Side-by-side runs: lockstep stress and pgbench, the same statements, clients, duration and server, taking turns. */
export interface StressComparison {
  readonly label: string;
  /** lockstep's `protocol`, and pgbench's `-M` of the same name. */
  readonly protocol: 'simple' | 'extended';
  readonly clients: number;
  readonly seconds: number;
  /** Medians over the rounds. */
  readonly lockstepTps: number;
  readonly pgbenchTps: number;
  /** The same transactions from a plain node-postgres loop on a pg.Pool (no lockstep): what the driver itself reaches. */
  readonly nodePostgresTps: number;
  /** Median over the rounds of lockstep's tps as a fraction of pgbench's in the same round (target >= 0.7). */
  readonly ratio: number;
  /** lockstep's tps as a fraction of the plain node-postgres loop's, median over the rounds. */
  readonly ratioToNodePostgres: number;
  /** lockstep's client-side time per operation while holding the connection (report.total.overheadMs), median over the rounds. */
  readonly lockstepClientMs: number;
}

/** What `npm run bench` prints about stress. */
export interface StressBench {
  readonly database: string;
  readonly synchronousCommit: string;
  readonly cores: number;
  readonly comparisons: readonly StressComparison[];
  /** With one client, in the simple protocol: lockstep's time per operation minus pgbench's (median over the rounds). */
  readonly overheadPerOperationMs: number;
  /** The same against the plain node-postgres loop: what lockstep itself adds to each transaction. */
  readonly overheadOverNodePostgresMs: number;
}

/** Options of the comparison; the defaults take about a minute. */
export interface StressBenchOptions {
  readonly seconds?: number;
  readonly clients?: number;
  /** Runs of each tool per comparison, taking turns (default 3). */
  readonly rounds?: number;
  readonly protocols?: readonly ('simple' | 'extended')[];
  /** Sessions' synchronous_commit (default: the server's). */
  readonly synchronousCommit?: 'on' | 'off';
}

const bigBalance = 2_000_000_000;

/**
 * points-deduct's atomic-update deduction (BEGIN; UPDATE accounts SET
 * balance = balance - 1 WHERE id = ? AND balance >= 1 RETURNING *; INSERT
 * INTO history ... RETURNING *; COMMIT) run by `lockstep stress` and by
 * `pgbench -n -M <protocol> -f script -c N -j 2 -T S` with the same SQL
 * (compiled by the same SqlCompiler), the same clients and connections, on
 * the same server, taking turns (a busy machine moves both alike): on one
 * hot row (every client deducts from account 1) and on a row per client, in
 * the simple protocol (values written into the SQL, pgbench's default) and
 * optionally the extended one (values apart, node-postgres' way). pgbench
 * must be on the PATH. Numbers, never assertions.
 */
export async function measureStressAgainstPgbench(options: StressBenchOptions = {}): Promise<StressBench> {
  const seconds = options.seconds ?? 5;
  const clients = options.clients ?? 8;
  const rounds = options.rounds ?? 3;
  const server = await provisionPostgres();
  const url = new URL(server.url);
  // libpq reads a space in options= only as %20, not as the + URLSearchParams writes.
  const db = options.synchronousCommit === undefined ? url.toString() : `${url.toString()}${url.search === '' ? '?' : '&'}options=-c%20synchronous_commit%3D${options.synchronousCommit}`;
  const folder = mkdtempSync(join(tmpdir(), 'lockstep-bench-stress-'));
  try {
    const comparisons: StressComparison[] = [];
    for (const protocol of options.protocols ?? ['simple']) {
      for (const [label, rows] of [
        ['one hot row', 1],
        ['a row per client', clients],
      ] as const) {
        comparisons.push(await compare(db, folder, label, protocol, clients, rows, seconds, rounds));
      }
    }
    const alone = await compare(db, folder, 'one client', 'simple', 1, 1, seconds, rounds);
    const probe = new pg.Client({ connectionString: db });
    await probe.connect();
    const synchronousCommit = (await probe.query('show synchronous_commit')).rows[0].synchronous_commit as string;
    await probe.end();
    return {
      database: `PostgreSQL ${server.version}`,
      synchronousCommit,
      cores: availableParallelism(),
      comparisons,
      overheadPerOperationMs: 1000 / alone.lockstepTps - 1000 / alone.pgbenchTps,
      overheadOverNodePostgresMs: 1000 / alone.lockstepTps - 1000 / alone.nodePostgresTps,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await server.stop();
  }
}

async function compare(db: string, folder: string, label: string, protocol: 'simple' | 'extended', clients: number, rows: number, seconds: number, rounds: number): Promise<StressComparison> {
  const accounts = Array.from({ length: rows }, (_, i) => ({ id: i + 1, balance: bigBalance }));
  const runs: { lockstep: number; pgbench: number; nodePostgres: number; clientMs: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    // Taking turns: each round starts with another of the three.
    const turns = [
      async () => ({ pgbench: await pgbench(db, folder, protocol, clients, rows, accounts, seconds) }),
      async () => ({ lockstep: await lockstepTps(db, protocol, clients, rows, accounts, seconds) }),
      async () => ({ nodePostgres: await nodePostgresTps(db, protocol, clients, rows, accounts, seconds) }),
    ];
    let result = {} as { pgbench?: number; lockstep?: { tps: number; clientMs: number }; nodePostgres?: number };
    for (let i = 0; i < turns.length; i++) result = { ...result, ...(await turns[(round + i) % turns.length]()) };
    runs.push({ lockstep: result.lockstep!.tps, pgbench: result.pgbench!, nodePostgres: result.nodePostgres!, clientMs: result.lockstep!.clientMs });
  }
  return {
    label,
    protocol,
    clients,
    seconds,
    lockstepTps: median(runs.map((r) => r.lockstep)),
    pgbenchTps: median(runs.map((r) => r.pgbench)),
    nodePostgresTps: median(runs.map((r) => r.nodePostgres)),
    ratio: median(runs.map((r) => r.lockstep / r.pgbench)),
    ratioToNodePostgres: median(runs.map((r) => r.lockstep / r.nodePostgres)),
    lockstepClientMs: median(runs.map((r) => r.clientMs)),
  };
}

async function lockstepTps(db: string, protocol: 'simple' | 'extended', clients: number, rows: number, accounts: { id: number; balance: number }[], seconds: number): Promise<{ tps: number; clientMs: number }> {
  const report = await stress({
    protocol,
    scenario: pointsDeduct,
    strategy: 'atomic-update',
    clients,
    pool: clients,
    durationMs: seconds * 1000,
    seedRows: { accounts, history: [] },
    workload: (index): WorkloadTx => ({ operation: 'deduct', args: { user: (index % rows) + 1, amount: 1 } }),
    db,
  });
  // points-deduct's rules watch account 1 alone, so only the hot-row run is checked by them; every run must end without errors.
  const failed = Object.keys(report.total.outcomes).filter((key) => key !== 'ok');
  if (failed.length > 0 || (rows === 1 && report.status !== 'passed')) throw new Error(`lockstep stress failed: ${JSON.stringify({ outcomes: report.total.outcomes, rules: report.rules })}`);
  return { tps: report.tps, clientMs: report.total.overheadMs };
}

/**
 * The same transactions as a plain node-postgres application would send them:
 * `clients` loops on a pg.Pool, each taking a connection, sending BEGIN, the
 * update, the insert and COMMIT (compiled by the same SqlCompiler) and
 * giving it back. No program, no measurement: what the driver reaches.
 */
async function nodePostgresTps(db: string, protocol: 'simple' | 'extended', clients: number, rows: number, accounts: { id: number; balance: number }[], seconds: number): Promise<number> {
  const compiler = new SqlCompiler(pointsDeduct.schema, `lockstep_bench_${randomBytes(4).toString('hex')}`);
  const control = new pg.Client({ connectionString: db });
  await control.connect();
  const pool = new pg.Pool({ connectionString: db, max: clients });
  try {
    await control.query(compiler.createSchemaScript());
    await control.query(compiler.resetScript({ accounts, history: [] }));
    const send = (client: pg.PoolClient, s: Statement) => {
      const compiled = compiler.statement(s);
      return protocol === 'simple' ? client.query(withLiterals(compiled)) : client.query(compiled.sql, compiled.parameters as unknown[]);
    };
    let next = 0;
    let done = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < end) {
          const tx = ++next;
          const user = (tx % rows) + 1;
          const client = await pool.connect();
          await client.query(compiler.begin('read-committed'));
          await send(client, { kind: 'update', table: 'accounts', where: { id: user, balance: { gte: 1 } }, set: { balance: { add: -1 } } });
          await send(client, { kind: 'insert', table: 'history', rows: [{ tx, account: user, delta: -1 }] });
          await client.query('commit');
          client.release();
          done++;
        }
      }),
    );
    return done / seconds;
  } finally {
    await pool.end();
    await control.query(compiler.dropSchemaScript()).catch(() => {});
    await control.end();
  }
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs pgbench on a schema of its own holding the same tables, with the SQL lockstep sends for the atomic deduction. */
async function pgbench(db: string, folder: string, protocol: 'simple' | 'extended', clients: number, rows: number, accounts: { id: number; balance: number }[], seconds: number): Promise<number> {
  const compiler = new SqlCompiler(pointsDeduct.schema, `lockstep_bench_${randomBytes(4).toString('hex')}`);
  const control = new pg.Client({ connectionString: db });
  await control.connect();
  try {
    await control.query(compiler.createSchemaScript());
    await control.query(compiler.resetScript({ accounts, history: [] }));
    const script = join(folder, `deduct-${clients}-${rows}.sql`);
    writeFileSync(script, pgbenchScript(compiler, rows));
    const { stdout } = await run('pgbench', ['-n', '-M', protocol, '-f', script, '-D', 'seq=0', '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(seconds), db]);
    const tps = /tps = ([\d.]+)/.exec(stdout);
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return Number(tps[1]);
  } finally {
    await control.query(compiler.dropSchemaScript()).catch(() => {});
    await control.end();
  }
}

/**
 * The deduction as a pgbench script: the statements compiled with sentinel
 * values, each parameter replaced by the pgbench variable it stands for (a
 * transaction number from the client id and a per-client counter, so history
 * keys stay unique).
 */
export function pgbenchScript(compiler: SqlCompiler, rows: number): string {
  const sentinel = { user: 424242, amount: 7, tx: 999_999 };
  const variables = new Map<unknown, string>([
    [sentinel.user, ':user'],
    [sentinel.amount, ':amount'],
    [-sentinel.amount, ':delta'],
    [sentinel.tx, ':tx'],
  ]);
  const sql = (s: Statement) => {
    const { sql: text, parameters } = compiler.statement(s);
    return `${text.replace(/\$(\d+)/g, (_, n: string) => variables.get(parameters[Number(n) - 1])!)};`;
  };
  return [
    rows === 1 ? '\\set user 1' : `\\set user (:client_id % ${rows}) + 1`,
    '\\set amount 1',
    '\\set delta -1',
    '\\set seq :seq + 1',
    '\\set tx :client_id * 10000000 + :seq',
    `${compiler.begin('read-committed')};`,
    sql({ kind: 'update', table: 'accounts', where: { id: sentinel.user, balance: { gte: sentinel.amount } }, set: { balance: { add: -sentinel.amount } } }),
    sql({ kind: 'insert', table: 'history', rows: [{ tx: sentinel.tx, account: sentinel.user, delta: -sentinel.amount }] }),
    'commit;',
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const synchronousCommit of [undefined, 'off'] as const) {
    const r = await measureStressAgainstPgbench({ synchronousCommit, protocols: ['simple', 'extended'] });
    console.log(`${r.database}, synchronous_commit ${r.synchronousCommit}, ${r.cores} cores (the server, pgbench and lockstep share them):`);
    for (const c of r.comparisons) {
      console.log(
        `  ${c.protocol} protocol, ${c.label}, ${c.clients} clients, ${c.seconds} s: lockstep ${Math.round(c.lockstepTps)} tps, pgbench ${Math.round(c.pgbenchTps)} tps (ratio ${c.ratio.toFixed(2)}), node-postgres ${Math.round(c.nodePostgresTps)} tps (ratio ${c.ratioToNodePostgres.toFixed(2)}); lockstep client time ${c.lockstepClientMs.toFixed(3)} ms/op`,
      );
    }
    console.log(`  one client: lockstep takes ${r.overheadPerOperationMs.toFixed(3)} ms per operation more than pgbench, ${r.overheadOverNodePostgresMs.toFixed(3)} ms more than node-postgres`);
  }
}
