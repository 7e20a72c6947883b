import { main } from './cli/main.ts';

/**
 * The `lockstep` executable: the only place that touches the process. It
 * wires stdout and stderr, turns Ctrl-C and SIGTERM into an aborted signal
 * while a command holds PostgreSQL (its resources are released, then the exit
 * code is 130), ends quietly when the reader of stdout goes away
 * (`lockstep list | head -2`), and sets the exit code `main` returns.
 */
const controller = new AbortController();
let interrupted = false;
let watching = false;

/**
 * Ctrl-C and SIGTERM are caught only once a command asks for the signal,
 * which it does when it opens PostgreSQL: then they release the run schema,
 * the connections and an embedded server before the process ends with 130.
 * A search in the model (synchronous) keeps the default: the process ends at once.
 */
function interruptSignal(): AbortSignal {
  if (watching) return controller.signal;
  watching = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write('Interrupted: dropping the run schema and stopping PostgreSQL.\n');
      controller.abort();
      // Whatever was waiting (a lock, a server starting) gets a moment to let go; the process then ends.
      setTimeout(() => process.exit(130), 3_000).unref();
    });
  }
  return controller.signal;
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const code = await main(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  // After an interrupt, the failures it causes (a closed connection) are not news.
  stderr: (text) => void (interrupted || process.stderr.write(text)),
  cwd: process.cwd(),
  get signal() {
    return interruptSignal();
  },
  isTTY: process.stdout.isTTY === true,
});
process.exitCode = interrupted ? 130 : code;
if (interrupted) process.exit(130);
