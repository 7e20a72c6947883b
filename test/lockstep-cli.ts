import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The `lockstep` executable, as `npx lockstep` runs it. */
export const bin = join(import.meta.dirname, '..', 'bin', 'lockstep.js');

/** Runs `lockstep` with `args` (and extra environment), waits for it, and returns its exit code and output. */
export function runLockstep(args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
