import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { counterexampleJson } from '../src/explorer/counterexample.ts';
import { explore } from '../src/explorer/explore.ts';
import { pointsDeduct } from '../src/model/scenarios/points.ts';
import { scenarios } from '../src/model/scenarios/index.ts';
import { bin, runLockstep, spawnLockstep } from './lockstep-cli.ts';
import { memoryFolder } from './memory-folder.ts';

const dir = mkdtempSync(join(memoryFolder(), 'lockstep-replay-'));
let server: Provisioned;
let admin: pg.Client;

beforeAll(async () => {
  // The test run's PostgreSQL (DATABASE_URL, test/global-setup.ts): this file's own database on it.
  server = await provisionPostgres();
  admin = new pg.Client({ connectionString: server.url, application_name: 'lockstep-test-admin' });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lockstep = runLockstep;

/** Connections lockstep holds and schemas it created on the test server. */
async function leftovers() {
  const connections = await admin.query("select count(*)::int as n from pg_stat_activity where application_name = 'lockstep' and datname = current_database()");
  const schemas = await admin.query("select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'");
  return { connections: connections.rows[0].n as number, schemas: schemas.rows[0].n as number };
}

function lostUpdateFile(): string {
  const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 500, seed: 1 });
  const file = join(dir, 'lost-update.json');
  writeFileSync(file, counterexampleJson(report.counterexample!));
  return file;
}

describe('lockstep replay', () => {
  it('confirms the lost update on PostgreSQL step by step, exits 0 and leaves nothing behind', async () => {
    const file = lostUpdateFile();
    const { code, stdout } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Replay on PostgreSQL \d+\.\d+ · points-deduct · naive · read-committed · 2 transactions, 8 steps/);
    expect(stdout).toContain('Final state: the same in the model and on PostgreSQL');
    expect(stdout).toContain('CONFIRMED: PostgreSQL did what the model predicted at every step, and the violation reproduces: balance-matches-successes.');
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });

  it('--json reports every step with the model and PostgreSQL side by side', async () => {
    const { code, stdout } = await lockstep(['replay', lostUpdateFile(), '--db', server.url, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ status: 'confirmed', violationReproduced: true, finalState: { match: true } });
    expect(report.database.version).toMatch(/^PostgreSQL \d+/);
    expect(report.steps).toHaveLength(8);
    expect(report.steps[0]).toMatchObject({ index: 1, tx: 1, match: true, model: { outcome: 'id=1 balance=3000' }, postgres: { outcome: 'id=1 balance=3000' } });
    expect(report.steps[0].sql).toBe('select * from "accounts" where "id" = $1 order by "id"  -- $1=1');
    expect(typeof report.elapsedMs).toBe('number');
    // The run schema's random name appears nowhere: a second replay is the same bytes apart from its timing.
    const again = await lockstep(['replay', lostUpdateFile(), '--db', server.url, '--json']);
    const untimed = (json: string) => json.replace(/"elapsedMs":\d+/g, '"elapsedMs":0');
    expect(untimed(again.stdout)).toBe(untimed(stdout));
  });

  it('uses an embedded server when neither --db nor DATABASE_URL is given, and stops it', () => {
    // A process of its own, with a temp folder of its own (open to the postgres user the server runs as under root):
    // the servers counted are those with their data folder in it, whatever else runs on this machine.
    const tmp = mkdtempSync(join(memoryFolder(), 'lockstep-embedded-'));
    chmodSync(tmp, 0o1777);
    const postgresProcesses = () => spawnSync('pgrep', ['-c', '-f', ` -D ${tmp}/`], { encoding: 'utf8' }).stdout.trim();
    try {
      const before = postgresProcesses();
      const { code, stdout } = spawnLockstep(['replay', lostUpdateFile()], { env: { DATABASE_URL: '', TMPDIR: tmp } });
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Replay on PostgreSQL 17\.\d+ /);
      expect(stdout).toContain('CONFIRMED');
      expect(postgresProcesses()).toBe(before);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('Ctrl-C while PostgreSQL keeps it waiting exits 130 and leaves no schema and no connection', async () => {
    // The test holds a lock that CREATE SCHEMA needs, so the replay waits in its set-up until interrupted.
    const blocker = new pg.Client({ connectionString: server.url, application_name: 'lockstep-test-blocker' });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table pg_catalog.pg_namespace in share row exclusive mode');
    const child = spawn(process.execPath, [bin(), 'replay', lostUpdateFile(), '--db', server.url], { stdio: 'pipe' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let waiting = 0;
    for (let i = 0; i < 500 && waiting === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const r = await admin.query("select count(*)::int as n from pg_stat_activity where application_name = 'lockstep' and wait_event_type = 'Lock' and datname = current_database()");
      waiting = r.rows[0].n;
    }
    expect(waiting).toBe(1);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await new Promise((r) => setTimeout(r, 1500)); // PostgreSQL notices the closed connection within client_connection_check_interval
    await blocker.query('rollback');
    await blocker.end();
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });
});

describe('lockstep replay: bad input, one sentence, exit 2, nothing left behind', () => {
  it('a truncated file', async () => {
    const file = join(dir, 'truncated.json');
    writeFileSync(file, counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!).slice(0, 200));
    const { code, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe(`${file} is not a counterexample file: it is not valid JSON (truncated or corrupted?).\n`);
  });

  it('an unknown scenario', async () => {
    const file = join(dir, 'unknown.json');
    const cx = JSON.parse(counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!));
    writeFileSync(file, JSON.stringify({ ...cx, scenario: 'points-teleport' }));
    const { code, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe(`${file} is not a valid counterexample file: unknown scenario "points-teleport" (known: ${scenarios.map((s) => s.id).join(', ')}).\n`);
  });

  it('a schedule that does not fit the workload', async () => {
    const file = join(dir, 'bad-schedule.json');
    const cx = JSON.parse(counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!));
    writeFileSync(file, JSON.stringify({ ...cx, schedule: [1, 1, 1, 1, 1, 2, 2, 2, 2, 2] }));
    const { code, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe('Step 5 of the schedule runs T1, which cannot take a step then (runnable: T2).\n');
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });

  it('a schedule with steps left over after every transaction finished', async () => {
    const file = join(dir, 'long-schedule.json');
    const cx = JSON.parse(counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!));
    writeFileSync(file, JSON.stringify({ ...cx, schedule: [...cx.schedule, 1] }));
    const { code, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe('The schedule lists 9 steps but the workload finishes after 8.\n');
  });

  it('a transaction without its arguments', async () => {
    const file = join(dir, 'no-args.json');
    const cx = JSON.parse(counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!));
    delete cx.transactions[0].args;
    writeFileSync(file, JSON.stringify(cx));
    const { code, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe(`${file}: transaction 1's args undefined do not fit operation deduct of points-deduct, whose arguments look like {"user":1,"amount":300}.\n`);
  });

  it.each([
    ['a fraction where the operation takes whole numbers', 300.5],
    ['a string of digits', '300'],
    ['a boolean', true],
  ])('arguments of the wrong shape: %s', async (_, amount) => {
    const file = join(dir, 'bad-args.json');
    const cx = JSON.parse(counterexampleJson(explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 }).counterexample!));
    cx.transactions[0].args.amount = amount;
    writeFileSync(file, JSON.stringify(cx));
    const { code, stdout, stderr } = await lockstep(['replay', file, '--db', server.url]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      `${file}: transaction 1's args {"user":1,"amount":${JSON.stringify(amount)}} do not fit operation deduct of points-deduct, whose arguments look like {"user":1,"amount":300}.\n`,
    );
  });

  it('an unreachable --db, password masked', async () => {
    const { code, stderr } = await lockstep(['replay', lostUpdateFile(), '--db', 'postgres://alice:s3cret@127.0.0.1:1/db']);
    expect(code).toBe(2);
    expect(stderr).toBe('Cannot use the PostgreSQL server at postgres://alice:***@127.0.0.1:1/db (from --db): connect ECONNREFUSED 127.0.0.1:1.\n');
  });
});
