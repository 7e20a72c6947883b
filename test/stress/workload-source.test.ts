import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { pointsDeduct, pointsMixed } from '../../src/model/scenarios/index.ts';
import { parseDuration } from '../../src/stress/duration.ts';
import { workloadSource } from '../../src/stress/workload-source.ts';

describe('workloadSource', () => {
  it("draws from the scenario's arbitraries, the same transactions for the same seed, across chunks", () => {
    const take = (seed: number, from: number, n: number) => Array.from({ length: n }, (_, i) => workloadSource(pointsMixed, 'generated', seed)(from + i));
    expect(take(1, 0, 20)).toEqual(take(1, 0, 20));
    expect(take(1, 995, 10)).toEqual(take(1, 995, 10));
    expect(take(2, 0, 20)).not.toEqual(take(1, 0, 20));
    const ops = new Set(take(1, 0, 200).map((tx) => tx.operation));
    expect(ops).toEqual(new Set(['add', 'deduct']));
    for (const tx of take(3, 0, 200)) expect([100, 200, 300, 400, 500]).toContain((tx.args as { amount: number }).amount);
  });

  it('repeats the canonical workload, or the one given', () => {
    const at = workloadSource(pointsMixed, 'canonical', 1);
    expect([0, 5, 10].map((i) => at(i).operation)).toEqual(['add', 'deduct', 'add']);
    expect(workloadSource(pointsDeduct, [{ operation: 'deduct', args: { user: 1, amount: 7 } }], 1)(41)).toEqual({ operation: 'deduct', args: { user: 1, amount: 7 } });
  });

  it('refuses an operation the scenario does not have, or an empty workload', () => {
    expect(() => workloadSource(pointsDeduct, [{ operation: 'add', args: {} }], 1)).toThrow(
      new InputError('Scenario points-deduct has no operation "add" (in the workload given); its operations are deduct.'),
    );
    expect(() => workloadSource(pointsDeduct, [], 1)).toThrow(new InputError('Scenario points-deduct has no transactions in the workload given.'));
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m and h', () => {
    expect(['500ms', '60s', '1.5s', '2m', '1h'].map((d) => parseDuration('--duration', d))).toEqual([500, 60_000, 1500, 120_000, 3_600_000]);
  });
  it('refuses anything else, naming the option', () => {
    for (const d of ['60', 's', '-1s', '0s', '5 minutes']) {
      expect(() => parseDuration('--idle', d)).toThrow(new InputError(`--idle must be a duration like 60s, 500ms or 2m, not "${d}".`));
    }
  });
});
