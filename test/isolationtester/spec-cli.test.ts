import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { bin, runLockstep } from '../lockstep-cli.ts';

const specs = join(import.meta.dirname, 'specs');
const dir = mkdtempSync(join(tmpdir(), 'lockstep-spec-'));
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

/** `lockstep` run in this process, in the folder of the spec files. */
const lockstep = (args: string[]) => runLockstep(args, { cwd: specs });

/** Connections lockstep holds, and schemas and throwaway databases (`lockstep_<hex>_<this database>`) it created, on the test server. */
async function leftovers() {
  const connections = await admin.query("select count(*)::int as n from pg_stat_activity where application_name = 'lockstep' and (datname = current_database() or (datname like 'lockstep\\_%' and right(datname, length(current_database()) + 1) = '_' || current_database()))");
  const schemas = await admin.query("select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'");
  const databases = await admin.query("select count(*)::int as n from pg_database where datname like 'lockstep\\_%' and right(datname, length(current_database()) + 1) = '_' || current_database()");
  return { connections: connections.rows[0].n as number, schemas: schemas.rows[0].n as number, databases: databases.rows[0].n as number };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// Expected .out files were produced by PostgreSQL's own isolationtester (PostgreSQL 15) from these spec files.
const fixtures = [
  'lost-update',
  'for-update-wait',
  'write-skew',
  'read-only-anomaly',
  'unique-insert',
  'on-conflict',
  'deadlock',
  'nowait',
  'skip-locked',
  'lock-queue',
  'markers',
];

describe('lockstep spec: the same output as isolationtester, and JSON', () => {
  for (const name of fixtures) {
    it(`${name}.spec --format isolationtester matches ${name}.out`, async () => {
      const { code, stdout, stderr } = await lockstep(['spec', `${name}.spec`, '--db', server.url, '--format', 'isolationtester']);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe(readFileSync(join(specs, `${name}.out`), 'utf8'));
    });
    it(`${name}.spec --json matches ${name}.json`, async () => {
      const { code, stdout, stderr } = await lockstep(['spec', `${name}.spec`, '--db', server.url, '--json']);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe(readFileSync(join(specs, `${name}.json`), 'utf8'));
    });
  }

  it('--format json is --json, and leaves no connection or schema behind', async () => {
    const { code, stdout } = await lockstep(['spec', 'nowait.spec', '--db', server.url, '--format', 'json']);
    expect(code).toBe(0);
    expect(stdout).toBe(readFileSync(join(specs, 'nowait.json'), 'utf8'));
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('the table format (the default) lists every permutation and groups outcomes', async () => {
    const { code, stdout } = await lockstep(['spec', 'write-skew.spec', '--db', server.url]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^write-skew\.spec · PostgreSQL \d+\.\d+ · 20 permutations \(every interleaving\)$/);
    expect(stdout).toContain('  1   a_read a_off a_commit b_read b_off b_commit  all steps succeeded\n');
    expect(stdout).toContain('  2   a_read a_off b_read a_commit b_off b_commit  b_off failed with 40001\n');
    expect(stdout).toContain(
      'Outcomes:\n' +
        '  2 permutations: all steps succeeded (1, 20)\n' +
        '  3 permutations: b_off failed with 40001 (2, 5, 11)\n' +
        '  6 permutations: b_commit failed with 40001 (3, 6, 8, 12, 14, 17)\n' +
        '  6 permutations: a_commit failed with 40001 (4, 7, 9, 13, 15, 18)\n' +
        '  3 permutations: a_off failed with 40001 (10, 16, 19)\n',
    );
  });
});

describe('lockstep spec --check, shrinking and sampling', () => {
  const check = ['--check', 'SELECT balance = 2400 FROM accounts WHERE id = 1'];

  it('evaluates the check after each permutation, skips impossible interleavings, shrinks to the fewest switches and exits 1', async () => {
    const { code, stdout } = await lockstep(['spec', 'read-modify-write.spec', '--db', server.url, ...check, '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.permutations).toHaveLength(14);
    expect(report.skipped).toHaveLength(6);
    expect(report.skipped[0]).toEqual(['s1r', 's1w', 's2r', 's2w', 's2c', 's1c']);
    expect(report.permutations.filter((p: { check: boolean }) => p.check).map((p: { order: string[] }) => p.order.join(' '))).toEqual([
      's1r s1w s1c s2r s2w s2c',
      's2r s2w s2c s1r s1w s1c',
    ]);
    expect(report.summary.map((g: { outcome: string; permutations: number[] }) => [g.outcome, g.permutations.length])).toEqual([
      ['all steps succeeded', 2],
      ['all steps succeeded; check failed', 12],
    ]);
    expect(report.shrunk).toEqual({ order: ['s1r', 's2r', 's2w', 's2c', 's1w', 's1c'], switches: 2 });
  });

  it('--permutations N samples reproducibly from --seed and shrinks beyond the sample', async () => {
    const args = ['spec', 'read-modify-write.spec', '--db', server.url, ...check, '--permutations', '4', '--seed', '3', '--json'];
    const a = await lockstep(args);
    const b = await lockstep(args);
    expect(a.code).toBe(1);
    expect(a.stdout).toBe(b.stdout);
    const report = JSON.parse(a.stdout);
    expect(report.permutations.length + (report.skipped?.length ?? 0)).toBe(4);
    expect(report.shrunk.switches).toBe(2);
    const other = JSON.parse((await lockstep(['spec', 'read-modify-write.spec', '--db', server.url, '--permutations', '4', '--seed', '4', '--json'])).stdout);
    expect(other.permutations.map((p: { order: string[] }) => p.order)).not.toEqual(report.permutations.map((p: { order: string[] }) => p.order));
  });

  it('the table names the shrunk permutation as a spec line', async () => {
    const { code, stdout } = await lockstep(['spec', 'read-modify-write.spec', '--db', server.url, ...check]);
    expect(code).toBe(1);
    expect(stdout).toContain('The check failed after 12 of 14 permutations. Fewest session switches that still fail (2):\n  permutation s1r s2r s2w s2c s1w s1c\n');
    expect(stdout).toContain('Skipped 6 interleavings that ask a blocked session to take its next step, e.g. s1r s1w s2r s2w s2c s1c.');
  });

  it('a check that holds exits 0', async () => {
    const { code, stdout, stderr } = await lockstep(['spec', 'lock-queue.spec', '--db', server.url, '--check', "SELECT quantity = 1 FROM stock WHERE sku = 'lamp'"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('The check held after all 1 permutation.');
  });
});

describe('lockstep spec: bad input, one sentence, exit 2', () => {
  const specWith = (body: string) =>
    `setup { CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); }\nteardown { DROP TABLE t; }\n${body}`;

  const cases: [string, string, string[], (file: string) => string][] = [
    ['a syntax error names the line and column', 'session s1\nstep s1a UPDATE t SET id = 2;\n', [], (f) => `${f} line 2, column 10: syntax error: expected "{" to start the SQL of step s1a, found "UPDATE".`],
    ['an unterminated SQL block', 'session s1\nstep s1a { SELECT 1;\n', [], (f) => `${f} line 2, column 10: syntax error: the SQL block opened here is never closed with "}".`],
    ['an unknown step in a permutation', specWith('session s1\nstep s1a { SELECT 1; }\nsession s2\nstep s2a { SELECT 2; }\npermutation s1a s2b\n'), [], (f) => `${f}: permutation 1 (line 7) names an unknown step "s2b".`],
    ['a duplicate step name', specWith('session s1\nstep a { SELECT 1; }\nsession s2\nstep a { SELECT 2; }\n'), [], (f) => `${f}: step name "a" is used twice (lines 4 and 6); step names must be unique.`],
    ['a marker naming a step of the same session', specWith('session s1\nstep s1a { SELECT 1; }\nstep s1b { SELECT 1; }\npermutation s1a(s1b) s1b\n'), [], (f) => `${f}: permutation 1 (line 6) makes step s1a wait for s1b of its own session s1.`],
    ['an unknown format', 'session s1\nstep s1a { SELECT 1; }\n', ['--format', 'yaml'], () => 'Unknown format "yaml"; choose one of table, isolationtester, json.'],
    ['--permutations 0', 'session s1\nstep s1a { SELECT 1; }\n', ['--permutations', '0'], () => '--permutations must be between 1 and 9007199254740991, not 0.'],
    ['--permutations some', 'session s1\nstep s1a { SELECT 1; }\n', ['--permutations', 'some'], () => '--permutations must be "all" or a whole number, not "some".'],
    ['--json with another --format', 'session s1\nstep s1a { SELECT 1; }\n', ['--json', '--format', 'table'], () => '--json and --format table contradict each other; choose one.'],
    ['a bad --step-timeout', 'session s1\nstep s1a { SELECT 1; }\n', ['--step-timeout', 'soon'], () => '--step-timeout must be a number of seconds between 0 and 3600, not "soon".'],
    ['a --step-timeout under a millisecond', 'session s1\nstep s1a { SELECT 1; }\n', ['--step-timeout', '0.0001'], () => '--step-timeout must be at least 0.001 seconds (PostgreSQL counts whole milliseconds), not "0.0001".'],
    ['an empty --db', 'session s1\nstep s1a { SELECT 1; }\n', ['--db', ''], () => '--db is empty; give a PostgreSQL URL like postgres://user:password@host:5432/database, or leave --db out.'],
  ];
  cases.forEach(([title, text, extra, sentence], i) => {
    it(title, async () => {
      const file = write(`bad-${i}.spec`, text);
      const { code, stdout, stderr } = await lockstep(['spec', file, '--db', server.url, ...extra]);
      expect(stderr).toBe(`${sentence(file)}\n`);
      expect(code).toBe(2);
      expect(stdout).toBe('');
    });
  });

  it('a missing file', async () => {
    const { code, stderr } = await lockstep(['spec', join(dir, 'nope.spec'), '--db', server.url]);
    expect(code).toBe(2);
    expect(stderr).toBe(`Cannot read ${join(dir, 'nope.spec')}: no such file.\n`);
  });

  it('a permutation that asks a blocked session to run its next step', async () => {
    const file = write(
      'blocked.spec',
      specWith(
        'session s1\nsetup { BEGIN; }\nstep s1u { UPDATE t SET id = 1 WHERE id = 1; }\nstep s1c { COMMIT; }\n' +
          'session s2\nsetup { BEGIN; }\nstep s2u { UPDATE t SET id = 1 WHERE id = 1; }\nstep s2c { COMMIT; }\n' +
          'permutation s1u s2u s2c s1c\n',
      ),
    );
    const { code, stderr } = await lockstep(['spec', file, '--db', server.url, '--json']);
    expect(stderr).toBe('Permutation 1 (s1u s2u s2c s1c) asks session s2 to run step s2c while its step s2u is still waiting for a lock held by s1.\n');
    expect(code).toBe(2);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('a step that never completes ends within the step timeout and leaves no connection behind', async () => {
    const file = write('sleepy.spec', 'session s1\nstep s1a { SELECT pg_sleep(60); }\nsession s2\nstep s2a { SELECT 1; }\npermutation s1a s2a\n');
    const started = Date.now();
    const { code, stderr } = await lockstep(['spec', file, '--db', server.url, '--step-timeout', '1']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toBe('Permutation 1 (s1a s2a): step s1a did not finish and was not waiting for another session within the step timeout of 1 s; lockstep ended its sessions.\n');
    expect(code).toBe(2);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('Ctrl-C while a step runs exits 130 and leaves no connection or schema', async () => {
    const file = write('interrupted.spec', 'session s1\nstep s1a { SELECT pg_sleep(60); }\n');
    const child = spawn(process.execPath, [bin(), 'spec', file, '--db', server.url], { stdio: 'pipe' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let sleeping = 0;
    for (let i = 0; i < 500 && sleeping === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const r = await admin.query("select count(*)::int as n from pg_stat_activity where application_name = 'lockstep' and query like '%pg_sleep(60)%'");
      sleeping = r.rows[0].n;
    }
    expect(sleeping).toBe(1);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    for (let i = 0; i < 100 && (await leftovers()).connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('a failing setup says which block failed', async () => {
    const file = write('bad-setup.spec', 'setup { SELECT * FROM missing_table; }\nsession s1\nstep s1a { SELECT 1; }\n');
    const { code, stderr } = await lockstep(['spec', file, '--db', server.url]);
    expect(stderr).toBe(`The spec's setup block failed on PostgreSQL: relation "missing_table" does not exist.\n`);
    expect(code).toBe(2);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });
});

describe('lockstep spec where isolationtester and lockstep could differ without reason (issue #13)', () => {
  const envSpec =
    'setup { CREATE TABLE t (id int primary key); }\nteardown { DROP TABLE t; }\nsession s1\n' +
    "step s1a { SELECT current_schema(), current_setting('TimeZone'), current_setting('DateStyle'), current_setting('work_mem'); }\n" +
    'step s1b { INSERT INTO t VALUES (1), (1); }\n';
  /** isolationtester's output of envSpec, its first column as wide as `schema`. */
  const expected = (schema: string) =>
    'Parsed test spec with 1 sessions\n\nstarting permutation: s1a s1b\n' +
    "step s1a: SELECT current_schema(), current_setting('TimeZone'), current_setting('DateStyle'), current_setting('work_mem');\n" +
    `${'current_schema'.padEnd(schema.length)}|current_setting |current_setting|current_setting\n${'-'.repeat(Math.max(14, schema.length))}+${'-'.repeat(16)}+${'-'.repeat(15)}+${'-'.repeat(15)}\n` +
    `${schema.padEnd(14)}|America/New_York|SQL, DMY       |5MB            \n(1 row)\n\n` +
    'step s1b: INSERT INTO t VALUES (1), (1);\nERROR:  duplicate key value violates unique constraint "t_pkey"\n';
  const env = { PGTZ: 'America/New_York', PGDATESTYLE: 'SQL, DMY', PGOPTIONS: '-c work_mem=5MB' };

  it('runs in a throwaway database with its tables in public, honours PGOPTIONS, PGTZ and PGDATESTYLE, and drops the database', async () => {
    const file = write('env.spec', envSpec);
    const { code, stdout, stderr } = await runLockstep(['spec', file, '--db', server.url, '--format', 'isolationtester'], { env });
    expect(stderr).toBe('');
    expect(stdout).toBe(expected('public'));
    expect(code).toBe(0);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('every permutation starts from an empty public, whatever the teardown left', async () => {
    const file = write('no-teardown.spec', 'setup { CREATE TABLE t (id int); }\nsession s1\nstep s1a { SELECT count(*) FROM t; }\nsession s2\nstep s2a { INSERT INTO t VALUES (1); }\n');
    const { code, stdout } = await runLockstep(['spec', file, '--db', server.url, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).permutations).toHaveLength(2);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
  });

  it('a role that may not create databases gets a schema of its own per permutation instead', async () => {
    const role = `lockstep_nocreatedb_${process.pid}`;
    await admin.query(`create role ${role} login password 'pw' nocreatedb`);
    try {
      await admin.query(`grant create on database ${pg.escapeIdentifier((await admin.query('select current_database() as d')).rows[0].d)} to ${role}`);
      const url = new URL(server.url);
      url.username = role;
      url.password = 'pw';
      const file = write('env-fallback.spec', envSpec);
      const { code, stdout, stderr } = await runLockstep(['spec', file, '--db', url.toString(), '--format', 'isolationtester'], { env });
      expect(stderr).toBe('');
      const schema = /\n(lockstep_[0-9a-f]{12})\|/.exec(stdout)?.[1];
      expect(schema).toBeDefined();
      expect(stdout).toBe(expected(schema!));
      expect(code).toBe(0);
      expect(await leftovers()).toEqual({ connections: 0, schemas: 0, databases: 0 });
    } finally {
      await admin.query(`drop owned by ${role}`);
      await admin.query(`drop role ${role}`);
    }
  });
});
