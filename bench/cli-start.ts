import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', 'bin', 'lockstep.js');

/** Median wall time of `node <args>` over `times` starts, in seconds. */
function medianStart(args: readonly string[], times: number): number {
  const seconds: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  return seconds[Math.floor(seconds.length / 2)];
}

/** `lockstep list` and `lockstep --help` (the compiled bin, `npm run build`) against a bare `node -e 0`, measured in the same run. */
export function cliStart(times = 15): { list: number; help: number; node: number } {
  return { node: medianStart(['-e', '0'], times), list: medianStart([bin, 'list'], times), help: medianStart([bin, '--help'], times) };
}
