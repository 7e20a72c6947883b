import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { runOnEngine } from '../../src/explorer/runner.ts';
import { choiceSchedule } from '../../src/explorer/schedule.ts';
import { DefinitionError } from '../../src/errors.ts';
import { checkStatement } from '../../src/model/check-statement.ts';
import type { Tx } from '../../src/model/program.ts';
import { defineScenario, type Scenario } from '../../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../../src/model/schema.ts';
import type { Statement } from '../../src/model/statement.ts';

const schema = defineSchema({
  gifts: { columns: { id: 'int', user: 'int', note: 'text', sent: 'bool' }, primaryKey: ['id'], unique: [['user']] },
});
type Db = DatabaseOf<typeof schema>;

function* claim(tx: Tx<Db>, a: { user: number }) {
  const gift = yield* tx.selectOne('gifts', { user: a.user });
  if (gift) return yield* tx.rollback('already');
  yield* tx.insert('gifts', { id: tx.id, user: a.user, note: 'welcome', sent: false });
  return yield* tx.commit('ok');
}

const giftOnce = defineScenario({
  id: 'gift-once',
  title: 'one welcome gift per user',
  schema,
  seed: { gifts: [] },
  isolationLevels: ['read-committed'],
  operations: { claim: { args: fc.record({ user: fc.constant(1) }), serial: () => 'ok' } },
  strategies: { naive: { description: 'look, then insert', programs: { claim }, expected: {} } },
  invariants: [],
  transactions: { min: 2, max: 2 },
  canonical: [],
});

const origin = 'Scenario gift-once, strategy naive, operation claim (T1)';
const columns = 'the columns of gifts are id, user, note, sent.';

/** The sentence `checkStatement` throws for `statement`, as yielded by T1 of claim under naive. */
function problem(statement: unknown): string {
  try {
    checkStatement(giftOnce, 'naive', 'claim', 1, statement);
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return (e as Error).message;
  }
  throw new Error('checkStatement passed');
}

/** Statements on gifts, written untyped as an untyped caller (or a misspelling TypeScript would catch) yields them. */
const select = (rest: Record<string, unknown>) => ({ kind: 'select', table: 'gifts', where: {}, ...rest });
const update = (where: Record<string, unknown>, set: Record<string, unknown>) => ({ kind: 'update', table: 'gifts', where, set });
const insert = (...rows: Record<string, unknown>[]) => ({ kind: 'insert', table: 'gifts', rows });
const row = { id: 1, user: 1, note: 'hi', sent: false };

describe('checkStatement', () => {
  it('passes well-formed statements', () => {
    const good: Statement<Db>[] = [
      { kind: 'select', table: 'gifts', where: { user: 1, note: { ne: 'x' }, sent: true }, lock: 'update', orderBy: [['note', 'desc']], limit: 0 },
      { kind: 'update', table: 'gifts', where: { id: { gte: -2147483648 } }, set: { user: { add: -1 }, note: '', sent: false } },
      { kind: 'update', table: 'gifts', where: {}, set: {} },
      { kind: 'insert', table: 'gifts', rows: [row, { ...row, id: 2 ** 40 }], onConflict: 'nothing' },
      { kind: 'insert', table: 'gifts', rows: [] },
      { kind: 'insert', table: 'gifts', rows: [row], onConflict: { columns: ['user'], update: { id: { add: 1 }, note: { excluded: 'note' }, sent: true }, where: { sent: false } } },
      { kind: 'delete', table: 'gifts', where: { id: 2147483647 } },
      { kind: 'commit' },
      { kind: 'rollback' },
    ];
    for (const s of good) expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, s)).not.toThrow();
  });

  it('an unknown table', () => {
    expect(problem({ kind: 'select', table: 'gift', where: { user: 1 } })).toBe(`${origin}: select gift where user=1 names unknown table "gift"; the tables are gifts.`);
    expect(problem({ kind: 'delete', table: 'toString', where: {} })).toBe(`${origin}: delete toString names unknown table "toString"; the tables are gifts.`);
  });

  it('an unknown column in where, set, an insert row or order by', () => {
    expect(problem(select({ where: { usr: 1 } }))).toBe(`${origin}: select gifts where usr=1 names unknown column "usr" in its where clause; ${columns}`);
    expect(problem(select({ where: { constructor: 1 } }))).toBe(`${origin}: select gifts where constructor=1 names unknown column "constructor" in its where clause; ${columns}`);
    expect(problem(update({ id: 1 }, { snt: true }))).toBe(`${origin}: update gifts set snt=true where id=1 names unknown column "snt" in its set list; ${columns}`);
    expect(problem(insert(row, { id: 2, usr: 1, note: 'hi', sent: false }))).toBe(
      `${origin}: insert gifts (id=1, user=1, note="hi", sent=false), (id=2, usr=1, note="hi", sent=false) names unknown column "usr" in row 2; ${columns}`,
    );
    expect(problem(select({ orderBy: [['usr', 'desc']] }))).toBe(`${origin}: select gifts order by usr desc names unknown column "usr" in its order by; ${columns}`);
  });

  it('an insert row without a column, or with a value of the wrong type', () => {
    expect(problem(insert({ id: 1, user: 1, note: 'hi' }))).toBe(
      `${origin}: insert gifts (id=1, user=1, note="hi") gives row 1 no value for column sent; every row of gifts needs id, user, note, sent.`,
    );
    expect(problem(insert({ ...row, user: '1' }))).toBe(`${origin}: insert gifts (id=1, user="1", note="hi", sent=false) gives user the value "1" in row 1, but column user is an int.`);
    expect(problem(insert({ ...row, id: 1.5 }))).toBe(`${origin}: insert gifts (id=1.5, user=1, note="hi", sent=false) gives id the value 1.5 in row 1, but column id is an int, a whole number.`);
    expect(problem(insert({ ...row, sent: undefined }))).toBe(`${origin}: insert gifts (id=1, user=1, note="hi", sent=undefined) gives sent the value undefined in row 1, but column sent is a bool.`);
  });

  it('a where value of the wrong type', () => {
    expect(problem(select({ where: { user: '1' } }))).toBe(`${origin}: select gifts where user="1" compares user with "1", but column user is an int.`);
    expect(problem(select({ where: { id: { gte: '1' } } }))).toBe(`${origin}: select gifts where id>="1" compares id with "1", but column id is an int.`);
    expect(problem(select({ where: { id: 2 ** 31 } }))).toBe(
      `${origin}: select gifts where id=2147483648 compares id with 2147483648, but column id is an int, a whole number from -2147483648 to 2147483647.`,
    );
    expect(problem(select({ where: { note: 1 } }))).toBe(`${origin}: select gifts where note=1 compares note with 1, but column note is a text.`);
    expect(problem(select({ where: { id: { gte: 1, lt: '5' } } }))).toBe(`${origin}: select gifts where id>=1 and id<"5" compares id with "5", but column id is an int.`);
    expect(problem(select({ where: { id: { in: [1, '2'] } } }))).toBe(`${origin}: select gifts where id in (1, "2") compares id with "2" in its in list, but column id is an int.`);
  });

  it('null in a where clause is IS NULL, fine on any column; ranges, IN lists and IS NOT NULL pass', () => {
    const good: Statement<Db>[] = [
      { kind: 'select', table: 'gifts', where: { id: null, note: { ne: null } } },
      { kind: 'select', table: 'gifts', where: { id: { gte: 1, lt: 5 }, user: { in: [1, null] }, note: { gt: null } } },
      { kind: 'delete', table: 'gifts', where: { user: { gt: 1, lte: 3 } } },
    ];
    for (const s of good) expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, s)).not.toThrow();
  });

  it('a comparison that is not one of the shapes: two bounds on one side, ne or in with another, an empty or missing in list', () => {
    const shapes = 'a comparison is { gte: v }, { gt: v }, { lte: v }, { lt: v }, a lower and an upper bound ({ gte: a, lt: b }), { ne: v } or { in: [v, ...] }.';
    expect(problem(select({ where: { id: { gte: 1, gt: 5 } } }))).toBe(`${origin}: {"kind":"select","table":"gifts","where":{"id":{"gte":1,"gt":5}}} compares id with {"gte":1,"gt":5}; ${shapes}`);
    expect(problem(select({ where: { id: { ne: 1, lt: 5 } } }))).toBe(`${origin}: {"kind":"select","table":"gifts","where":{"id":{"ne":1,"lt":5}}} compares id with {"ne":1,"lt":5}; ${shapes}`);
    expect(problem(select({ where: { id: {} } }))).toBe(`${origin}: {"kind":"select","table":"gifts","where":{"id":{}}} compares id with {}; ${shapes}`);
    expect(problem(select({ where: { id: { between: [1, 2] } } }))).toBe(
      `${origin}: {"kind":"select","table":"gifts","where":{"id":{"between":[1,2]}}} compares id with {"between":[1,2]}; ${shapes}`,
    );
    expect(problem(select({ where: { user: { in: [] } } }))).toBe(
      `${origin}: {"kind":"select","table":"gifts","where":{"user":{"in":[]}}} compares user with {"in":[]}; { in: [...] } takes a non-empty list of values.`,
    );
    expect(problem(update({ user: { in: 1 } }, { sent: true }))).toBe(
      `${origin}: {"kind":"update","table":"gifts","where":{"user":{"in":1}},"set":{"sent":true}} compares user with {"in":1}; { in: [...] } takes a non-empty list of values.`,
    );
    expect(problem(select({ where: { nte: null } }))).toBe(`${origin}: select gifts where nte is null names unknown column "nte" in its where clause; ${columns}`);
  });

  it('a set value of the wrong type, and an increment of a non-int column', () => {
    expect(problem(update({ id: 1 }, { sent: 'yes' }))).toBe(`${origin}: update gifts set sent="yes" where id=1 sets sent to "yes", but column sent is a bool.`);
    expect(problem(update({ id: 1 }, { note: { add: 1 } }))).toBe(`${origin}: update gifts set note=note+1 where id=1 adds to note, but column note is a text; only an int or bigint column takes { add: n }.`);
    expect(problem(update({ id: 1 }, { user: { add: 0.5 } }))).toBe(
      `${origin}: update gifts set user=user+0.5 where id=1 adds 0.5 to user, but an increment is a whole number from -2147483648 to 2147483647.`,
    );
  });

  it('an upsert: its conflict target a primary key or unique index (PostgreSQL\'s 42P10), its SET list with excluded values of known columns of the same type', () => {
    const upsert = (onConflict: unknown) => ({ kind: 'insert', table: 'gifts', rows: [row], onConflict });
    const text = `${origin}: insert gifts (id=1, user=1, note="hi", sent=false) on conflict`;
    expect(problem(upsert({ columns: ['note'], update: { sent: true } }))).toBe(
      `${text} (note) do update set sent=true has on conflict (note), but no primary key or unique index of gifts is on exactly these columns (PostgreSQL's 42P10); gifts's are (id), (user).`,
    );
    expect(problem(upsert({ columns: ['user', 'id'], update: { sent: true } }))).toBe(
      `${text} (user, id) do update set sent=true has on conflict (user, id), but no primary key or unique index of gifts is on exactly these columns (PostgreSQL's 42P10); gifts's are (id), (user).`,
    );
    expect(problem(upsert({ columns: ['user'], update: {} }))).toBe(`${text} (user) do update has an empty on conflict update list; DO UPDATE sets at least one column.`);
    expect(problem(upsert({ columns: ['usr'], update: {} }))).toBe(`${text} (usr) do update names unknown column "usr" in its on conflict columns; ${columns}`);
    expect(problem(upsert({ columns: ['user'], update: { note: { excluded: 'nte' } } }))).toBe(`${text} (user) do update set note=excluded.nte names unknown column "nte" in the excluded value of note; ${columns}`);
    expect(problem(upsert({ columns: ['user'], update: { note: { excluded: 'sent' } } }))).toBe(`${text} (user) do update set note=excluded.sent sets note to excluded.sent, but column sent is a bool and note a text.`);
    expect(problem(upsert({ columns: ['user'], update: { sent: true }, where: { snt: true } }))).toBe(`${text} (user) do update set sent=true where snt=true names unknown column "snt" in its where clause; ${columns}`);
    expect(problem(upsert('update'))).toBe(`${origin}: {"kind":"insert","table":"gifts","rows":[{"id":1,"user":1,"note":"hi","sent":false}],"onConflict":"update"} has onConflict "update"; onConflict is nothing or { columns, update, where? }.`);
    expect(problem(upsert({ columns: [], update: {} }))).toBe(
      `${origin}: {"kind":"insert","table":"gifts","rows":[{"id":1,"user":1,"note":"hi","sent":false}],"onConflict":{"columns":[],"update":{}}} has onConflict columns []; they are a non-empty list of the columns of a unique index.`,
    );
  });

  it('a limit that is not a non-negative whole number, and other options', () => {
    expect(problem(select({ limit: -1 }))).toBe(`${origin}: select gifts limit -1 has limit -1; a limit is a whole number of at least 0.`);
    expect(problem(select({ limit: 1.5 }))).toBe(`${origin}: select gifts limit 1.5 has limit 1.5; a limit is a whole number of at least 0.`);
    expect(problem(select({ lock: 'updte' }))).toBe(`${origin}: select gifts for updte has lock "updte"; a lock is update, no-key-update, share or key-share.`);
    expect(problem(select({ orderBy: [['note', 'up']] }))).toBe(
      `${origin}: {"kind":"select","table":"gifts","where":{},"orderBy":[["note","up"]]} orders by note "up"; a direction is asc or desc.`,
    );
  });

  it('an aggregate: count or the sum of an int column, without a lock (PostgreSQL refuses FOR UPDATE with an aggregate), an ORDER BY or a LIMIT', () => {
    expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, select({ aggregate: 'count', where: { user: 1 } }))).not.toThrow();
    expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, select({ aggregate: { sum: 'user' } }))).not.toThrow();
    expect(problem(select({ aggregate: 'count', lock: 'update' }))).toBe(
      `${origin}: select count(*) gifts for update locks the rows it aggregates; PostgreSQL refuses that (0A000: FOR UPDATE is not allowed with aggregate functions): lock them with a select first, then aggregate.`,
    );
    expect(problem(select({ aggregate: { sum: 'user' }, lock: 'key-share' }))).toBe(
      `${origin}: select sum(user) gifts for key share locks the rows it aggregates; PostgreSQL refuses that (0A000: FOR KEY SHARE is not allowed with aggregate functions): lock them with a select first, then aggregate.`,
    );
    expect(problem(select({ aggregate: { sum: 'note' } }))).toBe(`${origin}: select sum(note) gifts sums note, but column note is a text; only an int or bigint column is summed.`);
    expect(problem(select({ aggregate: { sum: 'users' } }))).toBe(`${origin}: select sum(users) gifts names unknown column "users" in its sum; ${columns}`);
    expect(problem(select({ aggregate: 'avg' }))).toBe(`${origin}: {"kind":"select","table":"gifts","where":{},"aggregate":"avg"} has aggregate "avg"; an aggregate is 'count' or { sum: column }.`);
    expect(problem(select({ aggregate: 'count', limit: 1 }))).toBe(`${origin}: select count(*) gifts limit 1 has limit with an aggregate; an aggregate returns one row, with no ordering or limit.`);
  });

  it('skipLocked and nowait: booleans, with a lock, not both', () => {
    expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, select({ lock: 'update', skipLocked: true }))).not.toThrow();
    expect(problem(select({ skipLocked: true }))).toBe(`${origin}: select gifts has skipLocked but no lock; SKIP LOCKED goes with a lock (lock: 'update', 'no-key-update', 'share' or 'key-share').`);
    expect(problem(select({ nowait: true }))).toBe(`${origin}: select gifts has nowait but no lock; NOWAIT goes with a lock (lock: 'update', 'no-key-update', 'share' or 'key-share').`);
    expect(problem(select({ lock: 'share', nowait: 'yes' }))).toBe(`${origin}: select gifts for share has nowait "yes"; nowait is true or false.`);
    expect(problem(select({ lock: 'update', skipLocked: true, nowait: true }))).toBe(
      `${origin}: select gifts for update skip locked nowait has both skipLocked and nowait; a locking read either skips the rows it cannot lock at once or fails on them, not both.`,
    );
  });

  it('an advisory lock: a whole number key in bigint\'s range, try a boolean, nothing else', () => {
    for (const s of [{ kind: 'advisory-lock', key: 1 }, { kind: 'advisory-lock', key: -(2 ** 63), try: true }, { kind: 'advisory-lock', key: 2 ** 62, try: false }]) {
      expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, s)).not.toThrow();
    }
    expect(problem({ kind: 'advisory-lock', key: 1.5 })).toBe(`${origin}: {"kind":"advisory-lock","key":1.5} has key 1.5; an advisory lock's key is a whole number in bigint's range.`);
    expect(problem({ kind: 'advisory-lock', key: 2 ** 63 })).toBe(`${origin}: {"kind":"advisory-lock","key":9223372036854776000} has key 9223372036854776000; an advisory lock's key is a whole number in bigint's range.`);
    expect(problem({ kind: 'advisory-lock', key: '7' })).toBe(`${origin}: {"kind":"advisory-lock","key":"7"} has key "7"; an advisory lock's key is a whole number in bigint's range.`);
    expect(problem({ kind: 'advisory-lock', key: 7, try: 'yes' })).toBe(`${origin}: {"kind":"advisory-lock","key":7,"try":"yes"} has try "yes"; it is true or false.`);
    expect(problem({ kind: 'advisory-lock', key: 7, shared: true })).toBe(`${origin}: {"kind":"advisory-lock","key":7,"shared":true} has "shared"; an advisory lock has a key and may have try.`);
  });

  it('a savepoint statement: a name of at most 63 bytes, nothing else', () => {
    for (const kind of ['savepoint', 'rollback-to', 'release']) expect(() => checkStatement(giftOnce, 'naive', 'claim', 1, { kind, name: 'create' })).not.toThrow();
    expect(problem({ kind: 'savepoint', name: '' })).toBe(`${origin}: {"kind":"savepoint","name":""} has name ""; a savepoint's name is a non-empty string of at most 63 bytes.`);
    expect(problem({ kind: 'rollback-to', name: 7 })).toBe(`${origin}: {"kind":"rollback-to","name":7} has name 7; a savepoint's name is a non-empty string of at most 63 bytes.`);
    expect(problem({ kind: 'release', name: 'x'.repeat(64) })).toBe(`${origin}: {"kind":"release","name":"${'x'.repeat(64)}"} has name "${'x'.repeat(64)}"; a savepoint's name is a non-empty string of at most 63 bytes.`);
    expect(problem({ kind: 'savepoint', name: 'a', table: 'gifts' })).toBe(`${origin}: {"kind":"savepoint","name":"a","table":"gifts"} has "table"; a savepoint has a name only.`);
  });

  it('something that is not a statement', () => {
    expect(problem({ kind: 'upsert', table: 'gifts' })).toBe(
      `${origin} yielded a statement of unknown kind "upsert"; the kinds are select, update, insert, delete, advisory-lock, savepoint, rollback-to, release, commit, rollback.`,
    );
    expect(problem(claim({} as never, { user: 1 }))).toBe(`${origin} yielded a generator instead of a statement; write yield* tx.select(...), with a star, to run a statement.`);
  });
});

describe('the runner checks every statement a program yields', () => {
  const run = (scenario: Scenario, args: unknown) =>
    runOnEngine(new MemoryEngine(scenario.schema), { scenario, strategy: scenario.strategies.naive, isolation: 'read-committed', workload: [{ operation: 'claim', args }] }, choiceSchedule([]));

  it('names the strategy by its key and the statement', () => {
    function* misspelt(tx: Tx<Db>, a: { user: number }) {
      // @ts-expect-error: no column usr
      yield* tx.selectOne('gifts', { usr: a.user });
      return yield* tx.commit('ok');
    }
    const scenario = defineScenario({ ...giftOnce, strategies: { naive: { ...giftOnce.strategies.naive, programs: { claim: misspelt } } } } as never);
    expect(() => run(scenario, { user: 1 })).toThrow(new DefinitionError(`${origin}: select gifts where usr=1 names unknown column "usr" in its where clause; ${columns}`));
  });

  it('a program that throws is a DefinitionError with the error as its cause', () => {
    let thrown: unknown;
    try {
      run(giftOnce, undefined);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DefinitionError);
    expect((thrown as Error).message).toBe(`${origin} threw TypeError: Cannot read properties of undefined (reading 'user').`);
    expect((thrown as Error).cause).toBeInstanceOf(TypeError);
  });
});
