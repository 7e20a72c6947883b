import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../../src/errors.ts';
import { catalogue } from '../../src/model/scenarios/catalogue.ts';
import { checkScenario } from '../../src/model/check-scenario.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario } from '../../src/model/scenario.ts';
import { scenarios } from '../../src/model/scenarios/index.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import { statementPrograms } from '../../properties/statement-programs.ts';

/** One welcome gift per user: a gift row per claim, `user` unique. */
const schema = defineSchema({
  gifts: { columns: { id: 'int', user: 'int', note: 'text', sent: 'bool' }, primaryKey: ['id'], unique: [['user']] },
});
type Db = DatabaseOf<typeof schema>;
type GiftScenario = Scenario<typeof schema, Db>;

function* claimNaive(tx: Tx<Db>, a: { user: number }) {
  const gift = yield* tx.selectOne('gifts', { user: a.user });
  if (gift) return yield* tx.rollback('already');
  yield* tx.insert('gifts', { id: tx.id, user: a.user, note: 'welcome', sent: false });
  return yield* tx.commit('ok');
}
function* claimUnique(tx: Tx<Db>, a: { user: number }) {
  const rows = yield* tx.insert('gifts', { id: tx.id, user: a.user, note: 'welcome', sent: false }, { onConflict: 'nothing' });
  return yield* tx.commit(rows.length ? 'ok' : 'already');
}
function* cancel(tx: Tx<Db>, a: { user: number }) {
  yield* tx.delete('gifts', { user: a.user });
  return yield* tx.commit('ok');
}

const base: GiftScenario = {
  id: 'gift-once',
  title: 'one welcome gift per user',
  schema,
  seed: {
    gifts: [
      { id: 1, user: 1, note: 'hi', sent: true },
      { id: 2, user: 2, note: 'hi', sent: false },
    ],
  },
  isolationLevels: ['read-committed', 'serializable'],
  operations: {
    claim: { args: fc.record({ user: fc.integer({ min: 1, max: 3 }) }), serial: () => 'ok' },
    cancel: { args: fc.record({ user: fc.integer({ min: 1, max: 3 }) }), serial: () => 'ok' },
  },
  strategies: {
    naive: { description: 'look, then insert', programs: { claim: claimNaive, cancel }, expected: { 'read-committed': 'fails' } },
    unique: { description: 'insert on conflict do nothing', programs: { claim: claimUnique, cancel }, expected: { 'read-committed': 'passes', serializable: 'passes' } },
  },
  invariants: [],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'claim', args: { user: 3 } },
    { operation: 'claim', args: { user: 3 } },
  ],
};

/** The gift scenario with some parts replaced. */
const gift = (changes: Partial<GiftScenario>): Scenario => defineScenario({ ...base, ...changes });

/** The sentence `checkScenario` throws for `scenario`, asserting it is a DefinitionError. */
function problem(scenario: Scenario): string {
  try {
    checkScenario(scenario);
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as Error).message;
  }
  throw new Error('checkScenario passed');
}

const row = (id: number, user: number) => ({ id, user, note: 'hi', sent: false });

describe('checkScenario', () => {
  it('passes a well-defined scenario, and remembers it', () => {
    const scenario = gift({ seed: { gifts: [row(1, 1)] } });
    checkScenario(scenario);
    (scenario.seed as Record<string, unknown>).gifts = 'changed after the check';
    expect(() => checkScenario(scenario)).not.toThrow();
  });

  it('checks a scenario that failed again', () => {
    const scenario = gift({ seed: 'none' as never });
    const sentence = 'Scenario gift-once: the seed is "none"; give it a list of rows for each table (gifts).';
    expect(problem(scenario)).toBe(sentence);
    expect(problem(scenario)).toBe(sentence);
  });

  it('passes every built-in scenario, catalogue entry and the statement-programs scenario', () => {
    // points-deduct, points-add, points-fifo and points-hot-lot share strategies whose programs cover
    // operations of sibling scenarios (add, deduct, expire): src/model/points.ts and points-lots.ts must
    // give each scenario only its own operations' programs before they can be listed here.
    const extraPrograms = new Set<string>();
    const all = [...scenarios.filter((s) => !extraPrograms.has(s.id)), ...catalogue.map((e) => e.scenario), statementPrograms];
    for (const scenario of all) expect(() => checkScenario(scenario), scenario.id).not.toThrow();
  });

  describe('seed', () => {
    it('a seed table the schema does not have', () => {
      // @ts-expect-error: no table gift
      expect(problem(gift({ seed: { gifts: [], gift: [] } }))).toBe('Scenario gift-once: the seed has table gift, which the schema does not have; the tables are gifts.');
    });

    it('a schema table without seed rows', () => {
      // @ts-expect-error: gifts is missing
      expect(problem(gift({ seed: {} }))).toBe('Scenario gift-once: the seed has no rows for table gifts; give every table a list of rows, [] for none.');
    });

    it('a seed row with an unknown column', () => {
      // @ts-expect-error: no column usr
      const seed: { gifts: Db['gifts'][] } = { gifts: [row(1, 1), { id: 2, usr: 2, note: 'hi', sent: false }] };
      expect(problem(gift({ seed }))).toBe('Scenario gift-once: seed row 2 of table gifts has column usr, which the table does not have; its columns are id, user, note, sent.');
    });

    it('a seed row with a missing column', () => {
      // @ts-expect-error: sent is missing
      const seed: { gifts: Db['gifts'][] } = { gifts: [{ id: 1, user: 1, note: 'hi' }] };
      expect(problem(gift({ seed }))).toBe('Scenario gift-once: seed row 1 of table gifts has no value for column sent; every row of gifts needs id, user, note, sent.');
    });

    it('a seed value of the wrong type', () => {
      // @ts-expect-error: user is an int
      const seed: { gifts: Db['gifts'][] } = { gifts: [row(1, 1), { id: 2, user: '1', note: 'hi', sent: false }] };
      expect(problem(gift({ seed }))).toBe('Scenario gift-once: seed row 2 of table gifts has "user": "1", but column user is an int.');
      const bad = (changes: Record<string, unknown>) => problem(gift({ seed: { gifts: [{ ...row(1, 1), ...changes }] } }));
      expect(bad({ user: 2 ** 31 })).toBe('Scenario gift-once: seed row 1 of table gifts has "user": 2147483648, but column user is an int, a whole number from -2147483648 to 2147483647.');
      expect(bad({ id: 1.5 })).toBe('Scenario gift-once: seed row 1 of table gifts has "id": 1.5, but column id is an int, a whole number from -2147483648 to 2147483647.');
      expect(bad({ id: NaN })).toBe('Scenario gift-once: seed row 1 of table gifts has "id": NaN, but column id is an int, a whole number from -2147483648 to 2147483647.');
      expect(bad({ note: 7 })).toBe('Scenario gift-once: seed row 1 of table gifts has "note": 7, but column note is a text.');
      expect(bad({ sent: 'yes' })).toBe('Scenario gift-once: seed row 1 of table gifts has "sent": "yes", but column sent is a bool.');
      expect(bad({ sent: null })).toBe(`Scenario gift-once: seed row 1 of table gifts has "sent": null, but column sent is NOT NULL; declare it { type: 'bool', nullable: true } to allow null.`);
    });

    it('two seed rows with one primary key or one unique key', () => {
      expect(problem(gift({ seed: { gifts: [row(1, 1), row(2, 2), row(1, 3)] } }))).toBe(
        'Scenario gift-once: seed rows 1 and 3 of table gifts both have id=1, but (id) is the primary key.',
      );
      expect(problem(gift({ seed: { gifts: [row(1, 1), row(2, 2), row(3, 2)] } }))).toBe(
        'Scenario gift-once: seed rows 2 and 3 of table gifts both have user=2, but (user) is a unique index.',
      );
    });

    it('inherited names are not columns', () => {
      const withKey = (key: string) => problem(gift({ seed: { gifts: [{ ...row(1, 1), ...JSON.parse(`{"${key}": 1}`) }] } }));
      expect(withKey('toString')).toBe('Scenario gift-once: seed row 1 of table gifts has column toString, which the table does not have; its columns are id, user, note, sent.');
      expect(withKey('__proto__')).toBe('Scenario gift-once: seed row 1 of table gifts has column __proto__, which the table does not have; its columns are id, user, note, sent.');
      expect(problem(gift({ seed: JSON.parse('{"gifts": [], "constructor": []}') }))).toBe(
        'Scenario gift-once: the seed has table constructor, which the schema does not have; the tables are gifts.',
      );
    });
  });

  describe('schema', () => {
    it('a primary key or unique column the table does not have', () => {
      const keyed = (primaryKey: string[], unique: string[][]) =>
        problem(gift({ schema: { gifts: { ...schema.gifts, primaryKey, unique } } as never, seed: { gifts: [] } }));
      expect(keyed(['uid'], [])).toBe('Scenario gift-once: the primary key of table gifts names column uid, which the table does not have; its columns are id, user, note, sent.');
      expect(keyed(['constructor'], [])).toBe(
        'Scenario gift-once: the primary key of table gifts names column constructor, which the table does not have; its columns are id, user, note, sent.',
      );
      expect(keyed(['id'], [['user', 'usr']])).toBe(
        'Scenario gift-once: unique index (user, usr) of table gifts names column usr, which the table does not have; its columns are id, user, note, sent.',
      );
      expect(keyed([], [])).toBe('Scenario gift-once: the primary key of table gifts is []; name one or more of its columns id, user, note, sent.');
    });

    it('a column of an unknown type', () => {
      const typed = { gifts: { ...schema.gifts, columns: { ...schema.gifts.columns, sent: 'boolean' } } };
      expect(problem(gift({ schema: typed as never }))).toBe(
        `Scenario gift-once: column sent of table gifts is "boolean"; a column is 'int', 'text', 'bool' or 'bigint', or { type, nullable: true } for one that may hold null.`,
      );
      const spec = { gifts: { ...schema.gifts, columns: { ...schema.gifts.columns, note: { type: 'text', null: true } } } };
      expect(problem(gift({ schema: spec as never }))).toBe(
        `Scenario gift-once: column note of table gifts is {"type":"text","null":true}; a column is 'int', 'text', 'bool' or 'bigint', or { type, nullable: true } for one that may hold null.`,
      );
      const nullableKey = { gifts: { ...schema.gifts, columns: { ...schema.gifts.columns, id: { type: 'int', nullable: true } } } };
      expect(problem(gift({ schema: nullableKey as never }))).toBe(
        'Scenario gift-once: column id of table gifts is nullable, but it is in the primary key, which PostgreSQL makes NOT NULL; drop nullable: true.',
      );
    });
  });

  describe('foreign keys', () => {
    /** The gift scenario with a `senders` table whose `gift` column references gifts by `fk`, seeded with `senders`. */
    const referencing = (fk: object, senders: object[] = [], extra: object = {}) =>
      problem(
        gift({
          schema: { ...extra, gifts: schema.gifts, senders: { columns: { id: 'int', gift: 'int', note: 'text' }, primaryKey: ['id'], foreignKeys: [fk] } } as never,
          seed: { ...base.seed, senders, ...Object.fromEntries(Object.keys(extra).map((t) => [t, []])) } as never,
        }),
      );
    const at = 'Scenario gift-once: foreign key (gift) of table senders';

    it('a reference to a missing table or column, or to columns that are not a key', () => {
      expect(referencing({ columns: ['gift'], references: { table: 'gift', columns: ['id'] } })).toBe(`${at} references table gift, which the schema does not have; the tables are gifts, senders.`);
      expect(referencing({ columns: ['gift'], references: { table: 'gifts', columns: ['gid'] } })).toBe(`${at} references column gid of table gifts, which that table does not have; its columns are id, user, note, sent.`);
      expect(referencing({ columns: ['gift'], references: { table: 'gifts', columns: ['note'] } })).toBe(
        `${at} references (note) of table gifts, which is not its primary key or a unique index; PostgreSQL needs one to find the referenced row.`,
      );
      expect(referencing({ columns: ['gift'], references: { table: 'gifts', columns: ['id', 'user'] } })).toBe(`${at} references columns ["id","user"] of table gifts; give one referenced column for each of its 1.`);
      expect(referencing({ columns: ['gid'], references: { table: 'gifts', columns: ['id'] } })).toBe(
        'Scenario gift-once: foreign key (gid) of table senders names column gid, which the table does not have; its columns are id, gift, note.',
      );
      expect(referencing({ columns: ['note'], references: { table: 'gifts', columns: ['id'] } })).toBe(
        'Scenario gift-once: foreign key (note) of table senders has column note of type text referencing gifts.id of type int; give them the same type.',
      );
      expect(referencing({ columns: ['gift'], references: { table: 'gifts', columns: ['id'] }, onDelete: 'set null' })).toBe(`${at} has onDelete "set null"; it is 'no-action' (the default), 'restrict' or 'cascade'.`);
    });

    it('a cycle of foreign keys, and a seed row whose parent is not seeded', () => {
      expect(referencing({ columns: ['gift'], references: { table: 'senders', columns: ['id'] } })).toBe(
        'Scenario gift-once: the foreign keys form a cycle (senders -> senders); lockstep creates and seeds each referenced table before the tables referencing it, so it needs none.',
      );
      expect(referencing({ columns: ['gift'], references: { table: 'gifts', columns: ['id'] } }, [{ id: 1, gift: 7, note: 'x' }])).toBe(
        'Scenario gift-once: seed row 1 of table senders has gift=7, which no seed row of table gifts has in (id) (foreign key senders_gift_fkey); seed the referenced row.',
      );
    });
  });

  describe('operations and strategies', () => {
    it('an operation without a program in some strategy', () => {
      const strategies = { ...base.strategies, unique: { ...base.strategies.unique, programs: { cancel } } };
      expect(problem(gift({ strategies }))).toBe('Scenario gift-once: strategy unique has no program for operation claim; every strategy needs one for each of claim, cancel.');
    });

    it('a program for an operation the scenario does not have', () => {
      const strategies = { ...base.strategies, naive: { ...base.strategies.naive, programs: { claim: claimNaive, cancel, cancl: cancel } } };
      expect(problem(gift({ strategies }))).toBe(
        'Scenario gift-once: strategy naive has a program for operation cancl, which the scenario does not have; the operations are claim, cancel.',
      );
    });

    it('an operation named like an inherited property still needs its own program', () => {
      const operations = { ...base.operations, toString: base.operations.cancel };
      expect(problem(gift({ operations }))).toBe(
        'Scenario gift-once: strategy naive has no program for operation toString; every strategy needs one for each of claim, cancel, toString.',
      );
    });

    it('a canonical transaction of an unknown operation', () => {
      expect(problem(gift({ canonical: [{ operation: 'claim', args: { user: 1 } }, { operation: 'clam', args: { user: 1 } }] }))).toBe(
        'Scenario gift-once: canonical transaction 2 runs operation clam, which the scenario does not have; the operations are claim, cancel.',
      );
      expect(problem(gift({ canonical: [{ operation: 'toString', args: null }] }))).toBe(
        'Scenario gift-once: canonical transaction 1 runs operation toString, which the scenario does not have; the operations are claim, cancel.',
      );
    });

    it('a verdict under an isolation level the scenario does not support', () => {
      const strategies = { ...base.strategies, naive: { ...base.strategies.naive, expected: { 'repeatable-read': 'passes' as const } } };
      expect(problem(gift({ strategies }))).toBe(
        'Scenario gift-once: strategy naive expects a verdict under repeatable-read, which the scenario does not support; its isolation levels are read-committed, serializable.',
      );
    });
  });

  describe('sizes and levels', () => {
    it('transactions that are not whole numbers with 1 <= min <= max', () => {
      const sentence = (given: string) => `Scenario gift-once: transactions is ${given}; min and max must be whole numbers with 1 <= min <= max.`;
      expect(problem(gift({ transactions: { min: 0, max: 3 } }))).toBe(sentence('{ min: 0, max: 3 }'));
      expect(problem(gift({ transactions: { min: 3, max: 2 } }))).toBe(sentence('{ min: 3, max: 2 }'));
      expect(problem(gift({ transactions: { min: 1.5, max: 3 } }))).toBe(sentence('{ min: 1.5, max: 3 }'));
      expect(problem(gift({ transactions: { min: 2, max: Infinity } }))).toBe(sentence('{ min: 2, max: Infinity }'));
    });

    it('no isolation level, or an unknown one', () => {
      expect(problem(gift({ isolationLevels: [] }))).toBe('Scenario gift-once: isolationLevels is []; list at least one of read-committed, repeatable-read, serializable.');
      // @ts-expect-error: not an isolation level
      expect(problem(gift({ isolationLevels: ['read-committed', 'snapshot'] }))).toBe(
        'Scenario gift-once: isolationLevels has "snapshot", which is not an isolation level; the levels are read-committed, repeatable-read, serializable.',
      );
    });
  });
});
