import { describe, expect, it } from 'vitest';
import { SqlCompiler } from '../../src/adapters/postgres/sql-compiler.ts';
import { pointsSchema } from '../../src/model/scenarios/points.ts';
import { defineSchema } from '../../src/model/schema.ts';

const schema = defineSchema({
  ...pointsSchema,
  users: { columns: { id: 'int', name: 'text', active: 'bool' }, primaryKey: ['id'], unique: [['name', 'active']] },
});
const compiler = new SqlCompiler(schema, 'lockstep_ab12');

describe('SqlCompiler.statement', () => {
  it('select orders by the primary key, with no where clause for an empty condition', () => {
    expect(compiler.statement({ kind: 'select', table: 'accounts', where: {} })).toEqual({
      sql: 'select * from "lockstep_ab12"."accounts" order by "id"',
      parameters: [],
    });
  });

  it('select for update', () => {
    expect(compiler.statement({ kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' })).toEqual({
      sql: 'select * from "lockstep_ab12"."accounts" where "id" = $1 order by "id" for update',
      parameters: [1],
    });
  });

  it('select with comparisons, order by, limit and for share; the primary key breaks ties', () => {
    expect(
      compiler.statement({
        kind: 'select',
        table: 'accounts',
        where: { id: { gte: 1 }, balance: { ne: 3 } },
        orderBy: [['balance', 'desc']],
        limit: 2,
        lock: 'share',
      }),
    ).toEqual({
      sql: 'select * from "lockstep_ab12"."accounts" where "id" >= $1 and "balance" <> $2 order by "balance" desc, "id" limit $3 for share',
      parameters: [1, 3, 2],
    });
    expect(compiler.statement({ kind: 'select', table: 'accounts', where: { id: { gt: 1 }, balance: { lt: 5 } } }).sql).toBe(
      'select * from "lockstep_ab12"."accounts" where "id" > $1 and "balance" < $2 order by "id"',
    );
    expect(compiler.statement({ kind: 'select', table: 'accounts', where: { balance: { lte: 5 } } }).sql).toBe(
      'select * from "lockstep_ab12"."accounts" where "balance" <= $1 order by "id"',
    );
  });

  it('update with an increment returns the changed rows', () => {
    expect(
      compiler.statement({ kind: 'update', table: 'accounts', where: { id: 1, balance: { gte: 300 } }, set: { balance: { add: -300 } } }),
    ).toEqual({
      sql: 'update "lockstep_ab12"."accounts" set "balance" = "balance" + $1 where "id" = $2 and "balance" >= $3 returning *',
      parameters: [-300, 1, 300],
    });
  });

  it('update with a constant', () => {
    expect(compiler.statement({ kind: 'update', table: 'accounts', where: { id: 1 }, set: { balance: 2700 } })).toEqual({
      sql: 'update "lockstep_ab12"."accounts" set "balance" = $1 where "id" = $2 returning *',
      parameters: [2700, 1],
    });
  });

  it('insert lists columns in table order, with on conflict do nothing', () => {
    expect(
      compiler.statement({
        kind: 'insert',
        table: 'history',
        rows: [
          { delta: -300, tx: 1, account: 1 },
          { tx: 2, account: 1, delta: 5 },
        ],
        onConflict: 'nothing',
      }),
    ).toEqual({
      sql: 'insert into "lockstep_ab12"."history" ("tx", "account", "delta") values ($1, $2, $3), ($4, $5, $6) on conflict do nothing returning *',
      parameters: [1, 1, -300, 2, 1, 5],
    });
    expect(compiler.statement({ kind: 'insert', table: 'users', rows: [{ id: 1, name: 'a', active: true }] })).toEqual({
      sql: 'insert into "lockstep_ab12"."users" ("id", "name", "active") values ($1, $2, $3) returning *',
      parameters: [1, 'a', true],
    });
  });

  it('an upsert: on conflict (columns) do update, the existing row\'s columns qualified by the table (unqualified, PostgreSQL finds them ambiguous with excluded\'s)', () => {
    expect(
      compiler.statement({
        kind: 'insert',
        table: 'users',
        rows: [{ id: 1, name: 'a', active: true }],
        onConflict: { columns: ['id'], update: { name: { excluded: 'name' }, active: false }, where: { active: true } },
      }),
    ).toEqual({
      sql: 'insert into "lockstep_ab12"."users" ("id", "name", "active") values ($1, $2, $3) on conflict ("id") do update set "name" = "excluded"."name", "active" = $4 where "lockstep_ab12"."users"."active" = $5 returning *',
      parameters: [1, 'a', true, false, true],
    });
    expect(compiler.statement({ kind: 'insert', table: 'accounts', rows: [{ id: 1, balance: 5 }], onConflict: { columns: ['id'], update: { balance: { add: 5 } } } })).toEqual({
      sql: 'insert into "lockstep_ab12"."accounts" ("id", "balance") values ($1, $2) on conflict ("id") do update set "balance" = "lockstep_ab12"."accounts"."balance" + $3 returning *',
      parameters: [1, 5, 5],
    });
  });

  it('delete returns the deleted rows', () => {
    expect(compiler.statement({ kind: 'delete', table: 'history', where: { tx: { lt: 3 } } })).toEqual({
      sql: 'delete from "lockstep_ab12"."history" where "tx" < $1 returning *',
      parameters: [3],
    });
  });

  it('count(*) and sum(column) over a where clause, named count and sum, with no ordering', () => {
    expect(compiler.statement({ kind: 'select', table: 'history', where: { account: 1 }, aggregate: 'count' })).toEqual({
      sql: 'select count(*) as "count" from "lockstep_ab12"."history" where "account" = $1',
      parameters: [1],
    });
    expect(compiler.statement({ kind: 'select', table: 'history', where: { tx: { lt: 3 } }, aggregate: { sum: 'delta' } })).toEqual({
      sql: 'select sum("delta") as "sum" from "lockstep_ab12"."history" where "tx" < $1',
      parameters: [3],
    });
  });

  it('commit and rollback', () => {
    expect(compiler.statement({ kind: 'commit' })).toEqual({ sql: 'commit', parameters: [] });
    expect(compiler.statement({ kind: 'rollback' })).toEqual({ sql: 'rollback', parameters: [] });
  });

  it('begin names the isolation level', () => {
    expect(compiler.begin('read-committed')).toBe('begin isolation level read committed');
    expect(compiler.begin('repeatable-read')).toBe('begin isolation level repeatable read');
    expect(compiler.begin('serializable')).toBe('begin isolation level serializable');
  });
});

describe('SqlCompiler scripts', () => {
  it('creates tables with C-collated text, not null columns and the constraint names the model reports', () => {
    expect(compiler.createSchemaScript().split(';\n')).toEqual([
      'create schema "lockstep_ab12"',
      'create table "lockstep_ab12"."accounts" ("id" integer not null, "balance" integer not null, constraint "accounts_pkey" primary key ("id")) with (autovacuum_enabled = false)',
      'create table "lockstep_ab12"."history" ("tx" integer not null, "account" integer not null, "delta" integer not null, constraint "history_pkey" primary key ("tx")) with (autovacuum_enabled = false)',
      'create table "lockstep_ab12"."users" ("id" integer not null, "name" text collate "C" not null, "active" boolean not null, constraint "users_pkey" primary key ("id"), constraint "users_name_active_key" unique ("name", "active")) with (autovacuum_enabled = false)',
    ]);
  });

  it('resets every table in one script, with literals quoted', () => {
    expect(
      compiler.resetScript({ accounts: [{ id: 1, balance: 3000 }], history: [], users: [{ name: "O'Brien\\", id: 1, active: false }] }).split(';\n'),
    ).toEqual([
      'truncate "lockstep_ab12"."accounts", "lockstep_ab12"."history", "lockstep_ab12"."users"',
      'insert into "lockstep_ab12"."accounts" ("id", "balance") values (1, 3000)',
      `insert into "lockstep_ab12"."users" ("id", "name", "active") values (1, 'O''Brien\\', false)`,
    ]);
  });

  it('reads tables in primary-key order and drops the schema', () => {
    expect(compiler.tablesScript().split(';\n')).toEqual([
      'select * from "lockstep_ab12"."accounts" order by "id"',
      'select * from "lockstep_ab12"."history" order by "tx"',
      'select * from "lockstep_ab12"."users" order by "id"',
    ]);
    expect(compiler.dropSchemaScript()).toBe('drop schema if exists "lockstep_ab12" cascade');
  });
});
