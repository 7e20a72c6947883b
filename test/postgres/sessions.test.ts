import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import type { Answer } from '../../src/adapters/postgres/session.ts';
import { opening, Sessions } from '../../src/adapters/postgres/sessions.ts';
import type { Waiting } from '../../src/adapters/postgres/settle.ts';
import { EnvironmentError, InterruptedError } from '../../src/errors.ts';

/**
 * The session layer both PostgreSQL drivers (the replay backend and the
 * isolationtester runner) run on: statements sent without waiting, the
 * settle rule, a connection that breaks under a statement, and a close that
 * leaves nothing behind.
 */
const applicationName = 'lockstep-sessions-test';
let server: Provisioned;
let admin: pg.Client;

beforeAll(async () => {
  server = await provisionPostgres();
  admin = new pg.Client({ connectionString: server.url, application_name: 'lockstep-test-admin' });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

/** A run's sessions whose flights read PostgreSQL's answer as it is. */
const newSessions = () => new Sessions<{ sql: string }, Answer>({ config: { connectionString: server.url }, applicationName, label: (k) => `T${k}` });

/** Sends one SQL text on `session`. */
const send = (sessions: Sessions<{ sql: string }, Answer>, key: number, sql: string, waiting: Waiting = 'may') =>
  sessions.connect(key, '', true).then((s) => s.send({ sql }, [{ text: sql }], (answer) => answer, waiting));

/** Counts the settle's polls (`pg_blocking_pids` queries) on the control connection from now on. */
function countPolls(sessions: Sessions<{ sql: string }, Answer>): { readonly count: number } {
  const control = sessions.control;
  const query = control.query.bind(control) as (...args: unknown[]) => unknown;
  const counter = { count: 0 };
  (control as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if ((args[0] as { name?: string }).name?.startsWith('lockstep_blockers')) counter.count++;
    return query(...args);
  };
  return counter;
}

async function leftovers(schema: string) {
  const connections = await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
  const schemas = await admin.query('select count(*)::int as n from pg_namespace where nspname = $1', [schema]);
  return { connections: connections.rows[0].n as number, schemas: schemas.rows[0].n as number };
}

describe('Sessions', () => {
  it('settles with a blocked statement and whom it waits for; the waiter completes in the settle after the holder lets go', async () => {
    const sessions = newSessions();
    try {
      expect(await sessions.openControl('')).toMatch(/^\d+\.\d+$/);
      const holder = await send(sessions, 1, 'select pg_advisory_lock(8101)');
      await sessions.settle(5000);
      expect(holder.done).toBe(true);
      const waiter = await send(sessions, 2, 'select pg_advisory_lock(8101) as locked');
      expect(await sessions.settle(5000)).toEqual(new Map([[2, [1]]]));
      expect(waiter).toMatchObject({ done: false, result: undefined, broken: undefined });
      const unlock = await send(sessions, 1, 'select pg_advisory_unlock(8101)');
      await sessions.settle(5000);
      expect(unlock.done).toBe(true);
      expect(waiter.done).toBe(true);
      expect(waiter.result?.error).toBeNull();
      expect(waiter.result?.results.map((r) => r.fields.map((f) => f.name))).toEqual([['locked']]);
    } finally {
      await sessions.close();
    }
  });

  it('a statement that cannot wait for a lock (never) is waited for without a poll; the waiter it releases is polled for afterwards', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      await send(sessions, 1, 'select pg_advisory_lock(8104)');
      await sessions.settle(5000);
      const polls = countPolls(sessions);
      const slow = await send(sessions, 1, 'select pg_sleep(0.2) as slept', 'never');
      expect(await sessions.settle(5000)).toEqual(new Map());
      expect(slow.done).toBe(true);
      expect(polls.count).toBe(0);
      const waiter = await send(sessions, 2, 'select pg_advisory_lock(8104) as locked');
      expect(await sessions.settle(5000)).toEqual(new Map([[2, [1]]]));
      expect(polls.count).toBeGreaterThan(0);
      // The unlock cannot wait itself, but releases T2: once it completed, the settle polls until T2 has completed too.
      const unlock = await send(sessions, 1, 'select pg_advisory_unlock(8104)', 'never');
      await sessions.settle(5000);
      expect(unlock.done).toBe(true);
      expect(waiter.done).toBe(true);
      expect(waiter.result?.error).toBeNull();
    } finally {
      await sessions.close();
    }
  });

  it('a statement the model predicts completes (unexpected) is waited for without a poll; one that waits after all is polled for once the grace has passed, and found blocked', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      await send(sessions, 1, 'select pg_advisory_lock(8105)');
      await sessions.settle(5000);
      const polls = countPolls(sessions);
      const quick = await send(sessions, 2, 'select pg_advisory_lock(8106) as locked', 'unexpected');
      expect(await sessions.settle(5000, { graceMs: 300 })).toEqual(new Map());
      expect(quick.done).toBe(true);
      expect(polls.count).toBe(0);
      const waiter = await send(sessions, 3, 'select pg_advisory_lock(8105) as locked', 'unexpected');
      expect(await sessions.settle(5000, { graceMs: 300 })).toEqual(new Map([[3, [1]]]));
      expect(waiter.done).toBe(false);
      expect(polls.count).toBeGreaterThan(0);
      // The grace is at most half the time to the deadline: a settle of 200 ms still polls, and sees whom it waits for.
      await send(sessions, 4, 'select pg_advisory_lock(8105) as locked', 'unexpected');
      const seen: ReadonlyMap<number, readonly number[]>[] = [];
      expect(await sessions.settle(200, { onDeadline: (waits) => seen.push(waits) })).toEqual(new Map([[3, [1]], [4, [1, 3]]]));
      expect(seen).toEqual([]);
    } finally {
      await sessions.close();
    }
  });

  it('once the driver knows the statements left are still blocked (stillBlocked), the settle ends without a poll', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      await send(sessions, 1, 'select pg_advisory_lock(8107)');
      await sessions.settle(5000);
      const waiter = await send(sessions, 2, 'select pg_advisory_lock(8107) as locked');
      expect(await sessions.settle(5000)).toEqual(new Map([[2, [1]]]));
      const polls = countPolls(sessions);
      const quiet = await send(sessions, 1, 'select 1 as one', 'unexpected');
      expect(await sessions.settle(5000, { stillBlocked: () => quiet.done })).toEqual(new Map());
      expect(quiet.done).toBe(true);
      expect(waiter.done).toBe(false);
      expect(polls.count).toBe(0);
      // Without it, the settle polls to see that T2 still waits.
      await send(sessions, 1, 'select 2 as two', 'unexpected');
      expect(await sessions.settle(5000)).toEqual(new Map([[2, [1]]]));
      expect(polls.count).toBeGreaterThan(0);
    } finally {
      await sessions.close();
    }
  });

  it('a statement that cannot wait still running at the deadline: the settle gives up then, with no poll sent', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      const polls = countPolls(sessions);
      const slow = await send(sessions, 1, 'select pg_sleep(1)', 'never');
      const seen: ReadonlyMap<number, readonly number[]>[] = [];
      expect(await sessions.settle(100, { onDeadline: (waits) => seen.push(waits) })).toEqual(new Map());
      expect(seen).toEqual([new Map()]);
      expect(slow.done).toBe(false);
      expect(polls.count).toBe(0);
      await sessions.settle(5000);
      expect(slow.done).toBe(true);
    } finally {
      await sessions.close();
    }
  });

  it('a multi-statement query that fails part way: the result sets before the error, then the error; done once PostgreSQL is ready again', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      const flight = await send(sessions, 1, 'select 1 as a; select 1 / 0 as b');
      await sessions.settle(5000);
      expect(flight.done).toBe(true);
      expect(flight.result?.results.map((r) => r.rows)).toEqual([[{ a: 1 }]]);
      expect(flight.result?.error).toMatchObject({ code: '22012', message: 'division by zero', severity: 'ERROR' });
    } finally {
      await sessions.close();
    }
  });

  it('a backend terminated under its statement: the settle names the session in the server\'s words, and the session takes no further statement', async () => {
    const sessions = newSessions();
    try {
      await sessions.openControl('');
      await send(sessions, 1, 'select pg_advisory_lock(8102)');
      await sessions.settle(5000);
      const waiter = await send(sessions, 2, 'select pg_advisory_lock(8102)');
      await sessions.settle(5000);
      const [t2] = sessions.list().filter((s) => s.key === 2);
      await admin.query('select pg_terminate_backend($1)', [t2.pid]);
      while (!waiter.done) await sessions.finished.next;
      await expect(sessions.settle(5000)).rejects.toThrow(new Error('the connection of T2 broke: terminating connection due to administrator command'));
      expect(waiter).toMatchObject({ done: true, broken: 'terminating connection due to administrator command' });
      expect(() => t2.send({ sql: 'select 1' }, [{ text: 'select 1' }], (a) => a)).toThrow(new Error('the connection of T2 was lost: Connection terminated unexpectedly'));
    } finally {
      await sessions.close();
    }
  });

  it('close with a statement still blocked terminates it, ends every connection and drops the run schema', async () => {
    const sessions = newSessions();
    const schema = `lockstep_sessions_test_${process.pid}`;
    sessions.dropOnClose = { schema };
    await sessions.openControl('');
    await sessions.control.query(`create schema ${schema}`);
    await send(sessions, 1, 'select pg_advisory_lock(8103)');
    await send(sessions, 2, 'select pg_advisory_lock(8103)');
    await sessions.settle(5000);
    expect(await leftovers(schema)).toEqual({ connections: 3, schemas: 1 });
    await Promise.all([sessions.close(), sessions.close()]);
    expect(await leftovers(schema)).toEqual({ connections: 0, schemas: 0 });
    expect(sessions.closed).toBe(true);
    expect(() => sessions.control).toThrow('the connections to PostgreSQL are closed');
  });

  it('a failure becomes one sentence naming when it happened; once closed, an InterruptedError', async () => {
    const sessions = newSessions();
    const failure = sessions.failure(new Error('Connection terminated unexpectedly.\nat the socket'), 'at step 3 (T1: commit)');
    expect(failure).toBeInstanceOf(EnvironmentError);
    expect(failure.message).toBe('PostgreSQL failed at step 3 (T1: commit): Connection terminated unexpectedly.');
    await sessions.close();
    expect(sessions.failure(new Error('Connection terminated'), 'at step 4')).toBeInstanceOf(InterruptedError);
  });
});

describe('opening', () => {
  it('a failed opening is closed and becomes one sentence; an aborted one an InterruptedError', async () => {
    let closed = 0;
    const close = async () => {
      closed++;
    };
    await expect(opening(undefined, 'Could not open the sessions on PostgreSQL', () => Promise.reject(new Error('password authentication failed for user "x"')), close)).rejects.toThrow(
      new EnvironmentError('Could not open the sessions on PostgreSQL: password authentication failed for user "x".'),
    );
    expect(closed).toBe(1);
    const controller = new AbortController();
    const opened = opening(controller.signal, 'Could not open', () => new Promise<never>((_, reject) => setTimeout(() => reject(new Error('closed under it')), 50)), close);
    controller.abort();
    await expect(opened).rejects.toBeInstanceOf(InterruptedError);
    expect(closed).toBe(3);
  });
});
