import { InputError } from '../errors.ts';

const unitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as the CLI takes it (`60s`, `500ms`, `2m`, `1.5s`, `1h`), in
 * milliseconds; anything else is an `InputError` naming the option.
 *
 * ```ts
 * parseDuration('--duration', '90s'); // 90000
 * ```
 */
export function parseDuration(option: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * unitsMs[match[2]] : Number.NaN;
  if (!match || !(ms >= 1)) throw new InputError(`${option} must be a duration like 60s, 500ms or 2m, not "${text}".`);
  return Math.round(ms);
}

/** `60 s`, `500 ms`, `1.5 s`: a duration in milliseconds for a report. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
