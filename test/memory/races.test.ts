import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { bank, blocked, commit, completed, engineAt, failed, seed, select, update } from './fixture.ts';

const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });

const deduct100 = update('accounts', { id: 1 }, { balance: { add: -100 } });

/** T1 holds row 1 and replaces its version; T2 then T3 queue to update it. */
function queueBehindAnUpdate(engine: MemoryEngine) {
  engine.step(1, forUpdate);
  expect(engine.step(2, deduct100)).toEqual([blocked(2, [1])]);
  expect(engine.step(3, deduct100)).toEqual([blocked(3, [2])]);
  engine.step(1, update('accounts', { id: 1 }, { balance: 2700 }));
}

// Which waiter gets a row in every case (three to five waiters, commit and rollback, FOR UPDATE, FOR SHARE, UPDATE and DELETE) is in row-queues.test.ts.
describe('memory engine: races PostgreSQL leaves to timing', () => {
  it('after a holder that replaced the row commits, its UPDATE waiters race to the new version: first come first served by default, and the race is logged', () => {
    const engine = engineAt('read-committed');
    queueBehindAnUpdate(engine);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 2600 }])]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
  });

  it('a resolver can let a later waiter win, as PostgreSQL sometimes does', () => {
    const engine = new MemoryEngine(bank, (ordinal, candidates) => (ordinal === 0 ? candidates[1] : undefined));
    engine.reset(seed(), 'read-committed');
    queueBehindAnUpdate(engine);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(3, [{ id: 1, balance: 2600 }])]);
    expect(engine.step(3, commit)).toEqual([completed(2, [{ id: 1, balance: 2500 }]), completed(3, [])]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 3 }]);
  });

  it('a holder that only locked the row keeps its queue in order: no race', () => {
    const engine = engineAt('read-committed');
    engine.step(1, forUpdate);
    engine.step(2, forUpdate);
    engine.step(3, forUpdate);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 3000 }])]);
    expect(engine.races).toEqual([]);
  });

  it('a deadlock closed by a transaction released from a wait aborts the member that waited longest', () => {
    const engine = engineAt('read-committed');
    engine.step(1, forUpdate);
    engine.step(2, select('accounts', { id: 3 }, { lock: 'update' }));
    expect(engine.step(2, update('accounts', {}, { balance: 0 }))).toEqual([blocked(2, [1])]);
    engine.step(3, select('accounts', { id: 2 }, { lock: 'update' }));
    expect(engine.step(3, select('accounts', { id: 3 }, { lock: 'update' }))).toEqual([blocked(3, [2])]);
    expect(engine.step(1, commit)).toEqual([
      completed(1, []),
      completed(2, [
        { id: 1, balance: 0 },
        { id: 2, balance: 0 },
        { id: 3, balance: 0 },
      ]),
      failed(3, { code: '40P01', message: 'deadlock detected' }),
    ]);
  });

  it('an update past the 32-bit integer range fails with 22003', () => {
    const engine = engineAt('read-committed');
    expect(engine.step(1, update('accounts', { id: 1 }, { balance: { add: 2 ** 31 } }))).toEqual([
      failed(1, { code: '22003', message: 'integer out of range' }),
    ]);
  });

  // Found by properties/random-programs.test.ts. With these steps PostgreSQL 15 and 17 each gave both outcomes over repeated runs.
  describe('transactions woken by the same step run at once in PostgreSQL', () => {
    const twoUsers = { accounts: [], users: [{ id: 1, email: 'ann@example.com' }, { id: 2, email: 'bob@example.com' }] };
    const ann = { id: 1, email: 'ann@example.com' };
    const duplicateEmail = { code: '23505', message: 'duplicate key value violates unique constraint "users_email_key"' };

    /** T1 rewrites ann's row; T3 waits to take ann's email (unique index), T2 waits for ann's row lock. */
    function bothWaitForT1(engine: MemoryEngine) {
      engine.step(1, update('users', { id: 1 }, { email: ann.email }));
      expect(engine.step(3, update('users', { id: 2 }, { email: ann.email }))).toEqual([blocked(3, [1])]);
      expect(engine.step(2, update('users', { id: 1 }, { email: ann.email }))).toEqual([blocked(2, [1])]);
    }

    it('which goes on first is a race: by default the one woken first (the row lock waiter), whose new version the unique waiter then waits for', () => {
      const engine = engineAt('read-committed', twoUsers);
      bothWaitForT1(engine);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [ann])]);
      expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
      expect(engine.step(2, commit)).toEqual([completed(2, []), failed(3, duplicateEmail)]);
    });

    it('a resolver can let the unique waiter re-check first: it sees T1\'s committed version and fails with 23505 at once', () => {
      const engine = new MemoryEngine(bank, (ordinal) => (ordinal === 0 ? 3 : undefined));
      engine.reset(twoUsers, 'read-committed');
      bothWaitForT1(engine);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [ann]), failed(3, duplicateEmail)]);
    });

    /** T1 holds rows 3 and 2; T2 waits to update row 3; T3 (FOR UPDATE over rows 1-3) waits at row 2. */
    function bothQueueBehindT1(engine: MemoryEngine) {
      engine.step(1, select('accounts', { id: 3 }, { lock: 'update' }));
      engine.step(1, select('accounts', { id: 2 }, { lock: 'update' }));
      expect(engine.step(2, update('accounts', { id: 3 }, { balance: 1 }))).toEqual([blocked(2, [1])]);
      expect(engine.step(3, select('accounts', { balance: { gte: 500 } }, { lock: 'update' }))).toEqual([blocked(3, [1])]);
    }

    it('by default the first woken (T2) writes row 3 before T3 reaches it', () => {
      const engine = engineAt('read-committed');
      bothQueueBehindT1(engine);
      expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 3, balance: 1 }])]);
      expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
    });

    it('a transaction the resolver lets go first also takes the rows granted to those it went ahead of, in the same race', () => {
      const engine = new MemoryEngine(bank, (ordinal) => (ordinal === 0 ? 3 : undefined));
      engine.reset(seed(), 'read-committed');
      bothQueueBehindT1(engine);
      expect(engine.step(1, commit)).toEqual([
        completed(1, []),
        completed(3, [
          { id: 1, balance: 3000 },
          { id: 2, balance: 500 },
          { id: 3, balance: 800 },
        ]),
      ]);
      expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 3 }]);
      expect(engine.isBlocked(2)).toBe(true);
    });

    /** T2 holds row 2; T3 (FOR SHARE over rows 1-3) waits for it; T1 holds row 3 and queues for row 2 behind T3. */
    function queueBehindAShareScan(engine: MemoryEngine) {
      engine.step(2, select('accounts', { id: 2 }, { lock: 'update' }));
      expect(engine.step(3, select('accounts', { balance: { gte: 500 } }, { lock: 'share' }))).toEqual([blocked(3, [2])]);
      engine.step(1, select('accounts', { id: 3 }, { lock: 'update' }));
      expect(engine.step(1, select('accounts', { id: 2 }, { lock: 'update' }))).toEqual([blocked(1, [3])]);
    }

    it('a deadlock whose members all began waiting in this step: the victim is a race, by default the one that began first', () => {
      const engine = engineAt('read-committed');
      queueBehindAShareScan(engine);
      // T2's commit lets T3 lock row 2 and wait for row 3; T1, now first in row 2's queue, waits anew for T3.
      expect(engine.step(2, commit)).toEqual([
        failed(1, { code: '40P01', message: 'deadlock detected' }),
        completed(2, []),
        completed(3, [
          { id: 1, balance: 3000 },
          { id: 2, balance: 500 },
          { id: 3, balance: 800 },
        ]),
      ]);
      expect(engine.races).toEqual([{ ordinal: 0, candidates: [1, 3], chosen: 1, deadlock: { step: 5 } }]);
    });

    it('a resolver can make the other member the deadlock victim', () => {
      const engine = new MemoryEngine(bank, (ordinal) => (ordinal === 0 ? 3 : undefined));
      engine.reset(seed(), 'read-committed');
      queueBehindAShareScan(engine);
      expect(engine.step(2, commit)).toEqual([completed(1, [{ id: 2, balance: 500 }]), completed(2, []), failed(3, { code: '40P01', message: 'deadlock detected' })]);
    });
  });
});
