import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explorer/explore.ts';
import { dirtyRead } from '../../src/model/scenarios/isolation.ts';

describe('anomaly classes', () => {
  it("a program that commits more than once is not a cycle of its own: its attempts' order is the program's", () => {
    // Seed 2 finds T1 aborted by 40001 while T2's autocommit statements commit one after another.
    const cx = explore({ scenario: dirtyRead, strategy: 'autocommit', isolation: 'serializable', runs: 1000, seed: 2 }).counterexample!;
    expect(cx.violation.kind).toBe('not-serializable');
    expect(cx.anomaly).toBeNull();
  });
});
