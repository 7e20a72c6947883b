import { fc } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { scheduleArbitrary } from '../src/explorer/arbitraries.ts';
import { replay } from '../src/explorer/replay.ts';
import { runOnEngine } from '../src/explorer/runner.ts';
import { choiceSchedule } from '../src/explorer/schedule.ts';
import { propertySeed } from './seed.ts';
import { isolationLevels } from '../src/adapters/backend.ts';
import { createPostgresBackend, type PostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { auditCatalogueEntry, type CatalogueRow } from '../src/explorer/catalogue-audit.ts';
import { catalogue, itemsSchema } from '../src/model/scenarios/catalogue.ts';

/**
 * The anomaly catalogue against PostgreSQL's documented behaviour: read
 * committed allows the anomalies of reads that see different committed
 * states (read skew and its kin), lost updates and write skew; repeatable
 * read (snapshot isolation) allows only write skew, on rows and on
 * predicates; serializable allows none; no level allows dirty writes or dirty
 * reads. The model's search and PostgreSQL's replays must both say so.
 *
 * No level allows OTV: a transaction that has seen a write of T1 never reads a
 * version older than T1's afterwards, because even read committed takes each
 * statement's snapshot after the previous one.
 */
const possible: Record<string, readonly string[]> = {
  'read-committed': ['PMP', 'P4', 'G-single', 'G2-item', 'G2'],
  'repeatable-read': ['G2-item', 'G2'],
  serializable: [],
};

/** The class of the dependency cycle of each possible anomaly's witness. */
const witnessClass: Record<string, string> = {
  PMP: 'G-single',
  P4: 'lost update',
  'G-single': 'G-single',
  'G2-item': 'G2-item',
  G2: 'G2',
};

let server: Provisioned;
let backend: PostgresBackend;
const rows: CatalogueRow[] = [];

beforeAll(async () => {
  server = await provisionPostgres();
  backend = await createPostgresBackend(server.url, itemsSchema);
  for (const entry of catalogue) rows.push(...(await auditCatalogueEntry(entry, isolationLevels, backend)));
});

afterAll(async () => {
  await backend?.close();
  await server?.stop();
});

describe('anomaly catalogue', () => {
  it('covers G0, G1a, G1b, G1c, OTV, PMP, P4, G-single, G2-item and G2 under every isolation level', () => {
    expect(rows.map((r) => `${r.anomaly} ${r.isolation}`)).toEqual(
      ['G0', 'G1a', 'G1b', 'G1c', 'OTV', 'PMP', 'P4', 'G-single', 'G2-item', 'G2'].flatMap((a) => isolationLevels.map((l) => `${a} ${l}`)),
    );
  });

  for (const isolation of isolationLevels) {
    it(`under ${isolation}: the model and PostgreSQL allow exactly ${possible[isolation].join(', ') || 'none of them'}`, () => {
      const at = rows.filter((r) => r.isolation === isolation);
      expect(at.filter((r) => r.model === 'possible').map((r) => r.anomaly)).toEqual(possible[isolation]);
      expect(at.filter((r) => r.postgres === 'possible').map((r) => r.anomaly)).toEqual(possible[isolation]);
    });
  }

  it('every replayed schedule (witnesses, classic interleavings, other levels\' witnesses) ran on PostgreSQL exactly as the model predicted', () => {
    expect(rows.filter((r) => r.conformance !== 'confirmed').map((r) => `${r.anomaly} ${r.isolation}`)).toEqual([]);
    expect(rows.reduce((n, r) => n + r.replays.length, 0)).toBeGreaterThanOrEqual(rows.length);
  });

  it('names the dependency cycle of every witness in Adya\'s terms', () => {
    for (const r of rows.filter((row) => row.witness)) {
      expect(r.witness!.anomaly?.class, `${r.anomaly} ${r.isolation}`).toBe(witnessClass[r.anomaly]);
    }
    const lost = rows.find((r) => r.anomaly === 'P4' && r.isolation === 'read-committed')!;
    expect(lost.witness).toEqual({ schedule: [1, 2, 2, 2, 1, 1], preemptions: 1, anomaly: { class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' } });
    const skew = rows.find((r) => r.anomaly === 'G2-item' && r.isolation === 'repeatable-read')!;
    expect(skew.witness!.anomaly).toEqual({ class: 'G2-item', cycle: 'T1 -rw-> T2 -rw-> T1' });
  });

  it('says how each prevented anomaly was stopped', () => {
    const how = (anomaly: string, isolation: string) => rows.find((r) => r.anomaly === anomaly && r.isolation === isolation)!.prevention;
    expect(how('G0', 'read-committed')).toBe('T2 waited for T1');
    expect(how('P4', 'repeatable-read')).toBe('T2 failed with 40001');
    expect(how('G2-item', 'serializable')).toBe('T2 failed with 40001');
    expect(how('G1a', 'serializable')).toBe('reads saw committed data only');
    expect(isolationLevels.map((l) => how('OTV', l))).toEqual(['T2 waited for T1', 'T2 failed with 40001', 'T2 failed with 40001']);
  });
});

describe('catalogue conformance', () => {
  // Every distinct schedule among 60 random ones per entry and level: SSI's edges, dooms and commit-time checks against PostgreSQL's.
  for (const entry of catalogue) {
    it(`${entry.anomaly}: random schedules under every level replay identically on PostgreSQL`, async () => {
      const { scenario } = entry;
      const engine = new MemoryEngine(scenario.schema);
      for (const isolation of isolationLevels) {
        const spec = { scenario, strategy: scenario.strategies['as-written'], isolation, workload: scenario.canonical };
        const schedules = new Map<string, number[]>();
        for (const choices of fc.sample(scheduleArbitrary(3, 12), { numRuns: 60, seed: propertySeed })) {
          const schedule = runOnEngine(engine, spec, choiceSchedule(choices)).steps.map((s) => s.tx);
          schedules.set(schedule.join(), schedule);
        }
        for (const schedule of schedules.values()) {
          const report = await replay(backend, spec, schedule);
          expect(report.status, `${entry.anomaly} ${isolation} ${schedule.join(' ')}`).toBe('confirmed');
        }
      }
    });
  }
});
