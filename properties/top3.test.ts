import { describe, expect, it } from 'vitest';
import { top3DifferentDates, top3SameDate } from '../src/model/scenarios/top3.ts';
import { passing, randomRuns, resultCounts } from './runs.ts';

describe('top3-same-date', () => {
  it('3 concurrent sets for one date: exactly 1 succeeds, 300 points deducted (not 900), one Top3 row', () => {
    for (const [strategy, isolation] of passing(top3SameDate)) {
      for (const run of randomRuns(top3SameDate, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 1, 'already-set': 2 });
        expect(run.trace.final.accounts).toEqual([{ id: 1, balance: 700 }]);
        expect(run.trace.final.top3).toHaveLength(1);
      }
    }
  });
});

describe('top3-different-dates', () => {
  it('3 concurrent sets for 3 dates with 900 points: all succeed, 900 deducted, 3 rows', () => {
    for (const [strategy, isolation] of passing(top3DifferentDates)) {
      for (const run of randomRuns(top3DifferentDates, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 3 });
        expect(run.trace.final.accounts).toEqual([{ id: 1, balance: 0 }]);
        expect(run.trace.final.top3.map((r: any) => r.date).sort()).toEqual([1, 2, 3]);
      }
    }
  });
});
