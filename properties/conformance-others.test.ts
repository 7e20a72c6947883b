import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../src/model/scenarios/index.ts';
import { conformanceParts, conformanceSuite, levelsIn } from './conformance.ts';

/** Conformance (properties/conformance.ts) of every scenario the other parts do not name: top3, tokens, tasks, isolation. */
conformanceSuite('others');

describe('conformance parts', () => {
  it('hold every scenario under every isolation level it supports exactly once', () => {
    for (const scenario of scenarios) {
      const holders = scenario.isolationLevels.map((isolation) => Object.keys(conformanceParts).filter((part) => levelsIn(part, scenario).includes(isolation)));
      expect(holders, scenario.id).toEqual(scenario.isolationLevels.map(() => [expect.any(String)]));
    }
  });

  it('each have their test file, which vitest.config.ts starts first', () => {
    const files = readdirSync(import.meta.dirname).filter((f) => /^conformance-.*\.test\.ts$/.test(f));
    const expected = Object.keys(conformanceParts).map((part) => `conformance-${part}.test.ts`);
    expect(files.sort()).toEqual([...expected].sort());
    const config = readFileSync(join(import.meta.dirname, '..', 'vitest.config.ts'), 'utf8');
    expect(expected.filter((file) => !config.includes(`'properties/${file}'`))).toEqual([]);
  });
});
