import { describe, expect, it } from 'vitest';
import { checkSerialSpec } from '../../src/explorer/serial-spec-check.ts';
import { defineScenario, defineSchema, DefinitionError, explore, fc, type DatabaseOf, type Tx } from '../../src/index.ts';
import { scenarios } from '../../src/model/scenarios/index.ts';

const schema = defineSchema({ counters: { columns: { id: 'int', n: 'int' }, primaryKey: ['id'] } });
type Db = DatabaseOf<typeof schema>;

function* bump(tx: Tx<Db>) {
  yield* tx.update('counters', { id: 1 }, { n: { add: 1 } });
  return yield* tx.commit('ok');
}

const counter = (serial: (state: { counters: Db['counters'][] }) => string) =>
  defineScenario({
    id: 'counter',
    title: 'a counter',
    schema,
    seed: { counters: [{ id: 1, n: 0 }] },
    isolationLevels: ['read-committed'],
    operations: { bump: { args: fc.constant({}), serial } },
    strategies: { atomic: { description: 'n = n + 1', programs: { bump }, expected: { 'read-committed': 'passes' } } },
    invariants: [],
    transactions: { min: 2, max: 2 },
    canonical: [{ operation: 'bump', args: {} }],
  });

describe('the serial spec is checked against each program run alone', () => {
  it('every built-in scenario and strategy agrees with its serial spec', () => {
    for (const s of scenarios) for (const name of Object.keys(s.strategies)) expect(() => checkSerialSpec(s, name)).not.toThrow();
  });

  it('a serial spec that reports another answer is a definition error, not a race', () => {
    const wrongAnswer = counter((state) => {
      state.counters[0].n += 1;
      return 'done';
    });
    expect(() => explore({ scenario: wrongAnswer, strategy: 'atomic', isolation: 'read-committed', runs: 100, seed: 1 })).toThrow(
      new DefinitionError('Scenario counter: bump {} run alone under strategy atomic reports "ok", but the serial spec says "done"; the serial spec must say what the operation does alone.'),
    );
  });

  it('a serial spec that changes the tables otherwise is a definition error', () => {
    const forgetsTheWrite = counter(() => 'ok');
    expect(() => explore({ scenario: forgetsTheWrite, strategy: 'atomic', isolation: 'read-committed', runs: 100, seed: 1 })).toThrow(
      'Scenario counter: bump {} run alone under strategy atomic leaves {"counters":[{"id":1,"n":1}]}, but the serial spec leaves {"counters":[{"id":1,"n":0}]}; the serial spec must change the tables as the operation does alone.',
    );
  });

  it('a serial spec that throws is the scenario\'s error, named', () => {
    const throwing = counter((state) => String((state as unknown as { count: { n: number } }).count.n));
    expect(() => explore({ scenario: throwing, strategy: 'atomic', isolation: 'read-committed', runs: 100, seed: 1 })).toThrow(
      new DefinitionError("Scenario counter: the serial spec of operation bump threw TypeError: Cannot read properties of undefined (reading 'n') on {}."),
    );
  });
});
