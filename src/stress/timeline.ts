import { LatencyHistogram } from './latency-histogram.ts';

/** One second of a run: operations completed in it and their p95 latency. */
export interface SecondReport {
  readonly second: number;
  readonly completed: number;
  readonly p95Ms: number;
}

/** Throughput and p95 of a third of the run. */
export interface ThirdReport {
  readonly tps: number;
  readonly p95Ms: number;
}

/**
 * Whether the run held its pace: the last third of its whole seconds against
 * the first. `stable` when throughput kept at least 80% of the first third's
 * and p95 at most doubled (or grew by under 5 ms); `too-short` under three
 * whole seconds.
 */
export interface Stability {
  readonly verdict: 'stable' | 'degraded' | 'too-short';
  readonly firstThird?: ThirdReport;
  readonly lastThird?: ThirdReport;
  /** How much throughput fell from the first third to the last, as a fraction of the first (negative when it rose). */
  readonly throughputDrop?: number;
  /** The sentence a report prints. */
  readonly reason: string;
}

/** Operations completed per second of the run, with a latency histogram per second. */
export class Timeline {
  private readonly seconds: { completed: number; latency: LatencyHistogram }[] = [];

  constructor(private readonly startedAt: number) {}

  record(completedAt: number, latencyMs: number): void {
    const second = Math.max(0, Math.floor((completedAt - this.startedAt) / 1000));
    while (this.seconds.length <= second) this.seconds.push({ completed: 0, latency: new LatencyHistogram() });
    const bucket = this.seconds[second];
    bucket.completed++;
    bucket.latency.record(latencyMs);
  }

  /** Every second from the start, the last one possibly partial. */
  report(): SecondReport[] {
    return this.seconds.map((s, second) => ({ second, completed: s.completed, p95Ms: round(s.latency.percentile(95)) }));
  }

  /** The stability verdict over the whole seconds of a run that lasted `elapsedMs`. */
  stability(elapsedMs: number): Stability {
    const whole = Math.min(this.seconds.length, Math.floor(elapsedMs / 1000));
    if (whole < 3) return { verdict: 'too-short', reason: `The run lasted under 3 whole seconds, too short to compare its first and last thirds.` };
    const third = Math.floor(whole / 3);
    const first = this.third(0, third);
    const last = this.third(whole - third, whole);
    const throughputDrop = first.tps === 0 ? 0 : round((first.tps - last.tps) / first.tps);
    const slower = last.tps < 0.8 * first.tps;
    const laggier = last.p95Ms > Math.max(2 * first.p95Ms, first.p95Ms + 5);
    const verdict = slower || laggier ? 'degraded' : 'stable';
    const numbers = `${fmt(first.tps)} → ${fmt(last.tps)} op/s, p95 ${fmt(first.p95Ms)} → ${fmt(last.p95Ms)} ms (first third → last third)`;
    const reason =
      verdict === 'stable'
        ? `Stable: ${numbers}.`
        : `Degraded: ${numbers}; ${[slower ? 'throughput fell by more than 20%' : '', laggier ? 'p95 more than doubled' : ''].filter(Boolean).join(' and ')}.`;
    return { verdict, firstThird: first, lastThird: last, throughputDrop, reason };
  }

  private third(from: number, to: number): ThirdReport {
    const latency = new LatencyHistogram();
    let completed = 0;
    for (let s = from; s < to; s++) {
      completed += this.seconds[s].completed;
      latency.add(this.seconds[s].latency);
    }
    return { tps: round(completed / (to - from)), p95Ms: round(latency.percentile(95)) };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : String(Number(x.toFixed(1)));
}
