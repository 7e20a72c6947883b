import { beforeEach, describe, it } from 'vitest';
import { defineSchema, type DatabaseOf, type Tables } from '../../src/model/schema.ts';
import type { DbError, SelectStatement, Statement, Where } from '../../src/model/statement.ts';
import { blocked, completed, failed, sideBySide, type SideBySide } from './side-by-side.ts';

/**
 * SKIP LOCKED and NOWAIT (issue #13 item 3), run step by step on the model
 * and on PostgreSQL, each step's events asserted exactly on both sides (the
 * same on PostgreSQL 15, with DATABASE_URL, and on the embedded 17).
 */
const schema = defineSchema({
  jobs: { columns: { id: 'int', done: 'bool', worker: { type: 'int', nullable: true } }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;

const seed: Tables = {
  jobs: [
    { id: 1, done: false, worker: null },
    { id: 2, done: false, worker: null },
    { id: 3, done: false, worker: null },
    { id: 4, done: true, worker: 9 },
  ],
};
const [job1, job2, job3] = seed.jobs;

const Both = sideBySide(schema, seed);
type Both = SideBySide;

const commit: Statement = { kind: 'commit' };
const rollback: Statement = { kind: 'rollback' };
const jobs = (where: Where<Db['jobs']>, options: Pick<SelectStatement<Db, 'jobs'>, 'orderBy' | 'limit' | 'lock' | 'skipLocked' | 'nowait'>): SelectStatement<Db, 'jobs'> => ({
  kind: 'select',
  table: 'jobs',
  where,
  ...options,
});
/** The next open job, as a job queue takes it. */
const nextJob = (lock: 'update' | 'share' = 'update', limit = 1) => jobs({ done: false }, { orderBy: [['id', 'asc']], limit, lock, skipLocked: true });
const lockNotAvailable: DbError = { code: '55P03', message: 'could not obtain lock on row in relation "jobs"' };
const inFailedTransaction: DbError = { code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' };

describe('SKIP LOCKED and NOWAIT, on the model and on PostgreSQL', () => {
  let both: Both;
  beforeEach(async () => {
    both = new Both();
    await both.reset('read-committed');
  });

  it('a job queue: each worker takes the next job nobody holds, below the LIMIT the next row is taken', async () => {
    await both.rows(1, nextJob(), [job1]);
    await both.rows(2, nextJob(), [job2]);
    // FOR SHARE conflicts with the FOR UPDATE holders: both rows are skipped, the LIMIT of 2 is filled by job 3 only.
    await both.rows(3, nextJob('share', 2), [job3]);
    await both.rows(1, { kind: 'update', table: 'jobs', where: { id: 1 }, set: { done: true, worker: 1 } }, [{ id: 1, done: true, worker: 1 }]);
    await both.rows(1, commit, []);
    // Job 1 is done, job 2 held, job 3 shared by T3: a FOR SHARE skip-locked read takes 3 beside T3.
    await both.rows(4, nextJob('share', 2), [job3]);
    await both.rows(2, rollback, []);
    await both.rows(5, nextJob('update', 3), [job2]);
    for (const tx of [3, 4, 5]) await both.rows(tx, commit, []);
  });

  it('a row an uncommitted update holds is skipped; once it rolls back, the row is taken', async () => {
    await both.rows(1, { kind: 'update', table: 'jobs', where: { id: 1 }, set: { worker: 1 } }, [{ ...job1, worker: 1 }]);
    await both.rows(2, nextJob(), [job2]);
    await both.rows(1, rollback, []);
    await both.rows(3, nextJob('update', 2), [job1, job3]);
    await both.rows(2, commit, []);
    await both.rows(3, commit, []);
  });

  it('NOWAIT fails at once with 55P03 on a row held in a conflicting mode, and the transaction is aborted; FOR SHARE beside FOR SHARE is granted', async () => {
    await both.rows(1, jobs({ id: 1 }, { lock: 'share' }), [job1]);
    await both.rows(2, jobs({ id: 1 }, { lock: 'share', nowait: true }), [job1]);
    await both.expect(3, jobs({ id: { in: [1, 2] } }, { lock: 'update', nowait: true }), [failed(3, lockNotAvailable)]);
    await both.expect(3, jobs({ id: 2 }, { lock: 'update' }), [failed(3, inFailedTransaction)]);
    await both.rows(3, rollback, []);
    // Without NOWAIT the same read waits, for both share holders (pg_blocking_pids names the first).
    await both.expect(4, jobs({ id: 1 }, { lock: 'update' }), [blocked(4, [1])]);
    await both.rows(1, commit, []);
    await both.expect(2, commit, [completed(2, []), completed(4, [job1])]);
    await both.rows(4, commit, []);
  });

  it('repeatable read: SKIP LOCKED and NOWAIT still fail with 40001 on a row changed since the snapshot', async () => {
    await both.reset('repeatable-read');
    await both.rows(2, jobs({ id: 4 }, {}), [seed.jobs[3]]);
    await both.rows(1, { kind: 'update', table: 'jobs', where: { id: 1 }, set: { worker: 1 } }, [{ ...job1, worker: 1 }]);
    await both.rows(1, commit, []);
    await both.expect(2, nextJob(), [failed(2, { code: '40001', message: 'could not serialize access due to concurrent update' })]);
    await both.rows(2, rollback, []);
  });
});
