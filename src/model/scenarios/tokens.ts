import * as fc from 'fast-check';
import { isSqlState, type Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { SqlState } from '../statement.ts';
import { describeTx, everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Tokens and accounts: refresh-token rotation, issuing tokens at login,
 * signing up with a unique email, and a rate limit counter.
 *
 * Scenarios: `refresh-rotation`, `login-issue`, `signup-unique`, `rate-limit`.
 */

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;
const retryNote = 'retry on 40001 or 40P01';
const onSerializationFailure = [SqlState.serializationFailure];

// ============================== refresh-rotation ==============================

/** Refresh tokens; `revoked` is the blacklist (rotation on: a used token is blacklisted). */
export const refreshSchema = defineSchema({
  tokens: { columns: { id: 'int', user: 'int', parent: 'int', revoked: 'bool' }, primaryKey: ['id'] },
});

export type RefreshDb = DatabaseOf<typeof refreshSchema>;

const oldToken = 1;
/** The new token's id: from the transaction number, as a random token id would be. */
const newTokenId = (tx: number) => 100 + tx;

/** naive: read the token, check it is not blacklisted, issue a new one and blacklist the old. */
function* refreshNaive(tx: Tx<RefreshDb>, a: { token: number }) {
  const token = yield* tx.selectOne('tokens', { id: a.token });
  if (!token || token.revoked) return yield* tx.rollback('invalid');
  yield* tx.insert('tokens', { id: newTokenId(tx.id), user: token.user, parent: token.id, revoked: false });
  yield* tx.update('tokens', { id: a.token }, { revoked: true });
  return yield* tx.commit('ok');
}

/** for-update: SELECT the token FOR UPDATE, then check, issue and blacklist. */
function* refreshForUpdate(tx: Tx<RefreshDb>, a: { token: number }) {
  const token = yield* tx.selectOne('tokens', { id: a.token }, { lock: 'update' });
  if (!token || token.revoked) return yield* tx.rollback('invalid');
  yield* tx.insert('tokens', { id: newTokenId(tx.id), user: token.user, parent: token.id, revoked: false });
  yield* tx.update('tokens', { id: a.token }, { revoked: true });
  return yield* tx.commit('ok');
}

/** atomic-update: blacklist first with UPDATE ... SET revoked = true WHERE revoked = false; only the one that changed the row issues. */
function* refreshAtomic(tx: Tx<RefreshDb>, a: { token: number }) {
  const revoked = yield* tx.update('tokens', { id: a.token, revoked: false }, { revoked: true });
  if (revoked.length === 0) return yield* tx.rollback('invalid');
  yield* tx.insert('tokens', { id: newTokenId(tx.id), user: revoked[0].user, parent: a.token, revoked: false });
  return yield* tx.commit('ok');
}

const refreshOperation: Operation<RefreshDb, { token: number }> = {
  args: fc.constant({ token: oldToken }),
  serial(state, a, { id }) {
    const token = state.tokens.find((t) => t.id === a.token);
    if (!token || token.revoked) return 'invalid';
    state.tokens.push({ id: newTokenId(id), user: token.user, parent: token.id, revoked: false });
    token.revoked = true;
    return 'ok';
  },
};

/** Exactly one refresh succeeds, exactly one new token descends from the old one, and the old one is blacklisted. */
const rotatedOnce: Invariant<RefreshDb> = {
  name: 'rotated-once',
  check: ({ final, outcomes }) => {
    const ok = withResult(outcomes, 'ok').length;
    if (ok !== 1) return `${plural(ok, 'refresh')} succeeded, but exactly one must.`;
    const issued = final.tokens.filter((t) => t.parent === oldToken).length;
    if (issued !== 1) return `${plural(issued, 'new refresh token')} were issued from token ${oldToken}, but exactly one must be.`;
    return final.tokens.find((t) => t.id === oldToken)!.revoked ? null : `Token ${oldToken} was used but is not blacklisted.`;
  },
};

export const refreshRotation = defineScenario({
  id: 'refresh-rotation',
  title: 'concurrent refreshes with the same refresh token, rotation with blacklist on',
  schema: refreshSchema,
  seed: { tokens: [{ id: oldToken, user: 1, parent: 0, revoked: false }] },
  isolationLevels,
  operations: { refresh: refreshOperation },
  strategies: {
    naive: {
      description: 'read the token, check the blacklist in the application, issue, then blacklist',
      programs: { refresh: refreshNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'for-update': {
      description: 'SELECT the token FOR UPDATE, then check, issue and blacklist',
      programs: { refresh: refreshForUpdate },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'atomic-update': {
      description: 'UPDATE tokens SET revoked = true WHERE id = ? AND NOT revoked; issue only if a row changed',
      programs: { refresh: refreshAtomic },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive refresh, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { refresh: retrying(refreshNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [rotatedOnce],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'refresh', args: { token: oldToken } })),
});

// ============================== login-issue ==============================

/**
 * Users with a session counter, and the outstanding tokens issued at login
 * (one row per login; the token id `jti` is the user's number times 1000
 * plus the session number, and is unique).
 */
export const loginSchema = defineSchema({
  users: { columns: { id: 'int', sessions: 'int' }, primaryKey: ['id'] },
  outstanding: { columns: { jti: 'int', user: 'int' }, primaryKey: ['jti'] },
});

export type LoginDb = DatabaseOf<typeof loginSchema>;

const jti = (user: number, session: number) => user * 1000 + session;

/** naive: read the session counter, write counter + 1, issue the token numbered from it. */
function* loginNaive(tx: Tx<LoginDb>, a: { user: number }) {
  const u = yield* tx.selectOne('users', { id: a.user });
  if (!u) return yield* tx.rollback('no-user');
  yield* tx.update('users', { id: a.user }, { sessions: u.sessions + 1 });
  yield* tx.insert('outstanding', { jti: jti(a.user, u.sessions + 1), user: a.user });
  return yield* tx.commit('ok');
}

/** atomic-update: UPDATE users SET sessions = sessions + 1 RETURNING sessions, and number the token from what it returns. */
function* loginAtomic(tx: Tx<LoginDb>, a: { user: number }) {
  const [u] = yield* tx.update('users', { id: a.user }, { sessions: { add: 1 } });
  if (!u) return yield* tx.rollback('no-user');
  yield* tx.insert('outstanding', { jti: jti(a.user, u.sessions), user: a.user });
  return yield* tx.commit('ok');
}

const loginOperation: Operation<LoginDb, { user: number }> = {
  args: fc.constantFrom(1, 2).map((user) => ({ user })),
  serial(state, a) {
    const u = state.users.find((r) => r.id === a.user);
    if (!u) return 'no-user';
    u.sessions += 1;
    state.outstanding.push({ jti: jti(a.user, u.sessions), user: a.user });
    return 'ok';
  },
};

/** Every login succeeded with its own outstanding-token row, and each user's counter counts its logins. */
const oneTokenPerLogin: Invariant<LoginDb> = {
  name: 'one-token-per-login',
  check: ({ initial, final, outcomes }) => {
    const failed = outcomes.find((o) => o.result !== 'ok');
    if (failed) return `${describeTx(failed)} ended with ${failed.error?.code ?? JSON.stringify(failed.result)}, but every login must succeed.`;
    for (const u of final.users) {
      const logins = outcomes.filter((o) => (o.args as { user: number }).user === u.id).length;
      const rows = final.outstanding.filter((t) => t.user === u.id).length;
      const before = initial.users.find((r) => r.id === u.id)!.sessions;
      if (rows !== logins) return `User ${u.id} logged in ${plural(logins, 'time')} but has ${plural(rows, 'outstanding token')}.`;
      if (u.sessions !== before + logins) return `User ${u.id}'s session counter ended at ${u.sessions}, but ${plural(logins, 'login')} from ${before} should leave ${before + logins}: an update was lost.`;
    }
    return null;
  },
};

export const loginIssue = defineScenario({
  id: 'login-issue',
  title: 'concurrent logins of one user (and of 100 users), each issuing a unique token',
  schema: loginSchema,
  seed: { users: Array.from({ length: 100 }, (_, i) => ({ id: i + 1, sessions: 0 })), outstanding: [] },
  isolationLevels,
  operations: { login: loginOperation },
  strategies: {
    naive: {
      description: 'read the session counter, write counter + 1 and number the token from it (two logins get the same token id: 23505)',
      programs: { login: loginNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: 'UPDATE ... SET sessions = sessions + 1 RETURNING, number the token from the returned counter',
      programs: { login: loginAtomic },
      // Under repeatable read the second login of a user gets 40001 on the counter.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: `UPDATE ... SET sessions = sessions + 1 RETURNING; ${retryNote}`,
      programs: { login: retrying(loginAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive login, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { login: retrying(loginNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [oneTokenPerLogin, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 10 }, () => ({ operation: 'login', args: { user: 1 } })),
});

// ============================== signup-unique ==============================

/** Accounts with a unique email (the database's unique index is there in every strategy). */
export const signupSchema = defineSchema({
  accounts: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] },
});

export type SignupDb = DatabaseOf<typeof signupSchema>;

/** naive: look the email up, insert if absent; the loser of the race meets the unique index and fails with 23505. */
function* signupNaive(tx: Tx<SignupDb>, a: { email: string }) {
  const existing = yield* tx.selectOne('accounts', { email: a.email });
  if (existing) return yield* tx.rollback('duplicate');
  yield* tx.insert('accounts', { id: tx.id, email: a.email });
  return yield* tx.commit('ok');
}

/** The advisory lock key of an email: a 32-bit string hash, as applications pass `hashtext(email)` to pg_advisory_xact_lock. */
export function emailLockKey(email: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) h = Math.imul(h ^ email.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** advisory-lock: take the email's advisory lock first, so that signups of one email run one at a time, then the naive signup. */
function* signupAdvisory(tx: Tx<SignupDb>, a: { email: string }) {
  yield* tx.advisoryLock(emailLockKey(a.email));
  return yield* signupNaive(tx, a);
}

/**
 * get-or-create, as ORMs write it (Django's get_or_create): look the email
 * up; if absent, insert inside a savepoint, and on 23505 roll back to the
 * savepoint (the transaction goes on) and look again.
 */
function* signupGetOrCreate(tx: Tx<SignupDb>, a: { email: string }) {
  if (yield* tx.selectOne('accounts', { email: a.email })) return yield* tx.rollback('duplicate');
  yield* tx.savepoint('create');
  try {
    yield* tx.insert('accounts', { id: tx.id, email: a.email });
  } catch (e) {
    if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
    yield* tx.rollbackTo('create');
    // Under repeatable read the snapshot predates the winner's row: the second look finds nothing.
    const winner = yield* tx.selectOne('accounts', { email: a.email });
    return yield* tx.rollback(winner ? 'duplicate' : 'not-found-after-23505');
  }
  yield* tx.release('create');
  return yield* tx.commit('ok');
}

/** unique-constraint: insert; 23505 means the email is taken. */
function* signupUniqueConstraint(tx: Tx<SignupDb>, a: { email: string }) {
  try {
    yield* tx.insert('accounts', { id: tx.id, email: a.email });
  } catch (e) {
    if (!isSqlState(e, SqlState.uniqueViolation)) throw e;
    return yield* tx.rollback('duplicate');
  }
  return yield* tx.commit('ok');
}

/** on-conflict: INSERT ... ON CONFLICT DO NOTHING; no row means the email is taken. */
function* signupOnConflict(tx: Tx<SignupDb>, a: { email: string }) {
  const inserted = yield* tx.insert('accounts', { id: tx.id, email: a.email }, { onConflict: 'nothing' });
  if (inserted.length === 0) return yield* tx.rollback('duplicate');
  return yield* tx.commit('ok');
}

const signupOperation: Operation<SignupDb, { email: string }> = {
  args: fc.constantFrom('a@example.com', 'b@example.com').map((email) => ({ email })),
  serial(state, a, { id }) {
    if (state.accounts.some((r) => r.email === a.email)) return 'duplicate';
    state.accounts.push({ id, email: a.email });
    return 'ok';
  },
};

/** One account per email, one success per email, and every other signup got the clear "duplicate" answer. */
const oneAccountPerEmail: Invariant<SignupDb> = {
  name: 'one-account-per-email',
  check: ({ final, outcomes }) => {
    for (const email of new Set(outcomes.map((o) => (o.args as { email: string }).email))) {
      const accounts = final.accounts.filter((r) => r.email === email).length;
      if (accounts !== 1) return `${email} has ${plural(accounts, 'account')}, but exactly one must exist.`;
      const ok = outcomes.filter((o) => (o.args as { email: string }).email === email && o.result === 'ok').length;
      if (ok !== 1) return `${plural(ok, 'signup')} with ${email} succeeded, but exactly one must.`;
    }
    const other = outcomes.find((o) => o.result !== 'ok' && o.result !== 'duplicate');
    return other ? `${describeTx(other)} ended with ${other.error?.code ?? JSON.stringify(other.result)} instead of a clear duplicate error.` : null;
  },
};

export const signupUnique = defineScenario({
  id: 'signup-unique',
  title: 'concurrent signups with the same email',
  schema: signupSchema,
  seed: { accounts: [] },
  isolationLevels,
  operations: { signup: signupOperation },
  strategies: {
    naive: {
      description: 'look the email up, insert if absent (the loser gets a raw 23505)',
      programs: { signup: signupNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'advisory-lock': {
      description: 'SELECT pg_advisory_xact_lock(hash of the email) first, then the naive signup',
      programs: { signup: signupAdvisory },
      // Under repeatable read and serializable the lock statement took the waiter's snapshot before the wait: it misses the winner's account and its insert fails (23505, 40001).
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'get-or-create': {
      description: 'look the email up; insert inside a savepoint, and on 23505 roll back to it and look again',
      programs: { signup: signupGetOrCreate },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'unique-constraint': {
      description: 'insert; the unique index decides and 23505 means "duplicate"',
      programs: { signup: signupUniqueConstraint },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'on-conflict': {
      description: 'INSERT ... ON CONFLICT DO NOTHING; no row means "duplicate"',
      programs: { signup: signupOnConflict },
      // Under repeatable read PostgreSQL answers ON CONFLICT DO NOTHING with 40001 when the conflicting row was committed after the snapshot.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'the naive signup, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { signup: retrying(signupNaive, onSerializationFailure) },
      // Under repeatable read the loser's insert gets 23505, which it does not retry; under serializable, 40001.
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'passes' },
    },
  },
  invariants: [oneAccountPerEmail],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 5 }, () => ({ operation: 'signup', args: { email: 'a@example.com' } })),
});

// ============================== rate-limit ==============================

/** A fixed-window counter per key: `count` attempts allowed so far against `max`. */
export const rateSchema = defineSchema({
  counters: { columns: { key: 'int', count: 'int', max: 'int' }, primaryKey: ['key'] },
});

export type RateDb = DatabaseOf<typeof rateSchema>;

function* attemptNaive(tx: Tx<RateDb>, a: { key: number }) {
  const c = yield* tx.selectOne('counters', { key: a.key });
  if (!c || c.count >= c.max) return yield* tx.rollback('rejected');
  yield* tx.update('counters', { key: a.key }, { count: c.count + 1 });
  return yield* tx.commit('allowed');
}

/** advisory-lock: take the key's advisory lock first, then the naive attempt. */
function* attemptAdvisory(tx: Tx<RateDb>, a: { key: number }) {
  yield* tx.advisoryLock(a.key);
  return yield* attemptNaive(tx, a);
}

function* attemptAtomic(tx: Tx<RateDb>, a: { key: number }) {
  // UPDATE counters SET count = count + 1 WHERE key = ? AND count < max: `max` is a constant per key here, so the bound is the seed's.
  const c = yield* tx.update('counters', { key: a.key, count: { lt: limits[a.key] } }, { count: { add: 1 } });
  if (c.length === 0) return yield* tx.rollback('rejected');
  return yield* tx.commit('allowed');
}

/** Key 1: the scenario's limit (10 per window); key 2: a limit of 2, so that small workloads reach it. */
const limits: Record<number, number> = { 1: 10, 2: 2 };

const attemptOperation: Operation<RateDb, { key: number }> = {
  args: fc.constantFrom(2, 1).map((key) => ({ key })),
  serial(state, a) {
    const c = state.counters.find((r) => r.key === a.key);
    if (!c || c.count >= c.max) return 'rejected';
    c.count += 1;
    return 'allowed';
  },
};

/** Per key: exactly min(attempts, limit) allowed, the rest rejected, and the counter holds the number allowed. */
const exactlyLimitAllowed: Invariant<RateDb> = {
  name: 'exactly-limit-allowed',
  check: ({ final, outcomes }) => {
    for (const c of final.counters) {
      const attempts = outcomes.filter((o) => (o.args as { key: number }).key === c.key);
      const allowed = withResult(attempts, 'allowed').length;
      if (allowed > c.max) return `${allowed} attempts on key ${c.key} were allowed, over its limit of ${c.max}.`;
      if (c.count !== allowed) return `Key ${c.key}'s counter ended at ${c.count}, but ${allowed} attempts were allowed: an increment was lost.`;
      const due = Math.min(attempts.length, c.max);
      if (allowed !== due) return `${allowed} of ${plural(attempts.length, 'attempt')} on key ${c.key} were allowed, but ${due} should have been.`;
    }
    return null;
  },
};

export const rateLimit = defineScenario({
  id: 'rate-limit',
  title: 'concurrent attempts against a limit per window (10 on key 1, 2 on key 2)',
  schema: rateSchema,
  seed: { counters: [{ key: 1, count: 0, max: limits[1] }, { key: 2, count: 0, max: limits[2] }] },
  isolationLevels,
  operations: { attempt: attemptOperation },
  strategies: {
    naive: {
      description: 'read the counter, compare in the application, write count + 1',
      programs: { attempt: attemptNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: 'one UPDATE counters SET count = count + 1 WHERE count < limit',
      programs: { attempt: attemptAtomic },
      // Under repeatable read the loser gets 40001 instead of being counted.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: `one conditional UPDATE; ${retryNote}`,
      programs: { attempt: retrying(attemptAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'advisory-lock': {
      description: 'SELECT pg_advisory_xact_lock(key) first, then the naive read, compare and write',
      programs: { attempt: attemptAdvisory },
      // Under repeatable read the lock statement took the waiter's snapshot before the wait: its write gets 40001.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'serializable-retry': {
      description: 'the naive attempt, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { attempt: retrying(attemptNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [exactlyLimitAllowed, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 100 }, () => ({ operation: 'attempt', args: { key: 1 } })),
});
