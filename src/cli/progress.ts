import type { CommandIo } from './io.ts';

/**
 * Progress of long work on stderr: nothing for the first `quietMs`, then a
 * line at most every `everyMs` (`explore: 1,234,567 runs, 12 s`). The
 * library reports through a callback; this is the CLI's printing of it.
 */
export function progressPrinter(io: CommandIo, command: string, options: { quietMs?: number; everyMs?: number } = {}): (done: string) => void {
  const started = performance.now();
  const quietMs = options.quietMs ?? 5000;
  const everyMs = options.everyMs ?? 5000;
  let next = started + quietMs;
  return (done) => {
    const now = performance.now();
    if (now < next) return;
    next = now + everyMs;
    io.stderr(`${command}: ${done}, ${Math.round((now - started) / 1000)} s\n`);
  };
}

/** `1,234,567`; past a trillion `1.2e+20`. */
export function formatCount(n: number): string {
  return n < 1e12 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(2);
}
