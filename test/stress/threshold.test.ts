import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { checkThresholdOperations, meets, parseThreshold } from '../../src/stress/threshold.ts';

describe('parseThreshold', () => {
  it('reads k6-style latencies, rates, counts and plain metrics, each value in its own unit', () => {
    expect(parseThreshold('p95<500ms')).toEqual({ expr: 'p95<500ms', metric: { kind: 'latency', part: 'latency', stat: 'p95' }, operator: '<', value: 500 });
    expect(parseThreshold('p99(deduct) <= 1.5s')).toMatchObject({ metric: { kind: 'latency', part: 'latency', stat: 'p99', operation: 'deduct' }, operator: '<=', value: 1500 });
    expect(parseThreshold('acquire_p95<250us').metric).toEqual({ kind: 'latency', part: 'acquire', stat: 'p95' });
    expect(parseThreshold('acquire_p95<250us').value).toBeCloseTo(0.25);
    expect(parseThreshold('service_max<2').metric).toEqual({ kind: 'latency', part: 'service', stat: 'max' });
    expect(parseThreshold('rate(40001)<0.05')).toMatchObject({ metric: { kind: 'rate', outcome: '40001' }, value: 0.05 });
    expect(parseThreshold('rate(error)<5%').value).toBeCloseTo(0.05);
    expect(parseThreshold('count(pool-timeout)==0')).toMatchObject({ metric: { kind: 'count', outcome: 'pool-timeout' }, operator: '==', value: 0 });
    expect(parseThreshold('invariants==0')).toMatchObject({ metric: { kind: 'invariants' }, operator: '==', value: 0 });
    expect(parseThreshold(' tps >= 100 ')).toMatchObject({ metric: { kind: 'tps' }, operator: '>=', value: 100 });
    expect(parseThreshold('throughput_drop<20%').value).toBeCloseTo(0.2);
    expect(parseThreshold('rss_growth<50MiB')).toMatchObject({ metric: { kind: 'rss_growth' }, value: 50 });
    expect(parseThreshold('connections!=0')).toMatchObject({ metric: { kind: 'connections' }, operator: '!=' });
  });

  it('compares with each operator', () => {
    const at = (expr: string, value: number) => meets(parseThreshold(expr), value);
    expect([at('p95<5', 4), at('p95<5', 5), at('p95<=5', 5), at('p95>5', 5), at('p95>=5', 5), at('p95==5', 5), at('p95!=5', 5)]).toEqual([true, false, true, false, true, true, false]);
  });

  const bad: [string, string][] = [
    ['', 'Bad threshold "": write one like p95<500ms, rate(40001)<0.05 or invariants==0.'],
    [
      'p96<1s',
      'Bad threshold "p96<1s": unknown metric "p96" at character 1; use p50, p90, p95, p99, max, avg (with acquire_ or service_ before them, or an operation in parentheses), rate(…), count(…), tps, invariants, throughput_drop, rss_growth or connections.',
    ],
    [
      '<5',
      'Bad threshold "<5": expected a metric at character 1, found "<5"; use p50, p90, p95, p99, max, avg (with acquire_ or service_ before them, or an operation in parentheses), rate(…), count(…), tps, invariants, throughput_drop, rss_growth or connections.',
    ],
    ['p95 500ms', 'Bad threshold "p95 500ms": expected <, <=, >, >=, == or != at character 5, found "500ms".'],
    ['p95=500', 'Bad threshold "p95=500": expected <, <=, >, >=, == or != at character 4, found "=500".'],
    ['p95<<500ms', 'Bad threshold "p95<<500ms": expected a number at character 5, found "<500ms".'],
    ['p95<', 'Bad threshold "p95<": expected a number at character 5, found the end.'],
    ['p95<5kg', 'Bad threshold "p95<5kg": unit "kg" at character 6 does not fit p95, which takes ms, s or us (ms when none is given).'],
    ['invariants==0ms', 'Bad threshold "invariants==0ms": unit "ms" at character 14 does not fit invariants, which takes a plain number.'],
    ['rate(40001)<5', 'Bad threshold "rate(40001)<5": a rate is a fraction from 0 to 1, not 5 (character 13); write 0.05 or 5%.'],
    ['rate<0.05', 'Bad threshold "rate<0.05": rate needs an outcome in parentheses at character 5, like rate(40001) or rate(error).'],
    ['rate()<0.05', 'Bad threshold "rate()<0.05": rate needs an outcome in its parentheses at character 6, like rate(40001) or rate(error).'],
    ['rate(40001<0.05', 'Bad threshold "rate(40001<0.05": expected ")" at character 11, found "<0.05".'],
    ['tps(x)>5', 'Bad threshold "tps(x)>5": tps takes no parentheses (character 4).'],
    ['acquire_p95(deduct)<5', 'Bad threshold "acquire_p95(deduct)<5": acquire_p95 takes no parentheses (character 12).'],
    ['p95()<5', 'Bad threshold "p95()<5": p95() needs an operation in its parentheses at character 5, or none at all.'],
    ['p95<500ms x', 'Bad threshold "p95<500ms x": unexpected "x" at character 11.'],
  ];
  it.each(bad)('%j is bad input, saying where', (expr, sentence) => {
    expect(() => parseThreshold(expr)).toThrow(new InputError(sentence));
    expect(() => parseThreshold(expr)).toThrow(InputError);
  });

  it("names an operation the scenario does not have, and the scenario's operations", () => {
    const thresholds = ['p95<1s', 'p95(deduct)<1s', 'p99(dedcut)<1s'].map(parseThreshold);
    expect(() => checkThresholdOperations(thresholds, 'points-deduct', ['deduct'])).toThrow(
      new InputError('Bad threshold "p99(dedcut)<1s": no operation "dedcut" at character 5; points-deduct\'s operations are deduct.'),
    );
    expect(() => checkThresholdOperations(thresholds.slice(0, 2), 'points-deduct', ['deduct'])).not.toThrow();
  });
});
