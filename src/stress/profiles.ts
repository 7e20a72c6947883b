import { InputError } from '../errors.ts';
import { plural } from '../model/invariants.ts';
import type { Invariant, WorkloadTx } from '../model/scenario.ts';
import type { Tables } from '../model/schema.ts';
import type { StressWorkload } from './workload-source.ts';

/**
 * A named load: which scenario it runs, how many clients for how long, its
 * workload and seed rows, and the thresholds and extra rules it must meet.
 * Options given to `stress` beside a profile override its values.
 *
 * ```ts
 * await stress({ scenario: orderStock, strategy: 'atomic-update', profile: 'scale' });
 * ```
 */
export interface StressProfile {
  readonly name: string;
  /** What it models, from SCENARIOS.md. */
  readonly description: string;
  /** The id of the scenario it runs. */
  readonly scenario: string;
  readonly clients: number;
  readonly pool?: number;
  readonly transactions?: number;
  readonly durationMs?: number;
  readonly burst?: { readonly size: number; readonly idleMs: number };
  readonly workload: StressWorkload;
  /** Seed rows instead of the scenario's. */
  readonly seedRows?: Tables;
  readonly thresholds: readonly string[];
  /** Rules of the profile, checked beside the scenario's invariants. */
  readonly invariants?: readonly Invariant[];
}

const allAnswered = ['count(error)==0', 'invariants==0'];

const pointsMixedCanonical = 'canonical';

/** SCENARIOS.md's points-scale: 500 deductions of 1,000 from 500,000 must all succeed and leave 0. */
const allSucceedBalanceZero: Invariant = {
  name: 'all-succeed-balance-zero',
  check: ({ final, outcomes }) => {
    const ok = outcomes.filter((o) => o.result === 'ok').length;
    const balance = (final.accounts as { id: number; balance: number }[]).find((a) => a.id === 1)?.balance;
    if (ok === outcomes.length && balance === 0) return null;
    return `${ok} of ${plural(outcomes.length, 'deduction')} succeeded and the balance ended at ${balance}; all must succeed and leave 0.`;
  },
};

/**
 * The built-in profiles, from SCENARIOS.md's Load section and its scale rows:
 * `mixed`, `sustained`, `burst`, `scale` (order-stock), `points-scale`
 * (points-deduct's programs from 500,000) and `logins`.
 */
export const stressProfiles: readonly StressProfile[] = [
  {
    name: 'mixed',
    description: 'load-mixed: 10 clients x 5 mixed operations (points-mixed: additions and deductions of 100 from 2000); all done',
    scenario: 'points-mixed',
    clients: 10,
    transactions: 50,
    workload: pointsMixedCanonical,
    thresholds: allAnswered,
  },
  {
    name: 'sustained',
    description: 'load-sustained: 5 clients for 60 s of points-mixed; throughput stable, error rate under 5%, memory flat, no pool exhaustion',
    scenario: 'points-mixed',
    clients: 5,
    durationMs: 60_000,
    workload: pointsMixedCanonical,
    thresholds: ['rate(error)<0.05', 'throughput_drop<0.2', 'rss_growth<50MiB', 'count(pool-timeout)==0', 'invariants==0'],
  },
  {
    name: 'burst',
    description: 'load-burst: 20 requests at once after 5 s idle, 3 times (points-mixed); none rejected',
    scenario: 'points-mixed',
    clients: 20,
    transactions: 60,
    burst: { size: 20, idleMs: 5_000 },
    workload: pointsMixedCanonical,
    thresholds: allAnswered,
  },
  {
    name: 'scale',
    description: 'order-stock at scale: 500 clients each order 1 of product 1 (1,000 in stock); exactly 500 succeed, 500 left',
    scenario: 'order-stock',
    clients: 500,
    transactions: 500,
    workload: [{ operation: 'order', args: { product: 1 } }],
    thresholds: allAnswered,
  },
  {
    name: 'points-scale',
    description: "points-scale: 500 clients each deduct 1,000 from 500,000 (points-deduct's programs, seed balance 500,000); all succeed, balance 0",
    scenario: 'points-deduct',
    clients: 500,
    transactions: 500,
    workload: [{ operation: 'deduct', args: { user: 1, amount: 1000 } }],
    seedRows: { accounts: [{ id: 1, balance: 500_000 }], history: [] },
    thresholds: allAnswered,
    invariants: [allSucceedBalanceZero],
  },
  {
    name: 'logins',
    description: 'login-issue: 10 clients, 1,000 logins spread over 100 users (10 each); every login succeeds with a unique token',
    scenario: 'login-issue',
    clients: 10,
    transactions: 1000,
    workload: (index: number): WorkloadTx => ({ operation: 'login', args: { user: (index % 100) + 1 } }),
    thresholds: allAnswered,
  },
];

/** The built-in profile named `name`; an unknown name is an `InputError` listing them. */
export function stressProfile(name: string): StressProfile {
  const profile = stressProfiles.find((p) => p.name === name);
  if (profile === undefined) throw new InputError(`Unknown profile "${name}"; choose one of ${stressProfiles.map((p) => p.name).join(', ')}.`);
  return profile;
}
