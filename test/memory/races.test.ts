import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { bank, blocked, commit, completed, engineAt, failed, seed, select, update } from './fixture.ts';

const forUpdate = select('accounts', { id: 1 }, { lock: 'update' });

/** T1 holds row 1 and replaces its version; T2 then T3 queue for it. */
function queueBehindAnUpdate(engine: MemoryEngine) {
  engine.step(1, forUpdate);
  expect(engine.step(2, forUpdate)).toEqual([blocked(2, [1])]);
  expect(engine.step(3, forUpdate)).toEqual([blocked(3, [2])]);
  engine.step(1, update('accounts', { id: 1 }, { balance: 2700 }));
}

describe('memory engine: races PostgreSQL leaves to timing', () => {
  it('after a holder that replaced the row commits, its waiters race: first come first served by default, and the race is logged', () => {
    const engine = engineAt('read-committed');
    queueBehindAnUpdate(engine);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(2, [{ id: 1, balance: 2700 }])]);
    expect(engine.races).toEqual([{ ordinal: 0, candidates: [2, 3], chosen: 2 }]);
  });

  it('a resolver can let a later waiter win, as PostgreSQL sometimes does', () => {
    const engine = new MemoryEngine(bank, (ordinal, candidates) => (ordinal === 0 ? candidates[1] : undefined));
    engine.reset(seed(), 'read-committed');
    queueBehindAnUpdate(engine);
    expect(engine.step(1, commit)).toEqual([completed(1, []), completed(3, [{ id: 1, balance: 2700 }])]);
    expect(engine.step(3, commit)).toEqual([completed(2, [{ id: 1, balance: 2700 }]), completed(3, [])]);
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
});
