import { describe, expect, it } from 'vitest';
import { counterUpsert } from '../src/model/scenarios/counters.ts';
import { passing, randomRuns, resultCounts } from './runs.ts';

describe('counter-upsert', () => {
  it('5 concurrent hits of home (0) and 5 of new (absent): the counts end at 5 and 5, each hit answered with a count of its own', () => {
    for (const [strategy, isolation] of passing(counterUpsert)) {
      for (const run of randomRuns(counterUpsert, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ 1: 2, 2: 2, 3: 2, 4: 2, 5: 2 });
        expect(run.trace.final.counters).toEqual([
          { key: 'home', n: 5 },
          { key: 'new', n: 5 },
        ]);
      }
    }
  });
});
