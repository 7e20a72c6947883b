import { describe, expect, it } from 'vitest';
import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { Footprint, FootprintTracker, statementFootprint, type Independence } from '../../src/explorer/footprint.ts';
import { pointsSchema } from '../../src/model/scenarios/points.ts';
import { defineSchema, type Schema } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';
import { orderLinesSchema } from '../../src/model/scenarios/order-lines.ts';
import { parentChildSchema } from '../../properties/foreign-key-programs.ts';

const fp = (s: Statement) => statementFootprint(pointsSchema, s);
const read1: Statement = { kind: 'select', table: 'accounts', where: { id: 1 } };
const read2: Statement = { kind: 'select', table: 'accounts', where: { id: 2 } };
const lock1: Statement = { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' };
const update1: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { gte: 300 } }, set: { balance: { add: -300 } } };
const scan: Statement = { kind: 'select', table: 'accounts', where: { balance: { gte: 0 } } };
const insert2: Statement = { kind: 'insert', table: 'accounts', rows: [{ id: 2, balance: 0 }] };

/** The footprint of a COMMIT of an attempt that ran `statements`. */
function commitOf(statements: readonly Statement[], isolation: IsolationLevel = 'read-committed', independence: Independence = 'semantic', schema: Schema = pointsSchema): Footprint {
  const tracker = new FootprintTracker(schema, isolation, independence);
  for (const s of statements) tracker.submit(1, s, new Footprint());
  const commit = new Footprint();
  tracker.submit(1, { kind: 'commit' }, commit);
  return commit;
}

describe('footprints and independence', () => {
  it('foreign keys: a child insert locks its parent row; a parent delete locks or deletes its children, a cascade their own children too', () => {
    const lines = (s: Statement) => statementFootprint(orderLinesSchema, s);
    const line = (product: number): Statement => ({ kind: 'insert', table: 'order_lines', rows: [{ id: 9, product, qty: 1 }] });
    expect(lines(line(1)).conflicts(lines({ kind: 'select', table: 'products', where: { id: 1 }, lock: 'update' }))).toBe(true);
    expect(lines(line(2)).conflicts(lines({ kind: 'select', table: 'products', where: { id: 1 }, lock: 'update' }))).toBe(false);
    expect(lines(line(1)).conflicts(lines({ kind: 'delete', table: 'products', where: { id: 1 } }))).toBe(true);
    expect(lines({ kind: 'delete', table: 'products', where: { id: 2 } }).conflicts(lines(line(1)))).toBe(false);
    const family = (s: Statement) => statementFootprint(parentChildSchema, s);
    const child = (parent: number | null): Statement => ({ kind: 'insert', table: 'children', rows: [{ id: 9, parent }] });
    expect(family({ kind: 'delete', table: 'parents', where: { id: 1 } }).conflicts(family(child(1)))).toBe(true);
    // The cascade deletes children of any id, so it holds the children's primary key entries: an insert of another parent's child may meet one.
    expect(family({ kind: 'delete', table: 'parents', where: { id: 1 } }).conflicts(family(child(2)))).toBe(true);
    expect(family({ kind: 'select', table: 'parents', where: { id: 1 }, lock: 'update' }).conflicts(family(child(2)))).toBe(false);
    expect(family({ kind: 'update', table: 'parents', where: { id: 1 }, set: { v: 5 } }).conflicts(family(child(null)))).toBe(false);
    expect(family({ kind: 'update', table: 'parents', where: { id: 1 }, set: { k: 50 } }).conflicts(family({ kind: 'insert', table: 'notes', rows: [{ id: 9, k: 10 }] }))).toBe(true);
    expect(family({ kind: 'update', table: 'parents', where: { id: 1 }, set: { k: 50 } }).conflicts(family({ kind: 'insert', table: 'notes', rows: [{ id: 9, k: 20 }] }))).toBe(true);
  });

  it('plain reads commute, also of the same row', () => {
    expect(fp(read1).conflicts(fp(read1))).toBe(false);
    expect(fp(scan).conflicts(fp(read1))).toBe(false);
  });

  it('a plain read sees committed rows only: it commutes with an uncommitted write or lock of its row, not with the COMMIT of one', () => {
    expect(fp(read1).conflicts(fp(update1))).toBe(false);
    expect(fp(read1).conflicts(fp(lock1))).toBe(false);
    expect(fp(read1).conflicts(commitOf([update1]))).toBe(true);
    expect(fp(read1).conflicts(commitOf([lock1]))).toBe(true);
    expect(fp(read2).conflicts(commitOf([update1]))).toBe(false);
    // Coarse (lockstep 0.1): the read and the write conflict.
    const coarse = (s: Statement) => statementFootprint(pointsSchema, s, undefined, { independence: 'coarse' });
    expect(coarse(read1).conflicts(coarse(update1))).toBe(true);
  });

  it('a lock and a write of the same row conflict; of different rows they do not', () => {
    expect(fp(lock1).conflicts(fp(update1))).toBe(true);
    expect(fp({ ...lock1, where: { id: 2 } }).conflicts(fp(update1))).toBe(false);
  });

  it('a predicate read conflicts with the COMMIT of a write it can match, an insert included', () => {
    expect(fp(scan).conflicts(commitOf([update1]))).toBe(true);
    expect(fp(scan).conflicts(commitOf([insert2]))).toBe(true);
    expect(fp(read1).conflicts(commitOf([insert2]))).toBe(false);
    expect(fp({ kind: 'select', table: 'accounts', where: { balance: { gt: 0 } } }).conflicts(commitOf([insert2]))).toBe(false);
  });

  it('an insert into a table with a further unique index conflicts with a delete of the same value there, not with one of another value', () => {
    const schema = defineSchema({ users: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] } });
    const insert = (id: number, email: string) => statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id, email }] });
    const remove = (id: number, email: string) => statementFootprint(schema, { kind: 'delete', table: 'users', where: { id, email } });
    expect(insert(1, 'a').conflicts(remove(2, 'a'))).toBe(true);
    expect(insert(1, 'a').conflicts(remove(1, 'b'))).toBe(true);
    expect(insert(1, 'a').conflicts(remove(2, 'b'))).toBe(false);
    // Two inserts always conflict: each takes the heap's next line pointer, and a later UPDATE or DELETE of both rows meets them in that order.
    expect(insert(1, 'a').conflicts(insert(2, 'b'))).toBe(true);
    // Coarse (lockstep 0.1): any access to the table.
    expect(statementFootprint(schema, { kind: 'insert', table: 'users', rows: [{ id: 1, email: 'a' }] }, undefined, { independence: 'coarse' }).conflicts(insert(2, 'b'))).toBe(true);
  });

  it('inserts and updates of one table are ordered by its heap order, whatever rows they write; of different tables they are independent', () => {
    expect(fp(insert2).conflicts(fp({ kind: 'insert', table: 'accounts', rows: [{ id: 3, balance: 0 }] }))).toBe(true);
    expect(fp(update1).conflicts(fp({ ...update1, where: { id: 2 } }))).toBe(true);
    expect(fp(insert2).conflicts(fp({ kind: 'delete', table: 'accounts', where: { id: 3 } }))).toBe(false);
    expect(fp(insert2).conflicts(fp({ kind: 'insert', table: 'history', rows: [{ tx: 1, account: 2, delta: 5 }] }))).toBe(false);
    // A COMMIT or ROLLBACK takes no line pointer: the end of an attempt that inserted does not conflict with another insert through the heap order.
    expect(commitOf([insert2]).conflicts(fp({ kind: 'insert', table: 'accounts', rows: [{ id: 3, balance: 0 }] }))).toBe(false);
  });

  it('an update or delete by predicate holds index entries of any key: it conflicts with every insert into the table', () => {
    const del: Statement = { kind: 'delete', table: 'accounts', where: { balance: { lt: 0 } } };
    expect(fp(del).conflicts(fp(insert2))).toBe(true);
    expect(fp({ kind: 'delete', table: 'accounts', where: { id: 1 } }).conflicts(fp(insert2))).toBe(false);
  });

  it('where-clauses are compared by their conditions', () => {
    const lock = (w: Record<string, unknown>): Statement => ({ kind: 'select', table: 'accounts', where: w, lock: 'update' });
    const conflict = (a: Record<string, unknown>, b: Record<string, unknown>) => fp(lock(a)).conflicts(fp(lock(b)));
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
    const scanHigh: Statement = { kind: 'select', table: 'accounts', where: { balance: { gte: 400 } } };
    const setTo500: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { lt: 100 } }, set: { balance: 500 } };
    expect(fp(scanHigh).conflicts(commitOf([setTo500]))).toBe(true);
    const addTen: Statement = { kind: 'update', table: 'accounts', where: { id: 1, balance: { lt: 100 } }, set: { balance: { add: 10 } } };
    expect(fp(scanHigh).conflicts(commitOf([addTen]))).toBe(false);
    expect(fp({ kind: 'select', table: 'accounts', where: { balance: { gte: 105 } } }).conflicts(commitOf([addTen]))).toBe(true);
  });

  it('under read committed a COMMIT writes what its attempt wrote or locked, not what it only read; COMMITs commute with each other', () => {
    const readOnly = commitOf([read1]);
    expect(readOnly.conflicts(fp(update1))).toBe(false);
    expect(readOnly.conflicts(fp(read1))).toBe(false);
    const locked = commitOf([lock1]);
    expect(locked.conflicts(fp(lock1))).toBe(true);
    expect(locked.conflicts(fp(read2))).toBe(false);
    expect(readOnly.conflicts(locked)).toBe(false);
  });

  it('lockstep 0.1 (coarse) and SERIALIZABLE: a COMMIT writes everything its attempt touched, reads included, and the commit log', () => {
    const coarse = commitOf([read1], 'read-committed', 'coarse');
    expect(coarse.conflicts(statementFootprint(pointsSchema, update1, undefined, { independence: 'coarse' }))).toBe(true);
    expect(coarse.conflicts(commitOf([read2], 'read-committed', 'coarse'))).toBe(true);
    const serializable = commitOf([read1], 'serializable');
    expect(serializable.conflicts(statementFootprint(pointsSchema, read2, undefined, { wholeTables: true }))).toBe(true);
  });

  it('under repeatable read the first statement takes a snapshot, which does not commute with any COMMIT; later plain reads read the snapshot', () => {
    const rr = new FootprintTracker(pointsSchema, 'repeatable-read');
    const first = new Footprint();
    rr.submit(2, read2, first);
    const second = new Footprint();
    rr.submit(2, read1, second);
    const commit = commitOf([update1], 'repeatable-read');
    expect(first.conflicts(commit)).toBe(true);
    expect(second.conflicts(commit)).toBe(false);
    expect(second.empty).toBe(true);
  });

  it('a COMMIT of an attempt that wrote writes the wait queue, which every wait writes; one that only read does not', () => {
    const tracker = new FootprintTracker(pointsSchema, 'read-committed');
    const wait = new Footprint();
    tracker.waited(wait);
    expect(commitOf([read2]).conflicts(wait)).toBe(false);
    expect(commitOf([update1]).conflicts(wait)).toBe(true);
  });
});
