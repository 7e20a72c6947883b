/**
 * Issue #17 item 3, every case in one table: bad input, budgets for long
 * work, faults of PostgreSQL (a terminated backend, a lost server) and
 * signals. Each ends promptly with one sentence and exit 2 (130 for SIGINT,
 * 143 for SIGTERM), and leaves nothing behind: no lockstep_* schema, no
 * connection, no embedded server process, no temp data folder or password
 * file. Faults run against a --db server (this file's database on the test
 * run's server) and against lockstep's own embedded server.
 *
 * Everything runs in this process through `main` (runLockstep) except what
 * is about the process: signals are sent to a spawned `lockstep`, the
 * compiled bin, which `bin()` checks is built from the sources as they are.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { InterruptedError } from '../src/errors.ts';
import { allInterleavings, interleavingCount, samplePermutations } from '../src/isolationtester/permutations.ts';
import { parseSpec } from '../src/isolationtester/spec-parser.ts';
import { itemsSchema } from '../src/model/scenarios/catalogue.ts';
import { bin, runLockstep, type LockstepResult } from './lockstep-cli.ts';
import { memoryFolder } from './memory-folder.ts';

// Named now (the tables below name files in it), made in beforeAll: a run that skips every test leaves nothing.
const dir = join(memoryFolder(), `lockstep-faults-${process.pid}-${Date.now().toString(36)}`);
let server: Provisioned;
let admin: pg.Client;

beforeAll(async () => {
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  // This file's own database on the test run's server (test/database-per-file.ts).
  server = await provisionPostgres();
  admin = new pg.Client({ connectionString: server.url, application_name: 'lockstep-test-admin' });
  await admin.connect();
  const made = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--seed', '3', '--out', join(dir, 'cx.json')]);
  expect(made.code).toBe(1);
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Connections lockstep holds, and schemas and throwaway databases
 * (`lockstep_<hex>_<this database>`, lockstep spec's) it created, for this
 * file's database (a backend leaves pg_stat_activity a moment after its client).
 */
async function leftovers(): Promise<{ connections: number; schemas: number }> {
  let found = { connections: 0, schemas: 0 };
  for (let i = 0; i < 100; i++) {
    const c = await admin.query(`select count(*)::int as n from pg_stat_activity where application_name like 'lockstep%' and application_name <> 'lockstep-test-admin' and ${ours}`);
    const s = await admin.query("select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'");
    const d = await admin.query("select count(*)::int as n from pg_database where datname like 'lockstep\\_%' and right(datname, length(current_database()) + 1) = '_' || current_database()");
    found = { connections: c.rows[0].n, schemas: s.rows[0].n + d.rows[0].n };
    if (found.connections === 0 && found.schemas === 0) break;
    await sleep(20);
  }
  return found;
}

/** A temp folder of its own for one embedded run (world-readable: initdb runs as the postgres user). */
function privateTmp(): string {
  const path = mkdtempSync(join(dir, 'tmp-'));
  chmodSync(path, 0o1777);
  return path;
}

/** What an embedded run left in its temp folder: data folders and initdb password files. */
const leftInTmp = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('lockstep-pg-') || n.startsWith('pg-password-'));

/** PostgreSQL processes whose command line names a folder under `tmp`, or whose postmaster's does. */
function postgresProcesses(tmp: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(tmp) && /postgres/.test(cmd)) pids.push(Number(pid));
    } catch {
      // Gone.
    }
  }
  return pids;
}

/** The embedded server's postmaster under `tmp`, and its client backends (process titles `postgres: postgres <database> 127.0.0.1(port) ...`). */
function embedded(tmp: string): { postmaster: number; backends: { pid: number; title: string }[] } | undefined {
  const data = readdirSync(tmp).find((n) => n.startsWith('lockstep-pg-'));
  if (!data) return undefined;
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(tmp, data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  const backends: { pid: number; title: string }[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (ppid !== postmaster) continue;
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (/^postgres: postgres \S+ 127\.0\.0\.1/.test(title)) backends.push({ pid: Number(pid), title });
    } catch {
      // Gone.
    }
  }
  return { postmaster, backends };
}

/**
 * Runs `until` every few milliseconds while `work` runs, and `act` once when
 * it holds: the fault is injected in the middle of the run.
 */
async function withFault(work: Promise<LockstepResult>, until: () => Promise<boolean> | boolean, act: () => Promise<void> | void): Promise<LockstepResult & { injected: boolean }> {
  let done = false;
  let injected = false;
  const watcher = (async () => {
    while (!done) {
      if (await until()) {
        await act();
        injected = true;
        return;
      }
      await sleep(2);
    }
  })();
  const result = await work.finally(() => {
    done = true;
  });
  await watcher;
  return { ...result, injected };
}

/** lockstep's backends in this file's database and in lockstep spec's throwaway databases made from it. */
async function lockstepBackends(where = ''): Promise<number[]> {
  const r = await admin.query(`select pid from pg_stat_activity where application_name = 'lockstep' and ${ours} ${where}`);
  return r.rows.map((row) => row.pid as number);
}
const terminate = async (pids: readonly number[]) => {
  await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
};

const oneSentence = /^[A-Z][^\n]*[.]\n$/;
/** This file's database, or a throwaway database lockstep spec made from it (`lockstep_<hex>_<database>`). */
const ours = "(datname = current_database() or (datname like 'lockstep\\_%' and right(datname, length(current_database()) + 1) = '_' || current_database()))";
const lostAtStep = /^PostgreSQL failed (at step \d+ \(T\d+: [^\n]+\)|while resetting the tables|while reading the final tables): [^\n]+\.\n$/;

describe('bad input and absurd requests: one sentence, exit 2, before any connection', () => {
  const fifo = join(dir, 'fifo');
  const huge = join(dir, 'huge.json');
  const vast = join(dir, 'vast.spec');
  beforeAll(() => {
    spawnSync('mkfifo', [fifo]);
    writeFileSync(huge, '');
    truncateSync(huge, 17 * 2 ** 20);
    // 4 sessions of 10 steps: 40! / 10!^4, about 4.7e21 interleavings.
    file('vast.spec', ['a', 'b', 'c', 'd'].map((s) => `session ${s}\n${Array.from({ length: 10 }, (_, i) => `step ${s}${i} { SELECT 1; }`).join('\n')}\n`).join(''));
  });
  const notRegular = 'it is not a regular file (a pipe, a device or a socket)';
  const tooLarge = 'it is larger than 16 MB, more than lockstep reads as input';
  const unreachable = 'postgres://nobody@127.0.0.1:1/none';

  const cases: { title: string; args: string[]; stderr: string }[] = [
    { title: 'a FIFO as counterexample file', args: ['replay', fifo, '--db', unreachable], stderr: `Cannot read the counterexample file ${fifo}: ${notRegular}.` },
    { title: '/dev/zero as counterexample file', args: ['replay', '/dev/zero', '--db', unreachable], stderr: `Cannot read the counterexample file /dev/zero: ${notRegular}.` },
    { title: 'a counterexample file over 16 MB', args: ['replay', huge, '--db', unreachable], stderr: `Cannot read the counterexample file ${huge}: ${tooLarge}.` },
    { title: 'a FIFO as spec file', args: ['spec', fifo, '--db', unreachable], stderr: `Cannot read ${fifo}: ${notRegular}.` },
    { title: '/dev/zero as spec file', args: ['spec', '/dev/zero', '--db', unreachable], stderr: `Cannot read /dev/zero: ${notRegular}.` },
    { title: 'a FIFO as scenario module', args: ['explore', 'x', '--scenarios', fifo], stderr: `Cannot load scenarios from ${fifo}: it is not a regular file (a pipe, a device or a socket).` },
    { title: '/dev/zero as workload file', args: ['explore', 'points-deduct', '--strategy', 'naive', '--workload', '/dev/zero'], stderr: `Cannot read the workload file /dev/zero: ${notRegular}.` },
    {
      title: 'explore --runs 1000000000000',
      args: ['explore', 'points-deduct', '--strategy', 'naive', '--runs', '1000000000000'],
      stderr: '--runs 1000000000000 is more than lockstep runs (at most 1,000,000,000); for a long search, give a large --runs with --max-time.',
    },
    {
      title: 'audit --runs 1000000000000',
      args: ['audit', '--runs', '1000000000000'],
      stderr: '--runs 1000000000000 is more than lockstep runs (at most 1,000,000,000); for a long search, give a large --runs with --max-time.',
    },
    {
      title: 'spec --permutations 1000000000000',
      args: ['spec', vast, '--permutations', '1000000000000', '--db', unreachable],
      stderr: '--permutations 1000000000000 is more than lockstep samples (at most 100,000); sample fewer, or run them all with --permutations all and a --max-time.',
    },
    { title: 'spec --permutations 1e12', args: ['spec', vast, '--permutations', '1e12', '--db', unreachable], stderr: '--permutations must be "all" or a whole number, not "1e12".' },
    {
      title: 'a spec of ~10^21 interleavings, all of them, without --max-time',
      args: ['spec', vast, '--db', unreachable],
      stderr: `${vast} has 4.7e+21 interleavings, too many to run them all; sample some with --permutations n (at most 100,000), or bound the run with --max-time.`,
    },
    {
      title: '--max-time with --workers',
      args: ['explore', 'points-deduct', '--strategy', 'naive', '--workers', '2', '--max-time', '1s'],
      stderr: '--max-time does not combine with --workers or --shard: their parts must not depend on the clock.',
    },
    { title: 'a --max-time that is not a duration', args: ['explore', 'points-deduct', '--strategy', 'naive', '--max-time', 'soon'], stderr: '--max-time must be a duration like 60s, 500ms or 2m, not "soon".' },
  ];
  it.each(cases)('$title', async ({ args, stderr }) => {
    const started = Date.now();
    const r = await runLockstep(args);
    expect(r.stderr).toBe(`${stderr}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('long work under a budget: --max-time, caps, no recursion', () => {
  it('explore --runs 1000000000 --max-time 1s stops after about a second and says how far it got', async () => {
    const started = Date.now();
    const r = await runLockstep(['explore', 'points-deduct', '--strategy', 'for-update', '--runs', '1000000000', '--max-time', '1s']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^points-deduct · for-update · read-committed: passed [\d]+ of 1000000000 random runs \(seed 1\), stopped by the time budget; no violation found\.\n/);
  });

  it('explore --mode exhaustive --txs 8 --max-time 1s stops and says the search did not finish', async () => {
    const started = Date.now();
    // Eight workers claiming jobs (each its own arguments, so not interchangeable: points-deduct's eight alike deductions take about a second).
    const r = await runLockstep(['explore', 'job-queue', '--strategy', 'for-update', '--mode', 'exhaustive', '--txs', '8', '--max-time', '1s']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job-queue · for-update · read-committed: stopped by the time budget after \d+ schedules(, \d+ of them stopped at a state already explored)?, \d+ distinct traces \((at least )?\d+ interleavings without reduction\), \d+ distinct final outcomes?; no violation found \(not a proof: the search did not finish\)\.\n/);
  });

  it('audit --max-time shares the time among its combinations and says how many it cut (not the two that fail at once)', async () => {
    const r = await runLockstep(['audit', '--scenario', 'points-deduct', '--isolation', 'read-committed', '--runs', '1000000000', '--max-time', '2s']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('--max-time 2s stopped the search of 3 of 5 combinations before 1000000000 runs; their passes cover fewer runs.\n');
  });

  it('spec --max-time over 17,153,136 interleavings runs what fits, says so, and leaves nothing', async () => {
    const spec = file('many.spec', ['a', 'b', 'c'].map((s) => `session ${s}\n${Array.from({ length: 6 }, (_, i) => `step ${s}${i} { SELECT 1; }`).join('\n')}\n`).join(''));
    const started = Date.now();
    const r = await runLockstep(['spec', spec, '--db', server.url, '--max-time', '2s', '--json']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^Stopped by --max-time 2s after [\d,]+ of 17,153,136 permutations\.\n$/);
    expect(JSON.parse(r.stdout).permutations.length).toBeGreaterThan(0);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });

  it('interleavings are generated without recursion: a session of 100,000 steps is one interleaving', () => {
    const steps = Array.from({ length: 100_000 }, (_, i) => `step s${i} { SELECT 1; }`).join('\n');
    const spec = parseSpec(`session a\n${steps}\n`, 'long.spec');
    expect([...allInterleavings(spec)].map((p) => p.length)).toEqual([100_000]);
    expect(samplePermutations(spec, 3, 1)).toHaveLength(1);
  });

  it('interleavings keep isolationtester order and count (3 sessions of 2, 2 and 3 steps: 210)', () => {
    const spec = parseSpec('session a\nstep a1 { SELECT 1; }\nstep a2 { SELECT 1; }\nsession b\nstep b1 { SELECT 1; }\nstep b2 { SELECT 1; }\nsession c\nstep c1 { SELECT 1; }\nstep c2 { SELECT 1; }\nstep c3 { SELECT 1; }\n', 'x.spec');
    const all = [...allInterleavings(spec)].map((p) => p.map((s) => s.step).join(' '));
    expect(all).toHaveLength(interleavingCount(spec));
    expect(all).toHaveLength(210);
    expect(new Set(all).size).toBe(210);
    expect(all[0]).toBe('a1 a2 b1 b2 c1 c2 c3');
    expect(all.at(-1)).toBe('c1 c2 c3 b1 b2 a1 a2');
    expect([...all].sort()).toEqual(all);
  });

  it('a spec session of 5,000 steps runs on PostgreSQL (no stack overflow) and leaves nothing', async () => {
    const spec = file('long.spec', `session s1\n${Array.from({ length: 5000 }, (_, i) => `step s${i} { SELECT ${i}; }`).join('\n')}\n`);
    const r = await runLockstep(['spec', spec, '--db', server.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).permutations[0].order).toHaveLength(5000);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  }, 120_000);
});

describe('faults of PostgreSQL: one sentence naming the step, exit 2, nothing left behind', () => {
  const sleepingStep = 'session s1\nstep s1a { SELECT pg_sleep(60); }\n';
  const sleepingSetup = 'setup { SELECT pg_sleep(60); }\nsession s1\nstep s1a { SELECT 1; }\n';
  const cx = () => join(dir, 'cx.json');
  /** The replay family: every command that replays on the PostgresBackend. */
  const replaying: { command: string; args: () => string[]; code?: number }[] = [
    { command: 'replay', args: () => ['replay', cx()] },
    { command: 'explore --replay', args: () => ['explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--seed', '3', '--replay'] },
    { command: 'audit --replay', args: () => ['audit', '--scenario', 'points-deduct', '--isolation', 'read-committed', '--runs', '200', '--replay'] },
  ];

  describe('on a --db server (pg_terminate_backend)', () => {
    it.each(replaying)('$command: every lockstep backend terminated mid-run', async ({ args }) => {
      const r = await withFault(
        runLockstep([...args(), '--db', server.url]),
        async () => (await lockstepBackends()).length >= 2,
        async () => terminate(await lockstepBackends()),
      );
      expect(r.injected).toBe(true);
      expect(r.stderr).toMatch(lostAtStep);
      expect(r.code).toBe(2);
      expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
    });

    it('spec: the session backend terminated while its step runs names the step', async () => {
      const spec = file('term-step.spec', sleepingStep);
      const r = await withFault(
        runLockstep(['spec', spec, '--db', server.url]),
        async () => (await lockstepBackends("and query like '%pg_sleep(60)%'")).length === 1,
        async () => terminate(await lockstepBackends("and query like '%pg_sleep(60)%'")),
      );
      expect(r.injected).toBe(true);
      expect(r.stderr).toBe('PostgreSQL failed during step s1a of permutation 1 (s1a): the connection of session s1 broke: terminating connection due to administrator command.\n');
      expect(r.code).toBe(2);
      expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
    });

    it('spec: the control backend terminated during the setup block; the schema is dropped over a fresh connection', async () => {
      const spec = file('term-setup.spec', sleepingSetup);
      const r = await withFault(
        runLockstep(['spec', spec, '--db', server.url]),
        async () => (await lockstepBackends("and query like '%pg_sleep(60)%'")).length === 1,
        async () => terminate(await lockstepBackends("and query like '%pg_sleep(60)%'")),
      );
      expect(r.injected).toBe(true);
      expect(r.stderr).toBe('PostgreSQL failed during the setup block of permutation 1 (s1a): terminating connection due to administrator command.\n');
      expect(r.code).toBe(2);
      expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
    });
  });

  describe('on the embedded server (its postmaster killed: the server is lost)', () => {
    const lost = async (args: string[], when: (backends: { pid: number; title: string }[]) => boolean) => {
      const tmp = privateTmp();
      const r = await withFault(
        runLockstep(args, { env: { DATABASE_URL: undefined, TMPDIR: tmp } }),
        () => {
          const e = embedded(tmp);
          return e !== undefined && when(e.backends);
        },
        () => {
          process.kill(embedded(tmp)!.postmaster, 'SIGQUIT');
        },
      );
      expect(r.injected).toBe(true);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(oneSentence);
      expect(leftInTmp(tmp)).toEqual([]);
      expect(postgresProcesses(tmp)).toEqual([]);
      return r;
    };

    it.each(replaying)('$command', async ({ args }) => {
      const r = await lost(args(), (backends) => backends.length >= 2);
      expect(r.stderr).toMatch(lostAtStep);
    }, 60_000);

    it('spec: lost while a step runs, the step is named', async () => {
      // The step's pg_sleep: a backend in SELECT for 200 ms (opening a session runs a quick SELECT too).
      const selecting = new Map<number, number>();
      const sleeping = (backends: { pid: number; title: string }[]) => {
        const now = performance.now();
        for (const pid of [...selecting.keys()]) if (!backends.some((b) => b.pid === pid && b.title.endsWith('SELECT'))) selecting.delete(pid);
        for (const b of backends) if (b.title.endsWith('SELECT') && !selecting.has(b.pid)) selecting.set(b.pid, now);
        return [...selecting.values()].some((since) => now - since >= 200);
      };
      const r = await lost(['spec', file('lost-step.spec', sleepingStep)], sleeping);
      expect(r.stderr).toMatch(/^PostgreSQL failed during step s1a of permutation 1 \(s1a\): [^\n]+\.\n$/);
    }, 60_000);
  });

  it('sslmode=require: one sentence, not pg\'s SECURITY WARNING', () => {
    const url = new URL(server.url);
    url.searchParams.set('sslmode', 'require');
    const r = spawnSync(process.execPath, [bin(), 'spec', file('ssl.spec', 'session s1\nstep s1a { SELECT 1; }\n'), '--db', url.toString()], { encoding: 'utf8' });
    expect(r.stderr).toMatch(oneSentence);
    expect(r.stderr).toMatch(/^Cannot use the PostgreSQL server at [^\n]*sslmode=require \(from --db\): The server does not support SSL connections\.\n$/);
    expect(r.status).toBe(2);
  }, 30_000);
});

describe('signals: exactly one sentence, 130 for SIGINT and 143 for SIGTERM, nothing left behind', () => {
  /** Spawns `lockstep` from the sources, sends `signal` (twice when `twice`) once `ready` holds, and waits for its end. */
  async function interrupt(args: string[], env: NodeJS.ProcessEnv, ready: (stderr: string) => Promise<boolean> | boolean, signal: NodeJS.Signals, twice = false) {
    const child = spawn(process.execPath, [bin(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
    let sent = false;
    for (let i = 0; i < 3000 && !sent && child.exitCode === null; i++) {
      if (await ready(stderr)) {
        child.kill(signal);
        if (twice) setTimeout(() => child.kill(signal), 50);
        sent = true;
      } else await sleep(5);
    }
    const started = Date.now();
    const end = await exited;
    return { sent, ...end, stderr, ms: Date.now() - started };
  }
  const sentence = (signal: string) => `Interrupted by ${signal}: lockstep stops once it has released what it holds (a run schema, connections, an embedded server).\n`;
  const sleepingSetup = 'setup { SELECT pg_sleep(1000); }\nsession s1\nstep s1a { SELECT 1; }\n';
  const noDb = { DATABASE_URL: '' };

  const cases: { title: string; signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP'; code: number; twice?: boolean; embedded: boolean; args: () => string[]; ready: (tmp: string, stderr: string) => Promise<boolean> | boolean }[] = [
    ...(['SIGINT', 'SIGTERM'] as const).flatMap((signal) => [
      {
        title: `${signal} while a spec's setup block sleeps on a --db server (twice)`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        twice: true,
        embedded: false,
        args: () => ['spec', file(`sig-setup-${signal}.spec`, sleepingSetup), '--db', server.url],
        ready: async () => (await lockstepBackends("and query like '%pg_sleep(1000)%'")).length === 1,
      },
      {
        title: `${signal} during the embedded server's initdb`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: true,
        args: () => ['spec', file(`sig-initdb-${signal}.spec`, sleepingSetup)],
        ready: (tmp: string) => readdirSync(tmp).some((n) => n.startsWith('pg-password-')),
      },
      {
        title: `${signal} while a spec's setup block sleeps on the embedded server`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: true,
        args: () => ['spec', file(`sig-embedded-${signal}.spec`, sleepingSetup)],
        ready: (tmp: string) => embedded(tmp)?.backends.some((b) => b.title.endsWith('SELECT')) ?? false,
      },
      {
        title: `${signal} while replay creates its backend on a --db server`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: false,
        args: () => ['replay', join(dir, 'cx.json'), '--db', server.url],
        ready: async () => (await lockstepBackends()).length >= 1,
      },
      {
        title: `${signal} during a long random search in the model (explore --runs 1000000000)`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: false,
        args: () => ['explore', 'points-deduct', '--strategy', 'for-update', '--runs', '1000000000'],
        ready: (_tmp: string, stderr: string) => stderr.startsWith('explore: '),
      },
      {
        title: `${signal} during a long exhaustive search in the model (explore job-queue --mode exhaustive --txs 7)`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: false,
        args: () => ['explore', 'job-queue', '--strategy', 'for-update', '--mode', 'exhaustive', '--txs', '7'],
        ready: (_tmp: string, stderr: string) => stderr.startsWith('explore: '),
      },
      {
        title: `${signal} during a long audit in the model (audit --runs 1000000000)`,
        signal,
        code: signal === 'SIGINT' ? 130 : 143,
        embedded: false,
        args: () => ['audit', '--scenario', 'points-deduct', '--runs', '1000000000'],
        ready: (_tmp: string, stderr: string) => stderr.startsWith('audit: '),
      },
    ]),
    {
      title: "SIGHUP (the terminal closed) during the embedded server's initdb",
      signal: 'SIGHUP',
      code: 129,
      embedded: true,
      args: () => ['spec', file('sig-initdb-SIGHUP.spec', sleepingSetup)],
      ready: (tmp: string) => readdirSync(tmp).some((n) => n.startsWith('pg-password-')),
    },
  ];
  type Case = (typeof cases)[number];
  const interrupted = async ({ signal, code, twice, embedded: own, args, ready }: Case) => {
    const tmp = privateTmp();
    const r = await interrupt(args(), { ...(own ? { ...noDb, TMPDIR: tmp } : { TMPDIR: tmp }), LOCKSTEP_PROGRESS_MS: '300' }, (stderr) => ready(tmp, stderr), signal, twice);
    expect(r.sent).toBe(true);
    // Progress lines of a long search may come first; the interrupt is one sentence, the last line.
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, -2).filter((l) => !/^(explore|audit): .*, \d+ s$/.test(l))).toEqual([]);
    expect(`${lines.at(-2)}\n`).toBe(sentence(signal));
    expect(r.code).toBe(code);
    expect(r.ms).toBeLessThan(15_000);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
    expect(leftInTmp(tmp)).toEqual([]);
    expect(postgresProcesses(tmp)).toEqual([]);
  };
  // A search in the model holds no connection: those cases wait for their first progress line side by side
  // (LOCKSTEP_PROGRESS_MS: after 300 ms rather than 5 s).
  const inModel = (c: Case) => c.title.includes('in the model');
  it.each(cases.filter((c) => !inModel(c)))('$title: exit $code', interrupted, 90_000);
  it.concurrent.each(cases.filter(inModel))('$title: exit $code', interrupted, 90_000);
});

describe('the library: an abort while the backend is being created leaves no schema', () => {
  it.each([0, 1, 2, 3, 5, 8, 13, 21, 34])('aborted after %i ms: an InterruptedError (or a backend, closed), no schema, no connection', async (ms) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), ms);
    const outcome = await createPostgresBackend(server.url, itemsSchema, { signal: controller.signal }).then(
      async (backend) => {
        await backend.close();
        return 'created';
      },
      (e: unknown) => e,
    );
    if (outcome !== 'created') expect(outcome).toBeInstanceOf(InterruptedError);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });
});
