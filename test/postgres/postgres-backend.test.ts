import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Event, IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import { MemoryBackend } from '../../src/adapters/memory/memory-backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { createPostgresBackend, type PostgresBackend } from '../../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { runOnBackend, runOnEngine, type RunPlan } from '../../src/explorer/runner.ts';
import { choiceSchedule } from '../../src/explorer/schedule.ts';
import { pointsDeduct } from '../../src/model/scenarios/points.ts';
import { defineSchema, type Tables } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

const schema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  users: { columns: { id: 'int', email: 'text', active: 'bool' }, primaryKey: ['id'], unique: [['email']] },
});
const seed: Tables = {
  accounts: [
    { id: 1, balance: 3000 },
    { id: 2, balance: 500 },
  ],
  users: [],
};

const forUpdate = (id: number): Statement => ({ kind: 'select', table: 'accounts', where: { id }, lock: 'update' });
const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const insertUser = (id: number, email: string): Statement => ({ kind: 'insert', table: 'users', rows: [{ id, email, active: true }] });

let server: Provisioned;
let postgres: PostgresBackend;

beforeAll(async () => {
  server = await provisionPostgres();
  postgres = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-test' });
});

afterAll(async () => {
  await postgres?.close();
  await server?.stop();
});

/** Runs every step on the model and on PostgreSQL (with the model's events as `expected`) and returns both. */
class SideBySide {
  readonly memory = new MemoryBackend(schema);

  async reset(isolation: IsolationLevel): Promise<void> {
    await this.memory.reset(seed, isolation);
    await postgres.reset(seed, isolation);
  }

  async step(tx: TxId, statement: Statement): Promise<{ model: Event[]; postgres: Event[] }> {
    const model = await this.memory.step(tx, statement);
    return { model, postgres: await postgres.step(tx, statement, model) };
  }

  /** Steps both and expects PostgreSQL to do what the model does; returns the events. */
  async agree(tx: TxId, statement: Statement): Promise<Event[]> {
    const { model, postgres: actual } = await this.step(tx, statement);
    expect(actual).toEqual(model);
    return actual;
  }
}

describe('describe: a statement as each backend runs it, for reports', () => {
  const update: Statement = { kind: 'update', table: 'accounts', set: { balance: 2700 }, where: { id: 1 } };

  it('PostgreSQL: the SQL without the run schema, parameters after it', () => {
    expect(postgres.describe(update)).toBe('update "accounts" set "balance" = $1 where "id" = $2 returning *  -- $1=2700, $2=1');
    expect(postgres.describe(commit)).toBe('commit');
  });

  it("the model: lockstep's short form", () => {
    expect(new MemoryBackend(schema).describe(update)).toBe('update accounts set balance=2700 where id=1');
  });
});

describe('PostgresBackend', () => {
  let both: SideBySide;
  beforeEach(async () => {
    both = new SideBySide();
    await both.reset('read-committed');
  });

  it('is named after the server version', () => {
    expect(postgres.name).toBe(`PostgreSQL ${server.version}`);
  });

  it('reports a FOR UPDATE wait as blocked, then completes it when the holder commits', async () => {
    expect(await both.agree(1, forUpdate(1))).toEqual([{ tx: 1, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } }]);
    expect(await both.agree(2, forUpdate(1))).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2700 } })).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [{ id: 1, balance: 2700 }] } },
    ]);
    expect(await both.agree(1, commit)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { rows: [{ id: 1, balance: 2700 }] } },
    ]);
    await both.agree(2, commit);
    expect(await postgres.tables()).toEqual(await both.memory.tables());
  });

  it('makes a second inserter of the same key wait, then fail with 23505 when the first commits', async () => {
    await both.agree(1, insertUser(1, 'a@example.com'));
    expect(await both.agree(2, insertUser(2, 'a@example.com'))).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(await both.agree(1, commit)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { error: { code: '23505', message: 'duplicate key value violates unique constraint "users_email_key"' } } },
    ]);
    // The failed transaction ignores further statements until it ends; COMMIT of it ends it without error.
    expect(await both.agree(2, forUpdate(1))).toEqual([
      {
        tx: 2,
        kind: 'completed',
        result: { error: { code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' } },
      },
    ]);
    expect(await both.agree(2, commit)).toEqual([{ tx: 2, kind: 'completed', result: { rows: [] } }]);
    expect(await postgres.tables()).toEqual(await both.memory.tables());
  });

  it('lets the second inserter proceed when the first rolls back', async () => {
    await both.agree(1, insertUser(1, 'a@example.com'));
    await both.agree(2, insertUser(1, 'a@example.com'));
    expect(await both.agree(1, rollback)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { rows: [{ id: 1, email: 'a@example.com', active: true }] } },
    ]);
    await both.agree(2, commit);
    expect(await postgres.tables()).toEqual({ accounts: seed.accounts, users: [{ id: 1, email: 'a@example.com', active: true }] });
  });

  it('aborts the transaction whose wait closes a deadlock cycle with 40P01 and lets the other proceed', async () => {
    await both.agree(1, forUpdate(1));
    await both.agree(2, forUpdate(2));
    expect(await both.agree(1, forUpdate(2))).toEqual([{ tx: 1, kind: 'blocked', waitsFor: [2] }]);
    expect(await both.agree(2, forUpdate(1))).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [{ id: 2, balance: 500 }] } },
      { tx: 2, kind: 'completed', result: { error: { code: '40P01', message: 'deadlock detected' } } },
    ]);
    await both.agree(2, rollback);
    await both.agree(1, commit);
  });

  it.each([
    { amount: 2800, rows: [] },
    { amount: 2500, rows: [{ id: 1, balance: 200 }] },
  ])('re-checks the newest row version after a wait under READ COMMITTED (deduct $amount after 300)', async ({ amount, rows }) => {
    const deduct = (n: number): Statement => ({ kind: 'update', table: 'accounts', where: { id: 1, balance: { gte: n } }, set: { balance: { add: -n } } });
    await both.agree(1, deduct(300));
    expect(await both.agree(2, deduct(amount))).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    // The balance is now 2700: a deduction of 2800 no longer matches, one of 2500 updates the newest version.
    expect(await both.agree(1, commit)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { rows } },
    ]);
    await both.agree(2, commit);
    expect(await postgres.tables()).toEqual(await both.memory.tables());
  });

  it('fails a lock wait on a changed row with 40001 under REPEATABLE READ', async () => {
    await both.reset('repeatable-read');
    await both.agree(2, { kind: 'select', table: 'accounts', where: {} });
    await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: { add: 1 } } });
    await both.agree(2, forUpdate(1));
    expect(await both.agree(1, commit)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { error: { code: '40001', message: 'could not serialize access due to concurrent update' } } },
    ]);
    await both.agree(2, rollback);
  });

  it('reports a waiter queued behind another waiter as waiting for that waiter, and serves the queue in order', async () => {
    await both.agree(1, forUpdate(1));
    await both.agree(2, forUpdate(1));
    // T2 holds the tuple lock and queues first: pg_blocking_pids names T2 for T3, not the holder T1.
    expect(await both.agree(3, forUpdate(1))).toEqual([{ tx: 3, kind: 'blocked', waitsFor: [2] }]);
    expect(await both.agree(1, commit)).toEqual([
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx: 2, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } },
    ]);
    expect(await both.agree(2, commit)).toEqual([
      { tx: 2, kind: 'completed', result: { rows: [] } },
      { tx: 3, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } },
    ]);
    await both.agree(3, commit);
  });

  it('differs from the model when the holder updated the row: PostgreSQL may give the new version to either queued waiter', async () => {
    await both.agree(1, forUpdate(1));
    await both.agree(2, forUpdate(1));
    await both.agree(3, forUpdate(1));
    await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2700 } });
    const { model, postgres: actual } = await both.step(1, commit);
    const granted = (tx: TxId): Event[] => [
      { tx: 1, kind: 'completed', result: { rows: [] } },
      { tx, kind: 'completed', result: { rows: [{ id: 1, balance: 2700 }] } },
    ];
    // Both waiters follow the update chain to the new version and race for it; the first in the queue usually wins.
    expect(model).toEqual(granted(2));
    expect([granted(2), granted(3)]).toContainEqual(actual);
  });

  it('sorts the rows of a multi-row update by primary key, as the model returns them', async () => {
    // Move row 1 to the end of the heap, so PostgreSQL's scan meets row 2 first.
    await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 1 } });
    await both.agree(1, commit);
    expect(await both.agree(2, { kind: 'update', table: 'accounts', where: {}, set: { balance: { add: 1 } } })).toEqual([
      {
        tx: 2,
        kind: 'completed',
        result: {
          rows: [
            { id: 1, balance: 2 },
            { id: 2, balance: 501 },
          ],
        },
      },
    ]);
    await both.agree(2, commit);
  });

  it('rolls back whatever is open on reset, including a statement still blocked', async () => {
    await both.agree(1, forUpdate(1));
    await both.agree(2, forUpdate(1));
    await postgres.reset(seed, 'read-committed');
    expect(await postgres.step(2, forUpdate(1))).toEqual([{ tx: 2, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } }]);
    await postgres.step(2, commit);
  });

  it('does not hang on a wait PostgreSQL keeps: after the settle deadline it reports what it sees', async () => {
    const bounded = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-test', settleDeadlineMs: 200 });
    const outsider = new pg.Client({ connectionString: server.url });
    await outsider.connect();
    try {
      await bounded.reset(seed, 'read-committed');
      // A session outside the run holds the row: PostgreSQL keeps T1 waiting, though no transaction of the run blocks it.
      await outsider.query('begin');
      await outsider.query(`select * from "${bounded.schemaName}".accounts where id = 1 for update`);
      expect(await bounded.step(1, forUpdate(1))).toEqual([{ tx: 1, kind: 'blocked', waitsFor: [] }]);
      await outsider.query('commit');
      expect(await bounded.step(2, forUpdate(2))).toEqual([
        { tx: 1, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } },
        { tx: 2, kind: 'completed', result: { rows: [{ id: 2, balance: 500 }] } },
      ]);
    } finally {
      await outsider.end();
      await bounded.close();
    }
  });

  it('answers commit and rollback without an open transaction, as the model does', async () => {
    expect(await both.agree(1, commit)).toEqual([{ tx: 1, kind: 'completed', result: { rows: [] } }]);
    expect(await both.agree(2, rollback)).toEqual([{ tx: 2, kind: 'completed', result: { rows: [] } }]);
  });

  it('without expected events, settles only once PostgreSQL has resolved a deadlock', async () => {
    const fast = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-test', deadlockTimeoutMs: 50 });
    try {
      await fast.reset(seed, 'read-committed');
      await fast.step(1, forUpdate(1));
      await fast.step(2, forUpdate(2));
      await fast.step(1, forUpdate(2));
      const events = await fast.step(2, forUpdate(1));
      expect(events.map((e) => e.tx)).toEqual([1, 2]);
      const errors = events.filter((e) => e.kind === 'completed' && e.result.error?.code === '40P01');
      expect(errors).toHaveLength(1);
      expect(events.every((e) => e.kind === 'completed')).toBe(true);
    } finally {
      await fast.close();
    }
  });
  it('a multi-row UPDATE locks rows in heap order, on PostgreSQL and in the model (see heap-order.test.ts)', async () => {
    // Updating row 1 puts its new version after rows 2 and 3 in the heap.
    await both.agree(9, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 3001 } });
    await both.agree(9, commit);
    await both.agree(1, forUpdate(2));
    // The scan meets row 2 first and waits there, holding nothing: T1 then locks row 1 without a deadlock.
    expect(await both.agree(2, { kind: 'update', table: 'accounts', where: {}, set: { balance: { add: 1 } } })).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(await both.agree(1, forUpdate(1))).toEqual([{ tx: 1, kind: 'completed', result: { rows: [{ id: 1, balance: 3001 }] } }]);
    await both.agree(1, rollback);
    await both.agree(2, rollback);
  });
});

describe('PostgreSQL and the model differ (kept explicit)', () => {
  let both: SideBySide;
  beforeEach(async () => {
    both = new SideBySide();
    await both.reset('read-committed');
  });

  it('a deadlock closed by a woken transaction: PostgreSQL and the model abort the member waiting longest', async () => {
    const accounts: Tables = { accounts: [1, 2, 3].map((id) => ({ id, balance: 100 })), users: [] };
    const memory = new MemoryBackend(schema);
    const slow = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-test', deadlockTimeoutMs: 300 });
    try {
      await memory.reset(accounts, 'read-committed');
      await slow.reset(accounts, 'read-committed');
      const steps: [TxId, Statement][] = [
        [1, forUpdate(1)],
        [2, forUpdate(3)],
        [2, { kind: 'update', table: 'accounts', where: {}, set: { balance: 0 } }], // waits for T1 on row 1
        [3, forUpdate(2)],
        [3, forUpdate(3)], // waits for T2
      ];
      for (const [tx, statement] of steps) {
        const model = await memory.step(tx, statement);
        expect(await slow.step(tx, statement, model)).toEqual(model);
      }
      // Let T3's wait start well before T2's next one, so PostgreSQL's choice does not depend on a race.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const model = await memory.step(1, commit);
      // T2 wakes, locks row 1, then waits for row 2 held by T3: a cycle T2 -> T3 -> T2, and T3 has waited longer.
      const expected = [
        { tx: 1, kind: 'completed', result: { rows: [] } },
        {
          tx: 2,
          kind: 'completed',
          result: {
            rows: [
              { id: 1, balance: 0 },
              { id: 2, balance: 0 },
              { id: 3, balance: 0 },
            ],
          },
        },
        { tx: 3, kind: 'completed', result: { error: { code: '40P01', message: 'deadlock detected' } } },
      ];
      expect(model).toEqual(expected);
      expect(await slow.step(1, commit, model)).toEqual(expected);
    } finally {
      await slow.close();
    }
  });

  it('SERIALIZABLE: a write skew fails at the second COMMIT with 40001 on both sides', async () => {
    await both.reset('serializable');
    for (const tx of [1, 2]) await both.agree(tx, { kind: 'select', table: 'accounts', where: {} });
    await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 0 } });
    await both.agree(2, { kind: 'update', table: 'accounts', where: { id: 2 }, set: { balance: 0 } });
    await both.agree(1, commit);
    expect(await both.agree(2, commit)).toEqual([
      { tx: 2, kind: 'completed', result: { error: { code: '40001', message: 'could not serialize access due to read/write dependencies among transactions' } } },
    ]);
    await both.reset('read-committed');
  });

  it('integers: PostgreSQL and the model raise 22003 past 2^31 - 1', async () => {
    expect(await both.agree(1, { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: { add: 2 ** 31 - 1 } } })).toEqual([
      { tx: 1, kind: 'completed', result: { error: { code: '22003', message: 'integer out of range' } } },
    ]);
    await both.agree(1, rollback);
  });

  it('text order: the model orders by code point, as PostgreSQL\'s "C" collation does', async () => {
    await both.agree(1, { kind: 'insert', table: 'users', rows: [{ id: 1, email: '\uFFFF', active: true }, { id: 2, email: '\u{1F600}', active: true }] });
    const events = await both.agree(1, { kind: 'select', table: 'users', where: {}, orderBy: [['email', 'asc']] });
    expect(events[0].kind === 'completed' && events[0].result.rows?.map((r) => r.id)).toEqual([1, 2]);
    await both.agree(1, rollback);
  });
});

describe('PostgresBackend.close', () => {
  async function leftovers(): Promise<{ connections: number; schemas: string[] }> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const connections = await client.query(`select count(*)::int as n from pg_stat_activity where application_name = 'lockstep-close-test'`);
      const schemas = await client.query(`select nspname from pg_namespace where nspname like 'lockstep\\_%' order by 1`);
      return { connections: connections.rows[0].n, schemas: schemas.rows.map((r) => r.nspname) };
    } finally {
      await client.end();
    }
  }

  it('leaves no schema and no connection behind, even with a statement blocked and a transaction open', async () => {
    const before = await leftovers();
    const backend = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-close-test' });
    await backend.reset(seed, 'read-committed');
    await backend.step(1, forUpdate(1));
    expect(await backend.step(2, forUpdate(1))).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    await backend.step(3, insertUser(1, 'x'));
    const during = await leftovers();
    expect(during.connections).toBe(4);
    expect(during.schemas).toContain(backend.schemaName);
    await backend.close();
    await backend.close();
    expect(await leftovers()).toEqual(before);
    expect(before.connections).toBe(0);
  });

  it('leaves nothing behind when creation fails', async () => {
    const before = await leftovers();
    const bad = defineSchema({ t: { columns: { id: 'int' }, primaryKey: ['missing' as 'id'] } });
    await expect(createPostgresBackend(server.url, bad, { applicationName: 'lockstep-close-test' })).rejects.toThrow(/missing/);
    expect(await leftovers()).toEqual(before);
  });
});

describe('runOnBackend on PostgreSQL', () => {
  it('reproduces the lost update of points-deduct naive step for step', async () => {
    const spec: RunPlan = {
      scenario: pointsDeduct,
      strategy: pointsDeduct.strategies.naive,
      isolation: 'read-committed',
      workload: [
        { operation: 'deduct', args: { user: 1, amount: 300 } },
        { operation: 'deduct', args: { user: 1, amount: 300 } },
      ],
    };
    const model = runOnEngine(new MemoryEngine(pointsDeduct.schema), spec, choiceSchedule([0, 1]));
    const backend = await createPostgresBackend(server.url, pointsDeduct.schema, { applicationName: 'lockstep-test' });
    try {
      const actual = await runOnBackend(backend, spec, choiceSchedule([0, 1]));
      expect(actual.steps).toEqual(model.steps);
      expect(actual.outcomes).toEqual(model.outcomes);
      expect(actual.final).toEqual(model.final);
      expect(actual.final.accounts).toEqual([{ id: 1, balance: 2700 }]);
      expect(actual.final.history).toHaveLength(2);
    } finally {
      await backend.close();
    }
  });
});
