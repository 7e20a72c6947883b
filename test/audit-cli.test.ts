import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { scenarios } from '../src/model/scenarios/index.ts';
import { runLockstep } from './lockstep-cli.ts';

let server: Provisioned;

beforeAll(async () => {
  // The test run's PostgreSQL (DATABASE_URL, test/global-setup.ts): this file's own database on it.
  server = await provisionPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const lockstep = (args: string[]) => runLockstep(args);

async function leftovers(): Promise<{ connections: number; schemas: number }> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const connections = await client.query(`select count(*)::int as n from pg_stat_activity where application_name = 'lockstep' and datname = current_database()`);
    const schemas = await client.query(`select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'`);
    return { connections: connections.rows[0].n, schemas: schemas.rows[0].n };
  } finally {
    await client.end();
  }
}

describe('lockstep audit --catalogue', () => {
  it('prints one row per anomaly and level, model beside PostgreSQL, exits 0 when they agree, and leaves nothing behind', async () => {
    const { code, stdout, stderr } = await lockstep(['audit', '--catalogue', '--anomaly', 'g2-item', '--db', server.url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0].trim().split(/ {2,}/)).toEqual(['anomaly', 'isolation', 'model', 'PostgreSQL', 'witness (model) or what prevents it', 'cycle']);
    expect(lines.slice(1, 4).map((l) => l.trim().split(/ {2,}/))).toEqual([
      ['G2-item', 'read-committed', 'possible', 'possible', 'T1 T1 T2 T2 T2 T2 T1 T1', 'T1 -rw-> T2 -rw-> T1', 'G2-item'],
      ['G2-item', 'repeatable-read', 'possible', 'possible', 'T1 T2 T2 T2 T2 T1 T1 T1', 'T1 -rw-> T2 -rw-> T1', 'G2-item'],
      ['G2-item', 'serializable', 'prevented', 'prevented', 'T2 failed with 40001', '-'],
    ]);
    expect(lines[5]).toMatch(/^The model and PostgreSQL \d+\.\d+ agree on all 3 rows, and every replayed schedule ran on PostgreSQL \d+\.\d+ exactly as the model predicted\.$/);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });

  it('--json gives rows of anomaly, isolation, model, postgres and witness', async () => {
    const { code, stdout } = await lockstep(['audit', '--catalogue', '--anomaly', 'P4', '--isolation', 'read-committed', '--json', '--db', server.url]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({
      anomaly: 'P4',
      isolation: 'read-committed',
      model: 'possible',
      postgres: 'possible',
      witness: { schedule: [1, 2, 2, 2, 1, 1], preemptions: 1, anomaly: { class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' } },
      conformance: 'confirmed',
    });
  });

  it.each([
    [['audit', '--catalogue', '--anomaly', 'G9'], 'Unknown anomaly "G9"; the catalogue has G0, G1a, G1b, G1c, OTV, PMP, P4, G-single, G2-item, G2.'],
    [['audit', '--catalogue', '--isolation', 'snapshot'], 'Unknown isolation level "snapshot"; choose one of read-committed, repeatable-read, serializable.'],
    [['audit', '--catalogue', '--json', '--markdown'], 'Choose one of --json and --markdown.'],
  ])('bad input %j: one sentence, exit 2', async (args, message) => {
    const { code, stdout, stderr } = await lockstep([...args, '--db', 'postgres://nobody@127.0.0.1:1/none']);
    expect(stderr).toBe(`${message}\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });
});

describe('lockstep audit (the matrix)', () => {
  it('--replay: one row per strategy and level, with verdict, broken rule, anomaly, size and cost; PostgreSQL confirms every row', async () => {
    const { code, stdout, stderr } = await lockstep(['audit', '--scenario', 'points-deduct', '--isolation', 'read-committed', '--runs', '300', '--replay', '--json', '--db', server.url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { rows } = JSON.parse(stdout);
    const verdicts = rows.map((r: any) => [r.strategy, r.status, r.invariant ?? null, r.anomaly ?? null, r.transactions ?? null, r.preemptions ?? null, r.postgres]);
    expect(verdicts).toEqual([
      ['naive', 'failed', 'balance-matches-successes', 'lost update', 2, 1, 'confirmed'],
      ['for-update', 'passed', null, null, null, null, 'confirmed'],
      ['atomic-update', 'passed', null, null, null, null, 'confirmed'],
      ['advisory-lock', 'passed', null, null, null, null, 'confirmed'],
      ['serializable-retry', 'failed', 'balance-matches-successes', 'lost update', 2, 1, 'confirmed'],
    ]);
    const forUpdate = rows.find((r: any) => r.strategy === 'for-update');
    expect(forUpdate.blocksPerRun).toBeGreaterThan(0);
    expect(forUpdate.abortsPerRun).toBe(0);
    expect(await leftovers()).toEqual({ connections: 0, schemas: 0 });
  });

  it('--markdown prints the same table for a README, with a summary line', async () => {
    const { code, stdout } = await lockstep(['audit', '--scenario', 'points-add', '--isolation', 'repeatable-read', '--runs', '300', '--markdown']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('| scenario | strategy | isolation | verdict | broken rule | anomaly | size | blocks/run | aborts/run | PostgreSQL |');
    expect(lines[2]).toMatch(/^\| points-add \| naive \| repeatable-read \| failed \| every-operation-succeeds \| none \| 2 tx, 1 preemption \| \d+\.\d\d \| \d+\.\d\d \| - \|$/);
    expect(lines.at(-1)).toBe('5 combinations: 1 passed, 4 failed.');
  });

  it.each([
    [['audit', '--scenario', 'points-teleport'], `Unknown scenario "points-teleport"; choose one of ${scenarios.map((s) => s.id).join(', ')}.`],
    [['audit', '--anomaly', 'G2'], '--anomaly needs --catalogue.'],
    [['audit', '--catalogue', '--scenario', 'points-deduct'], '--scenario and --catalogue do not go together: the catalogue has its own workloads.'],
    [['audit', '--runs', '0'], '--runs must be between 1 and 9007199254740991, not 0.'],
  ])('bad input %j: one sentence, exit 2', async (args, message) => {
    const { code, stdout, stderr } = await lockstep(args);
    expect(stderr).toBe(`${message}\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });
});
