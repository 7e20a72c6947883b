import { InputError } from '../errors.ts';

/** A comparison of a threshold. */
export type ThresholdOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** Statistics of a latency histogram a threshold can name. */
export type LatencyStat = 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'avg';

/** Which latency: from the intended start (the default), waiting for a connection, or holding it. */
export type LatencyPart = 'latency' | 'acquire' | 'service';

/** What a threshold measures. */
export type ThresholdMetric =
  | { readonly kind: 'latency'; readonly part: LatencyPart; readonly stat: LatencyStat; readonly operation?: string }
  | { readonly kind: 'rate' | 'count'; readonly outcome: string }
  | { readonly kind: 'tps' | 'invariants' | 'throughput_drop' | 'rss_growth' | 'connections' };

/**
 * A pass/fail criterion over a stress run, written as k6 writes them:
 * `p95<500ms`, `p99(deduct)<1s`, `acquire_p95<50ms`, `rate(40001)<0.05`,
 * `rate(error)<5%`, `count(pool-timeout)==0`, `invariants==0`, `tps>100`,
 * `throughput_drop<0.2`, `rss_growth<50MiB`, `connections<=10`.
 */
export interface Threshold {
  /** As written. */
  readonly expr: string;
  readonly metric: ThresholdMetric;
  readonly operator: ThresholdOperator;
  /** In the metric's own unit: milliseconds, a fraction, MiB or a plain number. */
  readonly value: number;
  /** Character (1-based) where an operation named in parentheses starts, for messages. */
  readonly operationAt?: number;
}

const stats: readonly LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'avg'];
const plainMetrics = ['tps', 'invariants', 'throughput_drop', 'rss_growth', 'connections'] as const;
const operators: readonly ThresholdOperator[] = ['<=', '>=', '==', '!=', '<', '>'];
const metricList = 'p50, p90, p95, p99, max, avg (with acquire_ or service_ before them, or an operation in parentheses), rate(…), count(…), tps, invariants, throughput_drop, rss_growth or connections';

/**
 * Parses one threshold; anything else is an `InputError` of one sentence
 * saying what was expected and at which character (1-based).
 *
 * ```ts
 * parseThreshold('p95<500ms'); // { metric: { kind: 'latency', part: 'latency', stat: 'p95' }, operator: '<', value: 500, ... }
 * parseThreshold('p95<<500ms'); // InputError: Bad threshold "p95<<500ms": expected a number at character 5, found "<500ms".
 * ```
 */
export function parseThreshold(expr: string): Threshold {
  return new ThresholdParser(expr).parse();
}

/** Checks that every operation a threshold names in parentheses is one of the scenario's. */
export function checkThresholdOperations(thresholds: readonly Threshold[], scenarioId: string, operations: readonly string[]): void {
  for (const t of thresholds) {
    if (t.metric.kind === 'latency' && t.metric.operation !== undefined && !operations.includes(t.metric.operation)) {
      throw new InputError(`Bad threshold "${t.expr}": no operation "${t.metric.operation}" at character ${t.operationAt}; ${scenarioId}'s operations are ${operations.join(', ')}.`);
    }
  }
}

class ThresholdParser {
  private at = 0;

  constructor(private readonly expr: string) {}

  parse(): Threshold {
    if (this.expr.trim() === '') this.fail('write one like p95<500ms, rate(40001)<0.05 or invariants==0');
    this.skipSpaces();
    const { metric, operationAt } = this.metric();
    this.skipSpaces();
    const operator = operators.find((op) => this.expr.startsWith(op, this.at));
    if (operator === undefined) this.fail(`expected <, <=, >, >=, == or != at character ${this.at + 1}, found ${this.rest()}`);
    this.at += operator.length;
    this.skipSpaces();
    const value = this.value(metric);
    this.skipSpaces();
    if (this.at < this.expr.length) this.fail(`unexpected ${this.rest()} at character ${this.at + 1}`);
    return { expr: this.expr, metric, operator, value, ...(operationAt !== undefined ? { operationAt } : {}) };
  }

  private metric(): { metric: ThresholdMetric; operationAt?: number } {
    const start = this.at;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.expr.slice(start))?.[0] ?? '';
    this.at += name.length;
    const part: LatencyPart = name.startsWith('acquire_') ? 'acquire' : name.startsWith('service_') ? 'service' : 'latency';
    const stat = part === 'latency' ? name : name.slice(part.length + 1);
    if (stats.includes(stat as LatencyStat)) {
      const argument = this.parenthesised(name, part === 'latency' ? 'optional' : 'none');
      if (argument === undefined) return { metric: { kind: 'latency', part, stat: stat as LatencyStat } };
      return { metric: { kind: 'latency', part, stat: stat as LatencyStat, operation: argument.text }, operationAt: argument.at };
    }
    if (name === 'rate' || name === 'count') {
      const argument = this.parenthesised(name, 'required')!;
      return { metric: { kind: name, outcome: argument.text } };
    }
    if ((plainMetrics as readonly string[]).includes(name)) {
      this.parenthesised(name, 'none');
      return { metric: { kind: name as (typeof plainMetrics)[number] } };
    }
    if (name === '') this.fail(`expected a metric at character ${start + 1}, found ${this.rest()}; use ${metricList}`);
    return this.fail(`unknown metric "${name}" at character ${start + 1}; use ${metricList}`);
  }

  /** `(text)` after a metric's name: an operation or an outcome. */
  private parenthesised(name: string, wanted: 'required' | 'optional' | 'none'): { text: string; at: number } | undefined {
    if (this.expr[this.at] !== '(') {
      if (wanted === 'required') this.fail(`${name} needs an outcome in parentheses at character ${this.at + 1}, like ${name}(40001) or ${name}(error)`);
      return undefined;
    }
    if (wanted === 'none') this.fail(`${name} takes no parentheses (character ${this.at + 1})`);
    const open = this.at;
    const text = /^[^()\s<>=!]*/.exec(this.expr.slice(open + 1))![0];
    this.at = open + 1 + text.length;
    if (this.expr[this.at] !== ')') this.fail(`expected ")" at character ${this.at + 1}, found ${this.rest()}`);
    if (text === '') {
      this.fail(wanted === 'required' ? `${name} needs an outcome in its parentheses at character ${open + 2}, like ${name}(40001) or ${name}(error)` : `${name}() needs an operation in its parentheses at character ${open + 2}, or none at all`);
    }
    this.at++;
    return { text, at: open + 2 };
  }

  private value(metric: ThresholdMetric): number {
    const numberAt = this.at;
    const number = /^-?\d+(?:\.\d+)?/.exec(this.expr.slice(numberAt))?.[0];
    if (number === undefined) this.fail(`expected a number at character ${numberAt + 1}, found ${this.rest()}`);
    this.at += number.length;
    const unitAt = this.at;
    const unit = /^[A-Za-zµ%]+/.exec(this.expr.slice(unitAt))?.[0] ?? '';
    this.at += unit.length;
    const n = Number(number);
    const scale = unitScale(metric, unit);
    if (scale === undefined) {
      if (unit === '') this.fail(`expected a unit after ${number} at character ${unitAt + 1}: ${metricName(metric)} takes ${unitsOf(metric)}`);
      this.fail(`unit "${unit}" at character ${unitAt + 1} does not fit ${metricName(metric)}, which takes ${unitsOf(metric)}`);
    }
    const value = n * scale;
    if (metric.kind === 'rate' && (value < 0 || value > 1)) this.fail(`a rate is a fraction from 0 to 1, not ${number}${unit} (character ${numberAt + 1}); write 0.05 or 5%`);
    return value;
  }

  private skipSpaces(): void {
    while (this.expr[this.at] === ' ') this.at++;
  }

  /** The text from the current character on, quoted, or "the end". */
  private rest(): string {
    return this.at >= this.expr.length ? 'the end' : `"${this.expr.slice(this.at)}"`;
  }

  private fail(what: string): never {
    throw new InputError(`Bad threshold "${this.expr}": ${what}.`);
  }
}

/** The factor from a unit to the metric's own unit, or undefined when the unit does not fit it. */
function unitScale(metric: ThresholdMetric, unit: string): number | undefined {
  switch (metric.kind) {
    case 'latency':
      return ({ '': 1, ms: 1, s: 1000, us: 0.001, µs: 0.001 } as Record<string, number>)[unit];
    case 'rate':
    case 'throughput_drop':
      return ({ '': 1, '%': 0.01 } as Record<string, number>)[unit];
    case 'rss_growth':
      return ({ '': 1, MiB: 1, MB: 1e6 / 2 ** 20 } as Record<string, number>)[unit];
    default:
      return unit === '' ? 1 : undefined;
  }
}

function unitsOf(metric: ThresholdMetric): string {
  switch (metric.kind) {
    case 'latency':
      return 'ms, s or us (ms when none is given)';
    case 'rate':
    case 'throughput_drop':
      return 'a fraction like 0.05 or a percentage like 5%';
    case 'rss_growth':
      return 'MiB or MB (MiB when none is given)';
    default:
      return 'a plain number';
  }
}

function metricName(metric: ThresholdMetric): string {
  switch (metric.kind) {
    case 'latency':
      return `${metric.part === 'latency' ? '' : `${metric.part}_`}${metric.stat}`;
    case 'rate':
    case 'count':
      return `${metric.kind}(${metric.outcome})`;
    default:
      return metric.kind;
  }
}

/** The unit a threshold's value is reported in. */
export function thresholdUnit(metric: ThresholdMetric): 'ms' | 'MiB' | '' {
  return metric.kind === 'latency' ? 'ms' : metric.kind === 'rss_growth' ? 'MiB' : '';
}

/** Whether `value` meets the threshold. */
export function meets(threshold: Threshold, value: number): boolean {
  const limit = threshold.value;
  switch (threshold.operator) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '==':
      return value === limit;
    case '!=':
      return value !== limit;
  }
}
