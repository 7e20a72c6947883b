import type { CommandIo } from './io.ts';

/**
 * Progress of long work on stderr: nothing for the first `io.progressMs`
 * (5 s), then a line at most that often (`explore: 1,234,567 runs, 12 s`).
 * The library reports through a callback; this is the CLI's printing of it.
 */
export function progressPrinter(io: CommandIo, command: string): (done: string) => void {
  const started = performance.now();
  const everyMs = io.progressMs ?? 5000;
  let next = started + everyMs;
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
