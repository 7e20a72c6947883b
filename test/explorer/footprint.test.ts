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

  it('an insert into a table with a further unique index conflicts with any access to the table', () => {
    const schema = defineSchema({ users: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] } });
    const a = statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id: 1, email: 'a' }] });
    const b = statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id: 2, email: 'a' }] });
    expect(a.conflicts(b)).toBe(true);
  });

  it('COMMIT writes everything its attempt touched, reads included, and the commit log', () => {
    const tracker = new FootprintTracker(pointsSchema, 'read-committed');
    tracker.submit(1, read1, new Footprint());
    const commit = new Footprint();
    tracker.submit(1, { kind: 'commit' }, commit);
    expect(commit.conflicts(fp(read1))).toBe(true);
    expect(commit.conflicts(fp(read2))).toBe(false);
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
});
