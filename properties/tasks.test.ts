import { describe, expect, it } from 'vitest';
import { taskCompleteDelete, taskCreate } from '../src/model/scenarios/tasks.ts';
import { passing, randomRuns, resultCounts, runInOrder } from './runs.ts';

describe('task-create', () => {
  it('10 concurrent creations: 10 distinct rows with unique ids, each owned by the user who created it', () => {
    for (const [strategy, isolation] of passing(taskCreate)) {
      for (const run of randomRuns(taskCreate, strategy, isolation, 100)) {
        expect(run.violation).toBeNull();
        const ids = run.trace.outcomes.map((o) => o.result as number);
        expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 4 + i));
        for (const o of run.trace.outcomes) {
          expect(run.trace.final.tasks.find((t: any) => t.id === o.result)).toEqual({ id: o.result, owner: (o.args as any).owner });
        }
      }
    }
  });
});

describe('task-complete-delete', () => {
  it('3 deletions and 2 completions of Top3 tasks: each flag set as asked, 100 points per Top3 task, once', () => {
    for (const [strategy, isolation] of passing(taskCompleteDelete)) {
      for (const run of randomRuns(taskCompleteDelete, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 5 });
        expect(run.trace.final.tasks.map((t: any) => [t.id, t.done, t.deleted])).toEqual([
          [1, true, false],
          [2, true, false],
          [3, false, true],
          [4, false, true],
          [5, false, true],
        ]);
        expect(run.trace.final.accounts).toEqual([{ id: 1, points: 200 }]);
      }
    }
  });

  it('naive: two completions of one Top3 task both award its points (2 transactions, 1 preemption)', () => {
    const workload = [
      { operation: 'complete', args: { task: 1 } },
      { operation: 'complete', args: { task: 1 } },
    ];
    // T1 reads task 1 open; T2 completes it and awards 100; T1 completes it again and awards 100 more.
    const { trace, violation } = runInOrder(taskCompleteDelete, 'naive', 'read-committed', workload, [1, 2, 2, 2, 2, 2, 1, 1, 1, 1]);
    expect(trace.preemptions).toBe(1);
    expect(trace.final.accounts).toEqual([{ id: 1, points: 200 }]);
    expect(violation).toMatchObject({ invariant: 'flags-and-awards' });
  });
});
