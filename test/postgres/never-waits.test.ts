import { describe, expect, it } from 'vitest';
import { neverWaits } from '../../src/adapters/postgres/postgres-backend.ts';
import type { Statement } from '../../src/model/statement.ts';

/**
 * Which statements the PostgreSQL backend's settle runs without polling:
 * those PostgreSQL never makes wait for another transaction. A statement
 * wrongly listed here would be reported only at the settle deadline, so the
 * list is exact.
 */
describe('neverWaits', () => {
  const cases: [string, Statement, boolean][] = [
    ['commit', { kind: 'commit' }, true],
    ['rollback', { kind: 'rollback' }, true],
    ['savepoint', { kind: 'savepoint', name: 'a' }, true],
    ['release', { kind: 'release', name: 'a' }, true],
    ['rollback to savepoint', { kind: 'rollback-to', name: 'a' }, true],
    ['a plain select', { kind: 'select', table: 'accounts', where: { id: 1 } }, true],
    ['an aggregate', { kind: 'select', table: 'accounts', where: {}, aggregate: 'count' }, true],
    ['pg_try_advisory_xact_lock', { kind: 'advisory-lock', key: 7, try: true }, true],
    ['select for update', { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' }, false],
    ['select for share skip locked', { kind: 'select', table: 'accounts', where: {}, lock: 'share', skipLocked: true }, false],
    ['select for update nowait', { kind: 'select', table: 'accounts', where: {}, lock: 'update', nowait: true }, false],
    ['pg_advisory_xact_lock', { kind: 'advisory-lock', key: 7 }, false],
    ['update', { kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 1 } }, false],
    ['insert', { kind: 'insert', table: 'accounts', rows: [{ id: 2, balance: 0 }] }, false],
    ['delete', { kind: 'delete', table: 'accounts', where: { id: 1 } }, false],
  ];
  it.each(cases)('%s', (_, statement, expected) => {
    expect(neverWaits(statement)).toBe(expected);
  });
});
