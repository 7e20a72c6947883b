import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { createStressDatabase, type StressDatabase } from './stress-database.ts';

// Nothing here asserts a time: thresholds on latency are checked for their shape, never their verdict.
let db: StressDatabase;
beforeAll(async () => {
  db = await createStressDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Runs `lockstep stress ...` in this process, against this file's database unless told otherwise. */
async function lockstep(args: string[], signal?: AbortSignal) {
  let stdout = '';
  let stderr = '';
  const code = await main(['stress', ...args], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: process.cwd(), signal });
  return { code, stdout, stderr };
}

describe('lockstep stress', () => {
  it('--json: one object with the run, each operation, the thresholds, the rules, the final tables and the status; exit 0', async () => {
    const { code, stdout, stderr } = await lockstep(['--profile', 'scale', '--strategy', 'atomic-update', '--threshold', 'max<3600s', '--json', '--db', db.url]);
    expect(stderr).toBe('');
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      scenario: 'order-stock',
      strategy: 'atomic-update',
      isolation: 'read-committed',
      profile: 'scale',
      clients: 500,
      pool: 10,
      loadModel: 'closed',
      transactions: 500,
      rules: [
        { invariant: 'never-oversold', holds: true },
        { invariant: 'every-request-answered', holds: true },
      ],
      model: { verdict: 'passes' },
      status: 'passed',
    });
    expect(report.operations.order.count).toBe(500);
    expect(report.operations.order.outcomes).toEqual({ ok: 500 });
    expect(Object.keys(report.operations.order.latencyMs)).toEqual(['p50', 'p90', 'p95', 'p99', 'max', 'mean']);
    expect(report.thresholds.map((t: { expr: string; ok: boolean }) => [t.expr, t.ok])).toEqual([
      ['count(error)==0', true],
      ['invariants==0', true],
      ['max<3600s', true],
    ]);
    expect(report.final.products).toEqual([
      { id: 1, stock: 500 },
      { id: 2, stock: 10 },
      { id: 3, stock: 1 },
    ]);
    expect(report.final.orders).toHaveLength(500);
    expect(report.maxConnections).toBeLessThanOrEqual(10);
    expect(Object.keys(report.server)).toEqual(['version', 'max_connections', 'synchronous_commit']);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });

  it('prints the thresholds first with ✓/✗, then the operations, the outcomes and the rules beside the model', async () => {
    const { code, stdout } = await lockstep(['--profile', 'points-scale', '--strategy', 'atomic-update', '--threshold', 'count(ok)==500', '--db', db.url]);
    const blocks = stdout.trimEnd().split('\n\n');
    expect(blocks[0]).toMatch(/^Stress on PostgreSQL \d+\.\d+ · points-deduct · atomic-update · read-committed · profile points-scale\n500 clients · pool of 10 · closed model · 500 transactions in /);
    expect(blocks[0]).toMatch(/\nServer: max_connections \d+, synchronous_commit \w+ · machine: \d+ cores?, Node \d+/);
    expect(blocks[1]).toBe('Thresholds\n  ✓ count(error)==0  0\n  ✓ invariants==0    0\n  ✓ count(ok)==500   500');
    expect(blocks[2]).toMatch(/^Operations\n  operation +count +tx\/s +p50 +p90 +p95 +p99 +max \(ms\)\n  deduct +latency +500 /);
    expect(blocks[2]).toContain('\n             pool wait ');
    expect(blocks[3]).toBe('Outcomes\n  deduct: ok 500');
    expect(blocks[5]).toBe(
      [
        "Rules over the final tables (accounts 1 row, history 500 rows) and every transaction's outcome",
        '  ✓ balance-never-negative',
        '  ✓ balance-matches-successes',
        '  ✓ history-matches-successes',
        '  ✓ all-succeed-balance-zero',
        '  The model declares atomic-update under read-committed safe (passes), and this load agrees.',
      ].join('\n'),
    );
    expect(blocks[6]).toBe('PASSED: every rule held and 3 thresholds met.');
    expect(code).toBe(0);
  });

  it('exits 1 when a threshold is crossed, saying how many', async () => {
    const { code, stdout } = await lockstep(['--profile', 'mixed', '--strategy', 'for-update', '--threshold', 'count(ok)<50', '--db', db.url]);
    expect(stdout).toContain('\n  ✗ count(ok)<50     50\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('FAILED: 1 of 3 thresholds crossed.');
    expect(code).toBe(1);
  });

  it('logins: 1,000 logins over 100 users each get a token of their own', async () => {
    const { code, stdout } = await lockstep(['--profile', 'logins', '--strategy', 'atomic-update', '--json', '--db', db.url]);
    const report = JSON.parse(stdout);
    expect(report.operations.login.outcomes).toEqual({ ok: 1000 });
    expect(report.finalTruncated).toBeUndefined();
    expect(report.final.outstanding).toHaveLength(1000);
    expect(report.final.users.every((u: { sessions: number }) => u.sessions === 10)).toBe(true);
    expect(code).toBe(0);
  });

  it('Ctrl-C (an aborted io.signal) mid-run exits 130 and leaves no schema and no connection', async () => {
    const controller = new AbortController();
    const running = lockstep(['points-mixed', '--strategy', 'for-update', '--workload', 'canonical', '--duration', '60s', '--db', db.url], controller.signal);
    for (let i = 0; i < 500 && (await db.connections('lockstep-stress-%')) < 3; i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const { code, stdout, stderr } = await running;
    expect(stdout).toBe('');
    expect(stderr).toBe('Interrupted: the run schema was dropped and every connection ended.\n');
    expect(code).toBe(130);
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });
});

describe('lockstep stress: bad input is one sentence and exit 2, with nothing left behind', () => {
  const bad: [string, string[], string][] = [
    ['an unknown profile', ['--profile', 'nope', '--strategy', 'naive'], 'Unknown profile "nope"; choose one of mixed, sustained, burst, scale, points-scale, logins.'],
    ['a bad threshold', ['points-deduct', '--strategy', 'naive', '--threshold', 'p95<<500ms'], 'Bad threshold "p95<<500ms": expected a number at character 5, found "<500ms".'],
    ['a threshold on an unknown operation', ['points-deduct', '--strategy', 'naive', '--threshold', 'p95(order)<1s'], 'Bad threshold "p95(order)<1s": no operation "order" at character 5; points-deduct\'s operations are deduct.'],
    [
      '--rate with --transactions',
      ['points-deduct', '--strategy', 'naive', '--rate', '50', '--transactions', '100'],
      '--rate needs --duration, not --transactions: an open model runs for a time, whatever the number of transactions.',
    ],
    ['--duration and --transactions', ['points-deduct', '--strategy', 'naive', '--duration', '5s', '--transactions', '100'], 'Give either --duration or --transactions, not both.'],
    ['a duration without a unit', ['points-deduct', '--strategy', 'naive', '--duration', '10'], '--duration must be a duration like 60s, 500ms or 2m, not "10".'],
    ['a profile of another scenario', ['order-stock', '--profile', 'points-scale', '--strategy', 'naive'], 'Profile points-scale runs scenario points-deduct, not order-stock.'],
    ['no scenario and no profile', ['--strategy', 'naive'], 'Name a scenario (lockstep stress points-deduct --strategy naive) or a profile with --profile.'],
    ['no strategy', ['points-deduct'], 'Choose a strategy with --strategy; points-deduct has naive, for-update, atomic-update, advisory-lock, serializable-retry.'],
    ['an unknown workload', ['points-deduct', '--strategy', 'naive', '--workload', 'random'], '--workload must be generated or canonical, not "random".'],
  ];
  it.each(bad)('%s', async (_, args, sentence) => {
    const { code, stdout, stderr } = await lockstep([...args, '--db', db.url]);
    expect(stderr).toBe(`${sentence}\n`);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });

  it("a pool larger than the server's max_connections", async () => {
    const { code, stdout, stderr } = await lockstep(['points-deduct', '--strategy', 'naive', '--pool', '5000', '--db', db.url]);
    expect(stderr).toMatch(/^A pool of 5000 connections is more than the server's max_connections \(\d+\); give a smaller pool\.\n$/);
    expect(stdout).toBe('');
    expect(code).toBe(2);
    expect(await db.leftovers()).toEqual({ schemas: 0, connections: 0 });
  });
});
