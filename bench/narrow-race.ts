import * as fc from 'fast-check';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { checkRun } from '../src/explorer/violation.ts';
import { runWithDependencies } from '../src/explorer/dependency-run.ts';
import { explore } from '../src/explorer/explore.ts';
import type { RunPlan } from '../src/explorer/runner.ts';
import type { Tx } from '../src/model/program.ts';
import { defineScenario, type Invariant } from '../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../src/model/schema.ts';
import { traceUnderScheduler } from './scheduler-run.ts';

/**
 * A narrow race: refresh-token rotation in two transactions. The first
 * validates the token under the session's row lock and claims the session;
 * the second, under the lock again, rotates if the claim is still its own.
 * The bug: it also takes a cleared claim (0) as its own, and a claim is
 * cleared only by a finished rotation. So both refreshes succeed only when a
 * whole other refresh (its validation, then its rotation's lock) lands
 * between the claiming COMMIT and the next lock of the first: about 1 in 256
 * schedules under uniform random choice.
 */
const schema = defineSchema({
  tokens: { columns: { id: 'int', revoked: 'bool' }, primaryKey: ['id'] },
  sessions: { columns: { id: 'int', token: 'int', claim: 'int' }, primaryKey: ['id'] },
  devices: { columns: { id: 'int', trusted: 'bool' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;

function* refresh(tx: Tx<Db>, a: { token: number }) {
  const session = yield* tx.selectOne('sessions', { id: 1 }, { lock: 'update' });
  const token = yield* tx.selectOne('tokens', { id: a.token });
  if (!session || !token || token.revoked || session.token !== a.token) return yield* tx.rollback('invalid');
  yield* tx.selectOne('devices', { id: 1 });
  yield* tx.selectOne('devices', { id: 2 });
  yield* tx.selectOne('devices', { id: 3 });
  yield* tx.selectOne('devices', { id: 4 });
  yield* tx.update('sessions', { id: 1 }, { claim: tx.id });
  yield* tx.commit('claimed');
  const claimed = yield* tx.selectOne('sessions', { id: 1 }, { lock: 'update' });
  if (!claimed || (claimed.claim !== tx.id && claimed.claim !== 0)) return yield* tx.rollback('invalid');
  yield* tx.update('tokens', { id: a.token }, { revoked: true });
  yield* tx.insert('tokens', { id: 100 + tx.id, revoked: false });
  yield* tx.update('sessions', { id: 1 }, { token: 100 + tx.id, claim: 0 });
  return yield* tx.commit('ok');
}

const oneRefreshSucceeds: Invariant<Db> = {
  name: 'one-refresh-succeeds',
  check: ({ outcomes }) => {
    const ok = outcomes.filter((o) => o.result === 'ok').length;
    return ok === 1 ? null : `${ok} refreshes with the same token succeeded, but exactly one must.`;
  },
};

export const refreshWindow = defineScenario({
  id: 'refresh-rotation-window',
  title: 'two refreshes with one token; a cleared claim is taken for ones own',
  schema,
  seed: {
    tokens: [{ id: 1, revoked: false }],
    sessions: [{ id: 1, token: 1, claim: 0 }],
    devices: [1, 2, 3, 4].map((id) => ({ id, trusted: true })),
  },
  isolationLevels: ['read-committed'],
  operations: {
    refresh: {
      args: fc.constant({ token: 1 }),
      serial(state, a: { token: number }, { id }) {
        const token = state.tokens.find((t) => t.id === a.token)!;
        if (token.revoked) return 'invalid';
        token.revoked = true;
        state.tokens.push({ id: 100 + id, revoked: false });
        state.sessions[0].token = 100 + id;
        return 'ok';
      },
    },
  },
  strategies: { 'two-step': { description: 'validate and claim, then rotate if the claim is ours or cleared', programs: { refresh }, expected: { 'read-committed': 'fails' } } },
  invariants: [oneRefreshSucceeds],
  transactions: { min: 2, max: 2 },
  canonical: [
    { operation: 'refresh', args: { token: 1 } },
    { operation: 'refresh', args: { token: 1 } },
  ],
});

const spec: RunPlan = { scenario: refreshWindow, strategy: refreshWindow.strategies['two-step'], isolation: 'read-committed', workload: refreshWindow.canonical };

/** Share of failing runs when every step picks a runnable transaction uniformly at random (seeded). */
export function uniformFailureRate(runs: number, seed: number): number {
  const engine = new MemoryEngine(schema);
  const picks = fc.sample(fc.array(fc.noBias(fc.nat({ max: 719 })), { minLength: 64, maxLength: 64 }), { numRuns: runs, seed });
  let failed = 0;
  for (const p of picks) {
    const run = runWithDependencies(engine, spec, (runnable, _last, depth) => runnable[p[depth % p.length] % runnable.length]);
    if (checkRun(refreshWindow, run.trace!) !== null) failed++;
  }
  return failed / runs;
}

/** Runs lockstep's default search needs to hit the race, for one seed. */
export function lockstepRunsToFailure(seed: number): number {
  const report = explore({ scenario: refreshWindow, strategy: 'two-step', isolation: 'read-committed', runs: 100_000, seed, workload: refreshWindow.canonical });
  if (report.status !== 'failed') throw new Error(`seed ${seed}: no failure in 100,000 runs`);
  return report.stats.runs;
}

/**
 * Runs `fc.scheduler` needs to hit the race, for one seed: the same
 * transactions on the same engine, each awaiting a scheduled promise before
 * every statement, so fast-check's scheduler picks which runnable transaction
 * goes next, uniformly.
 */
export async function fcSchedulerRunsToFailure(seed: number): Promise<number> {
  const engine = new MemoryEngine(schema);
  let runs = 0;
  let found = 0;
  const property = fc.asyncProperty(fc.scheduler(), async (s) => {
    runs++;
    return checkRun(refreshWindow, await traceUnderScheduler(engine, spec, s)) === null;
  });
  const details = await fc.check(property, { seed, numRuns: 100_000, endOnFailure: true });
  if (details.failed) found = runs;
  if (!found) throw new Error(`seed ${seed}: fc.scheduler found no failure in 100,000 runs`);
  return found;
}

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
