import { describe, expect, it } from 'vitest';
import { commit, engineAt, rollback, select, update } from './fixture.ts';

describe('memory engine: the dependency graph of a run with a rollback', () => {
  it('a transaction that read its own write by a predicate and then rolled back is no node, and the graph is still built', () => {
    const engine = engineAt('read-committed');
    engine.recordHistory = true;
    engine.reset({ accounts: [{ id: 1, balance: 3000 }], users: [] }, 'read-committed');
    engine.step(1, update('accounts', { id: 1 }, { balance: 2900 }));
    engine.step(1, select('accounts', { balance: { gte: 0 } }));
    engine.step(1, rollback);
    engine.step(2, select('accounts', { balance: { gte: 0 } }));
    engine.step(2, update('accounts', { id: 1 }, { balance: 2800 }));
    engine.step(2, commit);
    engine.step(3, select('accounts', { balance: { gte: 0 } }));
    engine.step(3, commit);
    // T3 read T2's version, in the place of T1's undone one: a wr edge from T2, nothing from or to T1.
    expect(engine.dependencies()).toEqual({ edges: [{ from: 2, to: 3, kind: 'wr', predicate: false, item: 'accounts(1)' }], dirtyReads: [] });
  });

  it('the same without a later version where the undone one was', () => {
    const engine = engineAt('read-committed');
    engine.recordHistory = true;
    engine.reset({ accounts: [{ id: 1, balance: 3000 }], users: [] }, 'read-committed');
    engine.step(1, update('accounts', { id: 1 }, { balance: 2900 }));
    engine.step(1, select('accounts', { balance: { gte: 0 } }));
    engine.step(1, rollback);
    engine.step(2, select('accounts', { id: 1 }));
    engine.step(2, commit);
    expect(engine.dependencies()).toEqual({ edges: [], dirtyReads: [] });
  });
});
