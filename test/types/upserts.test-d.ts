import { describe, expectTypeOf, test } from 'vitest';
import type { Tx } from '../../src/model/program.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { ConflictUpdate, InsertStatement, Statement } from '../../src/model/statement.ts';

/**
 * Upserts in the types: `onConflict: { columns, update, where? }` names the
 * table's columns; `update` takes a `set`'s values or `{ excluded: col }` of a
 * column of the same type. Each `@ts-expect-error` fails this file if the line
 * below it compiles.
 */
const schema = defineSchema({ requests: { columns: { key: 'text', charge: 'int', seen: 'int', note: { type: 'text', nullable: true } }, primaryKey: ['key'] } });
type Db = DatabaseOf<typeof schema>;

describe('upserts', () => {
  test('docs/api.md: the request that won the key charges', () => {
    function* pay(tx: Tx<Db>, a: { key: string }) {
      const [request] = yield* tx.insert('requests', { key: a.key, charge: tx.id, seen: 1, note: null }, { onConflict: { columns: ['key'], update: { seen: { add: 1 } } } });
      if (request.charge !== tx.id) return yield* tx.commit('duplicate');
      return yield* tx.commit('charged');
    }
    expectTypeOf(pay).toBeFunction();
    expectTypeOf<InsertStatement<Db, 'requests'>>().toMatchTypeOf<Statement>();
  });

  test('columns, SET values, excluded columns and the where clause are checked', () => {
    expectTypeOf<{ columns: ['key']; update: { charge: { excluded: 'seen' }; note: { excluded: 'key' }; seen: 1 }; where: { seen: { lt: 5 } } }>().toMatchTypeOf<ConflictUpdate<Db['requests']>>();
    // @ts-expect-error: no column kee
    expectTypeOf<{ columns: ['kee']; update: { seen: 1 } }>().toMatchTypeOf<ConflictUpdate<Db['requests']>>();
    // @ts-expect-error: seen is an int, key a text
    expectTypeOf<{ columns: ['key']; update: { seen: { excluded: 'key' } } }>().toMatchTypeOf<ConflictUpdate<Db['requests']>>();
    // @ts-expect-error: a text takes no increment
    expectTypeOf<{ columns: ['key']; update: { key: { add: 1 } } }>().toMatchTypeOf<ConflictUpdate<Db['requests']>>();
  });
});
