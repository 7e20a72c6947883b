import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Tinypool from 'tinypool';

/**
 * How long an idle thread of a kept pool stays up: long enough for the next
 * exploration of a session (a test file, a bench's turns) to find it loaded
 * and its JIT warm, short enough not to hold memory for good. The timer does
 * not keep the process alive, nor do idle threads.
 */
export const idleThreadMs = 60_000;

/** The pools kept between explorations, by thread count. */
const pools = new Map<number, Tinypool>();

/**
 * The pool of `threads` threads that explorations share (`parallel.ts`):
 * kept between calls, since a fresh thread loads the package and warms its
 * JIT (about half a second of CPU, its first runs several times slower), a
 * cost an exploration on a new pool pays on every thread at once. Threads
 * start when a task needs one and stop after `idleThreadMs` idle; a thread
 * whose task is aborted is stopped and replaced on demand. A worker keeps
 * what it prepared for a task's options (`explore-worker.ts`), so repeating
 * an exploration skips that too.
 */
export function workerPool(threads: number): Tinypool {
  let pool = pools.get(threads);
  if (pool === undefined) {
    // Two tasks per thread: `parallel.ts` queues the next chunk of runs in a thread while it runs one.
    pool = new Tinypool({ filename: workerFilename(), minThreads: 0, maxThreads: threads, concurrentTasksPerWorker: 2, idleTimeout: idleThreadMs, isolateWorkers: false });
    pools.set(threads, pool);
  }
  return pool;
}

/**
 * Stops the threads of every kept pool now (an idle pool stops by itself
 * after `idleThreadMs`, and never keeps the process alive): for a
 * long-running process that wants their memory back at once. Not for while
 * an exploration runs.
 *
 * ```ts
 * const report = await exploreOnWorkers({ ...options, workers: 2, scenarioModule });
 * await closeWorkerPools(); // the two threads stop now, not after a minute idle
 * ```
 */
export async function closeWorkerPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.destroy()));
}

/**
 * The module the pool's threads load: the compiled worker next to this file,
 * or, when lockstep runs from its TypeScript sources (its own tests), a
 * module that loads the TypeScript worker through tsx.
 */
function workerFilename(): string {
  const worker = new URL(`./explore-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  if (extname(worker.pathname) === '.js') return worker.href;
  // tsx's ES module entry (its CommonJS one does not load from a data: module).
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const source = `import { tsImport } from ${JSON.stringify(tsx)};\nconst worker = await tsImport(${JSON.stringify(worker.href)}, ${JSON.stringify(worker.href)});\nexport default worker.default;\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}
