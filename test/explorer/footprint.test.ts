import { describe, expect, it } from 'vitest';
import { Footprint, FootprintTracker, statementFootprint } from '../../src/explorer/footprint.ts';
import { pointsSchema } from '../../src/model/scenarios/points.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

const fp = (s: Statement) => statementFootprint(pointsSchema, s);
const read1: Statement = { kind: 'select', table: 'accounts', where: { id: 1 } };
const read2: Statement = { kind: 'select', table: 'accounts', where: { id: 2 } };
const lock1: Statement = { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' };
const update1: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { gte: 300 } }, set: { balance: { add: -300 } } };
const scan: Statement = { kind: 'select', table: 'accounts', where: { balance: { gte: 0 } } };
const insert2: Statement = { kind: 'insert', table: 'accounts', rows: [{ id: 2, balance: 0 }] };

describe('footprints and independence', () => {
  it('plain reads commute, also of the same row', () => {
    expect(fp(read1).conflicts(fp(read1))).toBe(false);
    expect(fp(scan).conflicts(fp(read1))).toBe(false);
  });

  it('a read and a write (or a lock) of the same row conflict; of different rows they do not', () => {
    expect(fp(read1).conflicts(fp(update1))).toBe(true);
    expect(fp(read1).conflicts(fp(lock1))).toBe(true);
    expect(fp(read2).conflicts(fp(update1))).toBe(false);
  });

  it('a predicate conflicts with a write of any row of its table, an insert included', () => {
    expect(fp(scan).conflicts(fp(update1))).toBe(true);
    expect(fp(scan).conflicts(fp(insert2))).toBe(true);
    expect(fp(read1).conflicts(fp(insert2))).toBe(false);
  });

  it('an insert into a table with a further unique index conflicts with another insert of the same value there, not with one of another value', () => {
    const schema = defineSchema({ users: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] } });
    const insert = (id: number, email: string) => statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id, email }] });
    expect(insert(1, 'a').conflicts(insert(2, 'a'))).toBe(true);
    expect(insert(1, 'a').conflicts(insert(1, 'b'))).toBe(true);
    expect(insert(1, 'a').conflicts(insert(2, 'b'))).toBe(false);
    // Coarse (lockstep 0.1): any access to the table.
    expect(statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id: 1, email: 'a' }] }, undefined, { independence: 'coarse' }).conflicts(insert(2, 'b'))).toBe(true);
  });

  it('inserts of different keys are independent; a predicate read conflicts only with inserts it can match', () => {
    expect(fp(insert2).conflicts(fp({ kind: 'insert', table: 'accounts', rows: [{ id: 3, balance: 0 }] }))).toBe(false);
    expect(fp({ kind: 'select', table: 'accounts', where: { balance: { gt: 0 } } }).conflicts(fp(insert2))).toBe(false);
    expect(fp({ kind: 'select', table: 'accounts', where: { balance: { gte: 0 } } }).conflicts(fp(insert2))).toBe(true);
  });

  it('an update or delete by predicate holds index entries of any key: it conflicts with every insert into the table', () => {
    const del: Statement = { kind: 'delete', table: 'accounts', where: { balance: { lt: 0 } } };
    expect(fp(del).conflicts(fp(insert2))).toBe(true);
    expect(fp({ kind: 'delete', table: 'accounts', where: { id: 1 } }).conflicts(fp(insert2))).toBe(false);
  });

  it('where-clauses are compared by their conditions', () => {
    const where = (w: Record<string, unknown>): Statement => ({ kind: 'select', table: 'accounts', where: w, lock: 'update' });
    const conflict = (a: Record<string, unknown>, b: Record<string, unknown>) => fp(where(a)).conflicts(fp(where(b)));
    expect(conflict({ balance: { gte: 300 } }, { balance: { lt: 100 } })).toBe(false);
    expect(conflict({ balance: { gte: 300 } }, { balance: { lt: 300 } })).toBe(false);
    expect(conflict({ balance: { gte: 300 } }, { balance: { lte: 300 } })).toBe(true);
    expect(conflict({ balance: { gt: 300 } }, { balance: { lte: 300 } })).toBe(false);
    expect(conflict({ balance: { gte: 300 } }, { balance: 299 })).toBe(false);
    expect(conflict({ balance: { ne: 5 } }, { balance: 5 })).toBe(false);
    expect(conflict({ balance: { ne: 5 } }, { balance: { ne: 6 } })).toBe(true);
    expect(conflict({ id: 1, balance: { gte: 300 } }, { id: 2 })).toBe(false);
    expect(conflict({ id: 1 }, { balance: { lt: 0 } })).toBe(true);
  });

  it('an update also writes the rows it turns its rows into', () => {
    const setTo500: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { lt: 100 } }, set: { balance: 500 } };
    const scanHigh: Statement = { kind: 'select', table: 'accounts', where: { balance: { gte: 400 } } };
    expect(fp(setTo500).conflicts(fp(scanHigh))).toBe(true);
    const addTen: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { lt: 100 } }, set: { balance: { add: 10 } } };
    expect(fp(addTen).conflicts(fp(scanHigh))).toBe(false);
    expect(fp(addTen).conflicts(fp({ kind: 'select', table: 'accounts', where: { balance: { gte: 105 } } }))).toBe(true);
  });

  it('under read committed a COMMIT writes what its attempt wrote or locked, not what it only read; COMMITs commute with each other', () => {
    const tracker = new FootprintTracker(pointsSchema, 'read-committed');
    tracker.submit(1, read1, new Footprint());
    const readOnly = new Footprint();
    tracker.submit(1, { kind: 'commit' }, readOnly);
    expect(readOnly.conflicts(fp(update1))).toBe(false);
    tracker.submit(2, lock1, new Footprint());
    const locked = new Footprint();
    tracker.submit(2, { kind: 'commit' }, locked);
    expect(locked.conflicts(fp(read1))).toBe(true);
    expect(locked.conflicts(fp(read2))).toBe(false);
    expect(readOnly.conflicts(locked)).toBe(false);
  });

  it('lockstep 0.1 (coarse) and SERIALIZABLE: a COMMIT writes everything its attempt touched, reads included, and the commit log', () => {
    for (const [isolation, independence] of [['read-committed', 'coarse'], ['serializable', 'semantic']] as const) {
      const tracker = new FootprintTracker(pointsSchema, isolation, independence);
      tracker.submit(1, read1, new Footprint());
      const commit = new Footprint();
      tracker.submit(1, { kind: 'commit' }, commit);
      expect(commit.conflicts(fp(update1))).toBe(true);
      expect(commit.conflicts(fp(read2))).toBe(isolation === 'serializable');
    }
  });

  it('under repeatable read the first statement takes a snapshot, which does not commute with any COMMIT', () => {
    const rr = new FootprintTracker(pointsSchema, 'repeatable-read');
    const first = new Footprint();
    rr.submit(2, read2, first);
    const rc = new FootprintTracker(pointsSchema, 'read-committed');
    rc.submit(1, update1, new Footprint());
    const commit = new Footprint();
    rc.submit(1, { kind: 'commit' }, commit);
    expect(first.conflicts(commit)).toBe(true);
    expect(fp(read2).conflicts(commit)).toBe(false);
  });

  it('a COMMIT of an attempt that wrote writes the wait queue, which every wait writes; one that only read does not', () => {
    const tracker = new FootprintTracker(pointsSchema, 'read-committed');
    const wait = new Footprint();
    tracker.waited(wait);
    tracker.submit(1, read2, new Footprint());
    const readOnly = new Footprint();
    tracker.submit(1, { kind: 'commit' }, readOnly);
    expect(readOnly.conflicts(wait)).toBe(false);
    tracker.submit(2, update1, new Footprint());
    const writer = new Footprint();
    tracker.submit(2, { kind: 'commit' }, writer);
    expect(writer.conflicts(wait)).toBe(true);
  });
});
