import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of one latency, in milliseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * A latency distribution: Node's HDR histogram (`perf_hooks.createHistogram`,
 * three significant digits) of durations recorded in microseconds, read back
 * in milliseconds.
 *
 * ```ts
 * const h = new LatencyHistogram();
 * h.record(12.5); // ms
 * h.summary().p95; // 12.5
 * ```
 */
export class LatencyHistogram {
  private readonly histogram: RecordableHistogram = createHistogram();

  /** Records one duration in milliseconds (at least 1 µs). */
  record(ms: number): void {
    this.histogram.record(Math.max(1, Math.round(ms * 1000)));
  }

  /** Adds every value recorded in `other`. */
  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.count;
  }

  /** The `p`th percentile in milliseconds (0 when nothing was recorded). */
  percentile(p: number): number {
    return this.histogram.count === 0 ? 0 : this.histogram.percentile(p) / 1000;
  }

  summary(): LatencySummary {
    const ms = (us: number) => (this.histogram.count === 0 ? 0 : round(us / 1000));
    return {
      p50: ms(this.histogram.percentile(50)),
      p90: ms(this.histogram.percentile(90)),
      p95: ms(this.histogram.percentile(95)),
      p99: ms(this.histogram.percentile(99)),
      max: ms(this.histogram.max),
      mean: ms(this.histogram.mean),
    };
  }
}

/** Milliseconds to the microsecond. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
