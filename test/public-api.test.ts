import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import {
  counterexampleJson,
  counterexampleSpec,
  defineScenario,
  defineSchema,
  explore,
  DefinitionError,
  fc,
  InputError,
  readCounterexample,
  replay,
  writeCounterexample,
  type DatabaseOf,
  type Invariant,
  type Tx,
} from '../src/index.ts';

// A scenario defined in a test file, as a user defines one: not among the built-in scenarios.
const schema = defineSchema({ seats: { columns: { id: 'int', taken: 'int' }, primaryKey: ['id'] } });
type Db = DatabaseOf<typeof schema>;

function* bookNaive(tx: Tx<Db>, a: { seat: number; guest: number }) {
  const seat = yield* tx.selectOne('seats', { id: a.seat });
  if (!seat || seat.taken !== 0) return yield* tx.rollback('taken');
  yield* tx.update('seats', { id: a.seat }, { taken: a.guest });
  return yield* tx.commit('booked');
}

function* bookConditional(tx: Tx<Db>, a: { seat: number; guest: number }) {
  const changed = yield* tx.update('seats', { id: a.seat, taken: 0 }, { taken: a.guest });
  return changed.length === 0 ? yield* tx.rollback('taken') : yield* tx.commit('booked');
}

const oneBookingPerSeat: Invariant<Db> = {
  name: 'one-booking-per-seat',
  check: ({ outcomes }) => {
    const booked = outcomes.filter((o) => o.result === 'booked').length;
    return booked <= 1 ? null : `${booked} guests were told they booked seat 1.`;
  },
};

const seatBooking = defineScenario({
  id: 'seat-booking',
  title: 'one seat, guests booking it at once',
  schema,
  seed: { seats: [{ id: 1, taken: 0 }] },
  isolationLevels: ['read-committed'],
  operations: {
    book: {
      args: fc.integer({ min: 1, max: 9 }).map((guest) => ({ seat: 1, guest })),
      serial(state, a) {
        const seat = state.seats.find((s) => s.id === a.seat)!;
        if (seat.taken !== 0) return 'taken';
        seat.taken = a.guest;
        return 'booked';
      },
    },
  },
  strategies: {
    naive: { description: 'read, check, write', programs: { book: bookNaive }, expected: { 'read-committed': 'fails' } },
    conditional: { description: 'UPDATE ... WHERE taken = 0', programs: { book: bookConditional }, expected: { 'read-committed': 'passes' } },
  },
  invariants: [oneBookingPerSeat],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'book', args: { seat: 1, guest: 1 } },
    { operation: 'book', args: { seat: 1, guest: 2 } },
  ],
});

const dir = mkdtempSync(join(tmpdir(), 'lockstep-api-'));
let server: Provisioned;
beforeAll(async () => {
  server = await provisionPostgres();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the public entry point on a scenario defined in a test file', () => {
  const report = explore({ scenario: seatBooking, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
  const cx = report.counterexample!;

  it('explore finds the double booking, shrunk, with its anomaly class like a built-in scenario', () => {
    expect(report.status).toBe('failed');
    expect(cx.scenario).toBe('seat-booking');
    expect(cx.transactions).toHaveLength(2);
    expect(cx.preemptions).toBe(1);
    expect(cx.violation).toEqual({ kind: 'invariant', invariant: 'one-booking-per-seat', message: '2 guests were told they booked seat 1.' });
    expect(cx.anomaly).toEqual({ class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' });
    expect(explore({ scenario: seatBooking, strategy: 'conditional', isolation: 'read-committed', runs: 1000, seed: 1 }).status).toBe('passed');
  });

  it('replay confirms it on PostgreSQL, and installs no process handler', async () => {
    const listeners = ['SIGINT', 'SIGTERM', 'exit'].map((e) => process.listenerCount(e));
    const replayed = await replay(cx, { db: server.url });
    expect(replayed.status).toBe('confirmed');
    expect(replayed.violationReproduced).toBe(true);
    expect(['SIGINT', 'SIGTERM'].map((e) => process.listenerCount(e))).toEqual(listeners.slice(0, 2));
  });

  it('a counterexample file read back with the scenario replays too, and exports as an isolationtester spec', async () => {
    const file = join(dir, 'cx.json');
    writeCounterexample(file, cx);
    const read = readCounterexample(file, [seatBooking]);
    expect(counterexampleJson(read)).toBe(counterexampleJson(cx));
    expect((await replay(read, { db: server.url })).status).toBe('confirmed');
    const spec = counterexampleSpec(read, seatBooking);
    expect(spec).toContain('# lockstep counterexample: seat-booking · naive · read-committed\n');
    expect(spec).toMatch(/\npermutation t1_1 t2_1 /);
  });

  it('bad input is a typed error with one sentence', async () => {
    expect(() => explore({ scenario: seatBooking, strategy: 'toString', isolation: 'read-committed', runs: 10, seed: 1 })).toThrow(
      new InputError('Unknown strategy "toString" for seat-booking; choose one of naive, conditional.'),
    );
    expect(() => explore({ scenario: seatBooking, strategy: 'naive', isolation: 'serializable', runs: 10, seed: 1 })).toThrow(
      'Scenario seat-booking does not support isolation level serializable; choose one of read-committed.',
    );
    expect(() => explore({ scenario: seatBooking, strategy: 'naive', isolation: 'read-committed', runs: 0, seed: 1 })).toThrow('runs must be a whole number of at least 1, not 0.');
    const parsed = JSON.parse(counterexampleJson(cx));
    await expect(replay(parsed)).rejects.toThrow(
      new InputError('Pass the scenario of the counterexample (seat-booking) as { scenario }: it was not built or read in this process.'),
    );
    expect(() => readCounterexample(join(dir, 'missing.json'), [seatBooking])).toThrow(`Cannot read the counterexample file ${join(dir, 'missing.json')}: no such file.`);
  });

  it('a program that returns with its transaction open is named', () => {
    function* forgetsToCommit(tx: Tx<Db>, a: { seat: number; guest: number }) {
      yield* tx.update('seats', { id: a.seat, taken: 0 }, { taken: a.guest });
      return 'booked';
    }
    const open = defineScenario({
      ...seatBooking,
      id: 'seat-booking-open',
      strategies: { forgetful: { description: 'no commit', programs: { book: forgetsToCommit }, expected: {} } },
    } as typeof seatBooking);
    expect(() => explore({ scenario: open, strategy: 'forgetful', isolation: 'read-committed', runs: 10, seed: 1 })).toThrow(
      new DefinitionError(
        'Scenario seat-booking-open, strategy forgetful, operation book (T1) returned without commit or rollback; end every transaction with yield* tx.commit(result) or yield* tx.rollback(result).',
      ),
    );
  });

  it('a program that never ends is named after a bounded number of steps', () => {
    function* polls(tx: Tx<Db>, a: { seat: number; guest: number }): Generator<any, any, any> {
      for (;;) yield* tx.selectOne('seats', { id: a.seat });
    }
    const endless = defineScenario({
      ...seatBooking,
      id: 'seat-booking-endless',
      strategies: { polling: { description: 'polls forever', programs: { book: polls }, expected: {} } },
    } as typeof seatBooking);
    expect(() => explore({ scenario: endless, strategy: 'polling', isolation: 'read-committed', runs: 10, seed: 1 })).toThrow(
      new DefinitionError('Scenario seat-booking-endless, strategy polling, operation book (T1): the run took 100000 steps without ending; a program must end with a commit or a rollback.'),
    );
  });

  it("a throwing invariant or serial spec is the scenario's error, named, not lockstep's", () => {
    const broken = defineScenario({
      ...seatBooking,
      id: 'seat-booking-broken',
      invariants: [{ name: 'reads-too-far', check: ({ final }) => (final.seats[3] as { taken: number }).taken.toString() }],
    } as typeof seatBooking);
    expect(() => explore({ scenario: broken, strategy: 'conditional', isolation: 'read-committed', runs: 10, seed: 1 })).toThrow(
      new DefinitionError("Scenario seat-booking-broken: invariant reads-too-far threw TypeError: Cannot read properties of undefined (reading 'taken')."),
    );
  });
});
