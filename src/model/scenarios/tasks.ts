import * as fc from 'fast-check';
import { isSqlState, type Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { SqlState } from '../statement.ts';
import { describeTx, everyRequestAnswered, plural } from '../invariants.ts';

/**
 * Tasks: creating tasks with application-chosen ids, and completing and
 * deleting tasks, where completing a Top3 task awards points.
 *
 * Scenarios: `task-create`, `task-complete-delete`.
 */

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;
const onSerializationFailure = [SqlState.serializationFailure];

// ============================== task-create ==============================

export const taskCreateSchema = defineSchema({
  tasks: { columns: { id: 'int', owner: 'int' }, primaryKey: ['id'] },
});

export type TaskCreateDb = DatabaseOf<typeof taskCreateSchema>;

/** The next id as the application computes it: the highest id + 1 (SELECT ... ORDER BY id DESC LIMIT 1). */
function* nextId(tx: Tx<TaskCreateDb>) {
  const [last] = yield* tx.select('tasks', {}, { orderBy: [['id', 'desc']], limit: 1 });
  return (last?.id ?? 0) + 1;
}

/** naive: max(id) + 1, then insert; two creations that read the same max collide on the primary key (23505). */
function* createNaive(tx: Tx<TaskCreateDb>, a: { owner: number }) {
  const id = yield* nextId(tx);
  yield* tx.insert('tasks', { id, owner: a.owner });
  return yield* tx.commit(id);
}

/** unique-retry: max(id) + 1, insert, and on 23505 roll back and take the next id again. */
function* createUniqueRetry(tx: Tx<TaskCreateDb>, a: { owner: number }): Generator<any, number, any> {
  for (;;) {
    const id = yield* nextId(tx);
    try {
      yield* tx.insert('tasks', { id, owner: a.owner });
    } catch (e) {
      if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
      yield* tx.rollback(null);
      continue;
    }
    return yield* tx.commit(id);
  }
}

const createOperation: Operation<TaskCreateDb, { owner: number }> = {
  args: fc.constantFrom(1, 2).map((owner) => ({ owner })),
  serial(state, a) {
    const id = state.tasks.reduce((m, r) => Math.max(m, r.id), 0) + 1;
    state.tasks.push({ id, owner: a.owner });
    return id;
  },
};

/** Every creation succeeded with a row of its own, with a distinct id, owned by the user who created it. */
const distinctTasks: Invariant<TaskCreateDb> = {
  name: 'one-task-per-creation',
  check: ({ initial, final, outcomes }) => {
    const failed = outcomes.find((o) => typeof o.result !== 'number');
    if (failed) return `${describeTx(failed)} ended with ${failed.error?.code ?? JSON.stringify(failed.result)}, but every creation must succeed.`;
    const created = final.tasks.length - initial.tasks.length;
    if (created !== outcomes.length) return `${plural(outcomes.length, 'creation')} made ${plural(created, 'row')}.`;
    for (const o of outcomes) {
      const row = final.tasks.find((r) => r.id === o.result);
      if (!row || row.owner !== (o.args as { owner: number }).owner) return `${describeTx(o)} reported task ${o.result}, which is not its user's.`;
    }
    return null;
  },
};

export const taskCreate = defineScenario({
  id: 'task-create',
  title: '3 tasks exist; concurrent creations, each taking max(id) + 1',
  schema: taskCreateSchema,
  seed: { tasks: [1, 2, 3].map((id) => ({ id, owner: 1 })) },
  isolationLevels,
  operations: { create: createOperation },
  strategies: {
    naive: {
      description: 'SELECT max(id), insert max + 1 (the loser gets a raw 23505)',
      programs: { create: createNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'unique-retry': {
      description: 'SELECT max(id), insert max + 1; on 23505 roll back and try again',
      programs: { create: createUniqueRetry },
      // Under serializable the loser's insert fails with 40001 (read/write dependencies on the max(id) it read), not 23505, and is not retried.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'the naive creation, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { create: retrying(createNaive, onSerializationFailure) },
      // Under repeatable read the loser's insert gets 23505, which it does not retry.
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'passes' },
    },
  },
  invariants: [distinctTasks, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 10 }, (_, i) => ({ operation: 'create', args: { owner: 1 + (i % 2) } })),
});

// ============================== task-complete-delete ==============================

/** Tasks with soft-delete and done flags; completing a Top3 task gives its owner 100 points. */
export const taskFlagsSchema = defineSchema({
  tasks: { columns: { id: 'int', owner: 'int', top3: 'bool', done: 'bool', deleted: 'bool' }, primaryKey: ['id'] },
  accounts: { columns: { id: 'int', points: 'int' }, primaryKey: ['id'] },
});

export type TaskFlagsDb = DatabaseOf<typeof taskFlagsSchema>;

const award = 100;

/** naive: read the task, check it is open, set done, and for a Top3 task read the points and write points + 100. */
function* completeNaive(tx: Tx<TaskFlagsDb>, a: { task: number }) {
  const t = yield* tx.selectOne('tasks', { id: a.task });
  if (!t || t.done || t.deleted) return yield* tx.rollback('not-open');
  yield* tx.update('tasks', { id: a.task }, { done: true });
  if (t.top3) {
    const acct = yield* tx.selectOne('accounts', { id: t.owner });
    yield* tx.update('accounts', { id: t.owner }, { points: acct!.points + award });
  }
  return yield* tx.commit('ok');
}

function* deleteNaive(tx: Tx<TaskFlagsDb>, a: { task: number }) {
  const t = yield* tx.selectOne('tasks', { id: a.task });
  if (!t || t.deleted) return yield* tx.rollback('not-found');
  yield* tx.update('tasks', { id: a.task }, { deleted: true });
  return yield* tx.commit('ok');
}

/** atomic-update: UPDATE tasks SET done = true WHERE id = ? AND NOT done AND NOT deleted RETURNING; award with points = points + 100. */
function* completeAtomic(tx: Tx<TaskFlagsDb>, a: { task: number }) {
  const [t] = yield* tx.update('tasks', { id: a.task, done: false, deleted: false }, { done: true });
  if (!t) return yield* tx.rollback('not-open');
  if (t.top3) yield* tx.update('accounts', { id: t.owner }, { points: { add: award } });
  return yield* tx.commit('ok');
}

function* deleteAtomic(tx: Tx<TaskFlagsDb>, a: { task: number }) {
  const [t] = yield* tx.update('tasks', { id: a.task, deleted: false }, { deleted: true });
  if (!t) return yield* tx.rollback('not-found');
  return yield* tx.commit('ok');
}

const completeOperation: Operation<TaskFlagsDb, { task: number }> = {
  args: fc.constantFrom(1, 2, 3).map((task) => ({ task })),
  serial(state, a) {
    const t = state.tasks.find((r) => r.id === a.task);
    if (!t || t.done || t.deleted) return 'not-open';
    t.done = true;
    if (t.top3) state.accounts.find((r) => r.id === t.owner)!.points += award;
    return 'ok';
  },
};

const deleteOperation: Operation<TaskFlagsDb, { task: number }> = {
  args: fc.constantFrom(1, 3, 4).map((task) => ({ task })),
  serial(state, a) {
    const t = state.tasks.find((r) => r.id === a.task);
    if (!t || t.deleted) return 'not-found';
    t.deleted = true;
    return 'ok';
  },
};

/** Each flag is set as asked (a successful completion left its task done, a successful delete its task deleted) and points were awarded once per completed Top3 task. */
const flagsAndAwards: Invariant<TaskFlagsDb> = {
  name: 'flags-and-awards',
  check: ({ initial, final, outcomes }) => {
    for (const o of outcomes) {
      if (o.result !== 'ok') continue;
      const t = final.tasks.find((r) => r.id === (o.args as { task: number }).task)!;
      if (o.operation === 'complete' && !t.done) return `${describeTx(o)} succeeded but task ${t.id} is not done.`;
      if (o.operation === 'delete' && !t.deleted) return `${describeTx(o)} succeeded but task ${t.id} is not deleted.`;
    }
    const completedTop3 = final.tasks.filter((t) => t.top3 && t.done).length;
    const okTop3 = outcomes.filter((o) => o.operation === 'complete' && o.result === 'ok' && initial.tasks.find((t) => t.id === (o.args as { task: number }).task)!.top3).length;
    if (okTop3 !== completedTop3) return `${plural(okTop3, 'completion')} of Top3 tasks succeeded for ${plural(completedTop3, 'completed Top3 task')}.`;
    const points = final.accounts[0].points - initial.accounts[0].points;
    if (points !== award * completedTop3) return `The user got ${points} points for ${plural(completedTop3, 'completed Top3 task')}, not ${award * completedTop3}.`;
    return null;
  },
};

export const taskCompleteDelete = defineScenario({
  id: 'task-complete-delete',
  title: '5 tasks (1 and 2 are Top3, 100 points each); concurrent completions and deletions',
  schema: taskFlagsSchema,
  seed: {
    tasks: [1, 2, 3, 4, 5].map((id) => ({ id, owner: 1, top3: id <= 2, done: false, deleted: false })),
    accounts: [{ id: 1, points: 0 }],
  },
  isolationLevels,
  operations: { complete: completeOperation, delete: deleteOperation },
  strategies: {
    naive: {
      description: 'read the task, check in the application, set the flag; for a Top3 task read the points and write points + 100',
      programs: { complete: completeNaive, delete: deleteNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: 'UPDATE tasks SET done = true WHERE NOT done AND NOT deleted RETURNING (deleted likewise); points = points + 100',
      programs: { complete: completeAtomic, delete: deleteAtomic },
      // Under repeatable read a completion that races for the same task or the points gets 40001.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: 'conditional UPDATEs as atomic-update; retry on 40001 or 40P01',
      programs: { complete: retrying(completeAtomic), delete: retrying(deleteAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive completion and deletion, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { complete: retrying(completeNaive, onSerializationFailure), delete: retrying(deleteNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [flagsAndAwards, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: [
    ...[3, 4, 5].map((task) => ({ operation: 'delete', args: { task } })),
    ...[1, 2].map((task) => ({ operation: 'complete', args: { task } })),
  ],
});
