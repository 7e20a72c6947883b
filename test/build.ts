/**
 * The compiled package (`dist/`) the spawned tests run (`bin/lockstep.js`):
 * whether it is built from the sources as they are, and building it when not.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** The first file under `src/` newer than the last build (`dist/cli.js`), or `dist/cli.js` when there is none; undefined when the build is current. */
export function staleSource(): string | undefined {
  const built = statSync(join(root, 'dist', 'cli.js'), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return 'dist/cli.js';
  const newer = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.ts') && statSync(join(root, 'src', f)).mtimeMs > built);
  return newer === undefined ? undefined : `src/${newer}`;
}

/** Runs `npm run build`'s compiler when the build is not current; rejects with tsc's output when it fails. */
export async function buildIfStale(): Promise<void> {
  if (staleSource() === undefined) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => output.push(String(d)));
    child.stderr.on('data', (d) => output.push(String(d)));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`The build (tsc -p tsconfig.build.json) failed:\n${output.join('')}`);
}
