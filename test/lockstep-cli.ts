import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';
import { staleSource } from './build.ts';

let current = false;

/**
 * The `lockstep` executable, as `npx lockstep` runs it: `bin/lockstep.js`,
 * which runs the compiled `dist/`. A test that spawns it must test the
 * sources as they are: the run's global setup builds when `src/` changed
 * (test/global-setup.ts), and this fails if a file changed since.
 */
export function bin(): string {
  if (!current) {
    const stale = staleSource();
    if (stale !== undefined) throw new Error(`dist/ is older than ${stale}: run npm run build (the test run builds when it starts), so that the spawned lockstep runs the code under test.`);
    current = true;
  }
  return join(import.meta.dirname, '..', 'bin', 'lockstep.js');
}

/** The exit code of a `lockstep` run and what it printed. */
export interface LockstepResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where `lockstep` runs, and with what extra environment. */
export interface LockstepOptions {
  /** Extra environment for the run, e.g. `{ DATABASE_URL: '' }`; `undefined` removes a variable. */
  readonly env?: NodeJS.ProcessEnv;
  /** The folder it runs in (default: this process's). */
  readonly cwd?: string;
}

/**
 * Runs `lockstep` with `args` in this process, through `main` (what the bin
 * runs), and returns its exit code and output: the bytes the bin would
 * print, without starting a process.
 *
 * The extra environment is set on `process.env` for the call and restored
 * after; `cwd` is the folder the command reads relative paths from. Calls
 * must not overlap (a file's tests run one at a time).
 */
export async function runLockstep(args: readonly string[], options: LockstepOptions = {}): Promise<LockstepResult> {
  let stdout = '';
  let stderr = '';
  const cwd = options.cwd ?? process.cwd();
  const restoreEnv = setEnv(options.env ?? {});
  try {
    const code = await main(args, {
      stdout: (text) => void (stdout += text),
      stderr: (text) => void (stderr += text),
      cwd,
      isTTY: false,
    });
    return { code, stdout, stderr };
  } finally {
    restoreEnv();
  }
}

/**
 * Runs the `lockstep` executable in a child process and waits for it. Only
 * for tests of what the process does (the bin's wiring, an embedded server
 * that must not outlive its run); the others call `runLockstep`.
 */
export function spawnLockstep(args: readonly string[], options: LockstepOptions = {}): LockstepResult {
  const r = spawnSync(process.execPath, [bin(), ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sets `env` on `process.env`; returns what puts the previous values back. */
function setEnv(env: NodeJS.ProcessEnv): () => void {
  const saved = Object.keys(env).map((name) => [name, process.env[name]] as const);
  const assign = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  for (const [name, value] of Object.entries(env)) assign(name, value);
  return () => {
    for (const [name, value] of saved) assign(name, value);
  };
}
