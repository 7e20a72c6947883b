import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { describeTx, everyRequestAnswered } from '../invariants.ts';

/**
 * A job queue: workers claim the next open job (the lowest id nobody holds)
 * and mark it theirs. `naive` reads the next open job and then claims it, so
 * two workers may claim the same one; `for-update` locks it first, so the
 * others queue behind the first worker and then take the next job; and
 * `skip-locked` (`FOR UPDATE SKIP LOCKED`) passes over a job another worker
 * holds, so each takes a different one without waiting.
 *
 * Scenario: `job-queue`.
 */

export const jobQueueSchema = defineSchema({
  jobs: { columns: { id: 'int', worker: { type: 'int', nullable: true } }, primaryKey: ['id'] },
});

export type JobQueueDb = DatabaseOf<typeof jobQueueSchema>;

type Claim = { worker: number };

/** naive: SELECT the next open job, then UPDATE it to the worker (without checking it is still open). */
function* claimNaive(tx: Tx<JobQueueDb>, a: Claim) {
  const [job] = yield* tx.select('jobs', { worker: null }, { orderBy: [['id', 'asc']], limit: 1 });
  if (!job) return yield* tx.rollback('none');
  yield* tx.update('jobs', { id: job.id }, { worker: a.worker });
  return yield* tx.commit(job.id);
}

/** for-update: SELECT ... FOR UPDATE the next open job (waiting for a worker that holds it, then taking the next), then claim it. */
function* claimForUpdate(tx: Tx<JobQueueDb>, a: Claim) {
  const [job] = yield* tx.select('jobs', { worker: null }, { orderBy: [['id', 'asc']], limit: 1, lock: 'update' });
  if (!job) return yield* tx.rollback('none');
  yield* tx.update('jobs', { id: job.id }, { worker: a.worker });
  return yield* tx.commit(job.id);
}

/** skip-locked: SELECT ... FOR UPDATE SKIP LOCKED the next open job nobody holds, then claim it. */
function* claimSkipLocked(tx: Tx<JobQueueDb>, a: Claim) {
  const [job] = yield* tx.select('jobs', { worker: null }, { orderBy: [['id', 'asc']], limit: 1, lock: 'update', skipLocked: true });
  if (!job) return yield* tx.rollback('none');
  yield* tx.update('jobs', { id: job.id }, { worker: a.worker });
  return yield* tx.commit(job.id);
}

const claimOperation: Operation<JobQueueDb, Claim> = {
  args: fc.integer({ min: 1, max: 9 }).map((worker) => ({ worker })),
  serial(state, a) {
    const open = state.jobs.filter((j) => j.worker === null).sort((x, y) => x.id - y.id)[0];
    if (!open) return 'none';
    open.worker = a.worker;
    return open.id;
  },
};

/** Every job a worker reports is its own in the final table, and no two workers report the same job. */
const oneWorkerPerJob: Invariant<JobQueueDb> = {
  name: 'one-worker-per-job',
  check: ({ final, outcomes }) => {
    const claimed = new Map<number, (typeof outcomes)[number]>();
    for (const o of outcomes) {
      if (typeof o.result !== 'number') continue;
      const other = claimed.get(o.result);
      if (other) return `${describeTx(other)} and ${describeTx(o)} both claimed job ${o.result}.`;
      claimed.set(o.result, o);
      const row = final.jobs.find((j) => j.id === o.result);
      if (row?.worker !== (o.args as Claim).worker) return `${describeTx(o)} claimed job ${o.result}, but its worker is ${String(row?.worker)}.`;
    }
    return null;
  },
};

/** While open jobs remain, no worker is told there is none. */
const noJobLeftBehind: Invariant<JobQueueDb> = {
  name: 'no-job-left-behind',
  check: ({ final, outcomes }) => {
    const turnedAway = outcomes.find((o) => o.result === 'none');
    const open = final.jobs.filter((j) => j.worker === null).length;
    return turnedAway && open > 0 ? `${describeTx(turnedAway)} found no open job, but ${open} stayed open.` : null;
  },
};

export const jobQueue = defineScenario({
  id: 'job-queue',
  title: '3 open jobs; concurrent workers each claim the next one',
  schema: jobQueueSchema,
  seed: { jobs: [{ id: 1, worker: null }, { id: 2, worker: null }, { id: 3, worker: null }] },
  // Not serializable: PostgreSQL plans ORDER BY id LIMIT 1 as an index scan that stops at the first open job, with SIREAD locks
  // finer than the model's sequential scan (docs/model.md, "Not modelled yet"), so the model would report 40001s PostgreSQL does not raise.
  isolationLevels: ['read-committed', 'repeatable-read'],
  operations: { claim: claimOperation },
  strategies: {
    naive: {
      description: 'SELECT the next open job, then UPDATE it (two workers may claim the same job)',
      programs: { claim: claimNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails' },
    },
    'for-update': {
      description: 'SELECT ... FOR UPDATE the next open job, then UPDATE it (the other workers queue behind it)',
      programs: { claim: claimForUpdate },
      // Under repeatable read the queued worker gets 40001 once the first commits (its snapshot's job changed).
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails' },
    },
    'skip-locked': {
      description: 'SELECT ... FOR UPDATE SKIP LOCKED the next open job nobody holds, then UPDATE it (no worker waits)',
      programs: { claim: claimSkipLocked },
      // The locking read is each worker's first statement: its snapshot already sees the jobs others claimed and committed.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes' },
    },
  },
  invariants: [oneWorkerPerJob, noJobLeftBehind, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 10 }, (_, i) => ({ operation: 'claim', args: { worker: i + 1 } })),
});
