import { describe, expect, it } from 'vitest';
import type { RunOutcome, TxOutcome } from '../../src/model/scenario.ts';
import { catalogue } from '../../src/model/scenarios/catalogue.ts';

/**
 * OTV's rule on hand-built runs: T3 must never read y older than the writer
 * of the x it read, in the order the writers committed (told by x's final value).
 */
const otv = catalogue.find((e) => e.anomaly === 'OTV')!.scenario.invariants[0];

const tx = (id: 1 | 2 | 3, result: unknown): TxOutcome => ({ id, operation: `t${id}`, args: null, result: result as TxOutcome['result'], fate: 'committed', attempts: 1 });
const run = (finalX: number, seen: [number, number]): RunOutcome => ({
  initial: { items: [{ id: 1, value: 10 }, { id: 2, value: 20 }] },
  final: { items: [{ id: 1, value: finalX }, { id: 2, value: finalX === 12 ? 18 : 19 }] },
  outcomes: [tx(1, 'ok'), tx(2, 'ok'), tx(3, seen)],
});

describe('the OTV entry of the anomaly catalogue', () => {
  it("names a writer that vanished from T3's view", () => {
    expect(otv.check(run(12, [11, 20]))).toBe("T3 read x = 11 from T1, then y = 20, older than its y = 19: T1 vanished from T3's view.");
    expect(otv.check(run(12, [12, 19]))).toBe("T3 read x = 12 from T2, then y = 19, older than its y = 18: T2 vanished from T3's view.");
    expect(otv.check(run(11, [11, 18]))).toBe("T3 read x = 11 from T1, then y = 18, older than its y = 19: T1 vanished from T3's view.");
  });

  it('allows reads that only move forward in commit order, read skew included', () => {
    expect(otv.check(run(12, [11, 19]))).toBeNull();
    expect(otv.check(run(12, [11, 18]))).toBeNull();
    expect(otv.check(run(11, [12, 19]))).toBeNull();
    expect(otv.check(run(12, [10, 18]))).toBeNull();
  });
});
