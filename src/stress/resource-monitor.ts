import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** The server a run measured, with the settings that shape its numbers. */
export interface ServerReport {
  /** `15.20`. */
  readonly version: string;
  readonly max_connections: number;
  readonly synchronous_commit: string;
}

/** Reads the server's version, `max_connections` and `synchronous_commit`. */
export async function readServer(control: pg.Client): Promise<ServerReport> {
  const { rows } = await control.query<{ version: string; max: string; sync: string }>(
    `select current_setting('server_version') as version, current_setting('max_connections') as max, current_setting('synchronous_commit') as sync`,
  );
  return { version: rows[0].version.split(' ')[0], max_connections: Number(rows[0].max), synchronous_commit: rows[0].sync };
}

/** One second of the run's resources: the most connections seen and this process's RSS. */
export interface ResourceSecond {
  readonly second: number;
  readonly connections: number;
  readonly rssMiB: number;
}

/** Connections the run held on the server and this process's memory, sampled while it ran. */
export interface ResourceReport {
  /** The most server connections of the run's pool seen at once (`pg_stat_activity`). */
  readonly peakConnections: number;
  /** RSS of this process in MiB: at the start, at its peak, at the end. */
  readonly rssMiB: { readonly first: number; readonly peak: number; readonly last: number };
  /** Mean RSS of the last third of the samples minus that of the first third, in MiB. */
  readonly rssGrowthMiB: number;
  readonly seconds: readonly ResourceSecond[];
}

const intervalMs = 100;

/**
 * Samples, every 100 ms on its own connection, how many connections with the
 * run's `application_name` the server has (`pg_stat_activity`) and this
 * process's RSS, until `stop()`.
 */
export class ResourceMonitor {
  private readonly samples: { at: number; connections: number; rss: number }[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private stopping: Promise<ResourceReport> | undefined;

  constructor(
    private readonly control: pg.Client,
    private readonly applicationName: string,
    private readonly startedAt: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops sampling (after one last sample) and reports; idempotent. */
  stop(): Promise<ResourceReport> {
    this.stopping ??= (async () => {
      this.stopped = true;
      await this.loop;
      await this.sample().catch(() => {});
      return this.report();
    })();
    return this.stopping;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.sample();
      } catch {
        return; // the control connection went away (an abort): the run is ending
      }
      await sleep(intervalMs);
    }
  }

  private async sample(): Promise<void> {
    const { rows } = await this.control.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [this.applicationName]);
    this.samples.push({ at: performance.now() - this.startedAt, connections: rows[0].n, rss: process.memoryUsage.rss() / 2 ** 20 });
  }

  private report(): ResourceReport {
    const s = this.samples;
    const rss = s.map((x) => x.rss);
    const third = Math.max(1, Math.floor(s.length / 3));
    const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    const seconds: ResourceSecond[] = [];
    for (const x of s) {
      const second = Math.floor(x.at / 1000);
      const last = seconds.at(-1);
      if (last?.second === second) seconds[seconds.length - 1] = { second, connections: Math.max(last.connections, x.connections), rssMiB: round(x.rss) };
      else seconds.push({ second, connections: x.connections, rssMiB: round(x.rss) });
    }
    return {
      peakConnections: Math.max(0, ...s.map((x) => x.connections)),
      rssMiB: { first: round(rss[0] ?? 0), peak: round(Math.max(0, ...rss)), last: round(rss.at(-1) ?? 0) },
      rssGrowthMiB: round(mean(rss.slice(-third)) - mean(rss.slice(0, third))),
      seconds,
    };
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
