import { plural } from '../model/invariants.ts';
import { ruleName } from './violation.ts';
import type { Counterexample } from './counterexample.ts';
import type { ExploreReport } from './explore.ts';
import { interleavingTable } from './interleaving-table.ts';

/** The command that reruns an exploration exactly. */
export function rerunCommand(report: Pick<ExploreReport, 'scenario' | 'strategy' | 'isolation' | 'runs' | 'seed'>, maxTransactions?: number, search = ''): string {
  const max = maxTransactions !== undefined ? ` --max-transactions ${maxTransactions}` : '';
  return `npx lockstep explore ${report.scenario} --strategy ${report.strategy} --isolation ${report.isolation} --runs ${report.runs} --seed ${report.seed}${max}${search}`;
}

/** The first line of a passed exploration: what was searched. */
function passedLine(report: ExploreReport): string {
  const { stats } = report;
  if (report.mode === 'exhaustive') {
    const pruned = stats.prunedPrefixes ? `, ${stats.prunedPrefixes} of them stopped at a state already explored` : '';
    const outcomes = stats.outcomes !== undefined ? `, ${stats.outcomes} distinct final ${stats.outcomes === 1 ? 'outcome' : 'outcomes'}` : '';
    const alike = stats.interchangeable ? `, ${stats.interchangeable} transactions taken for interchangeable (same operation, same arguments)` : '';
    const counts = `${stats.schedules} schedules${pruned}, ${stats.traces} distinct ${stats.traces === 1 ? 'trace' : 'traces'} (${stats.prunedPrefixes ? 'at least ' : ''}${plural(stats.naiveInterleavings ?? 0, 'interleaving')} without reduction)${outcomes}${alike}`;
    if (stats.stoppedByTime) return `stopped by the time budget after ${counts}; no violation found (not a proof: the search did not finish).`;
    return stats.complete
      ? `passed exhaustive search: ${counts}; no schedule of this workload breaks a rule.`
      : `passed bounded search: ${counts} within the preemption bound; no violation found (not a proof: schedules beyond the bound were cut).`;
  }
  const kind = report.mode === 'pct' ? 'PCT' : 'random';
  if (stats.stoppedByTime) return `passed ${stats.runs} of ${report.runs} ${kind} runs (seed ${report.seed}), stopped by the time budget; no violation found.`;
  return `passed ${stats.runs} ${kind} runs (seed ${report.seed}), no violation found.`;
}

/** The violation in one sentence, named. */
export function describeViolation(cx: Counterexample): string {
  return `${ruleName(cx.violation)}: ${cx.violation.message}`;
}

/** The anomaly in one line: its class and the cycle that shows it. */
export function describeAnomaly(cx: Counterexample): string {
  if (!cx.anomaly) return 'none: no dependency cycle among the committed transactions; the rule broke without an isolation anomaly';
  return `${cx.anomaly.class}  ${cx.anomaly.cycle}`;
}

/** Human-readable report of an exploration, as `lockstep explore` prints it. */
export function formatExploreReport(
  report: ExploreReport,
  options: { maxTransactions?: number; out?: string; search?: string; /** Replaces the whole rerun command (a test prints its own). */ rerun?: string } = {},
): string {
  const head = `${report.scenario} · ${report.strategy} · ${report.isolation}`;
  const rerun = options.rerun ?? rerunCommand(report, options.maxTransactions, options.search);
  if (report.status === 'passed') {
    return [
      `${head}: ${passedLine(report)}`,
      `  ${report.stats.runsPerSecond} runs/s in ${report.stats.elapsedMs} ms`,
      `Rerun: ${rerun}`,
    ].join('\n');
  }
  const cx = report.counterexample!;
  const lines = [
    `${head}: FAILED after ${report.stats.runs} ${report.mode === 'exhaustive' ? 'schedule' : 'run'}${report.stats.runs === 1 ? '' : 's'} (${report.mode === 'exhaustive' ? 'exhaustive search' : `seed ${report.seed}`}), shrunk ${report.stats.shrinks} times.`,
    '',
    `Workload (${cx.transactions.length} transactions, ${cx.preemptions} preemption${cx.preemptions === 1 ? '' : 's'}):`,
    ...cx.transactions.map((t) => `  T${t.id}  ${t.operation} ${JSON.stringify(t.args)}`),
    '',
    'Interleaving:',
    interleavingTable(cx),
    '',
    `Violated ${describeViolation(cx)}`,
    `Anomaly: ${describeAnomaly(cx)}`,
    '',
    `Rerun: ${rerun}`,
  ];
  if (options.out) lines.push(`Counterexample written to ${options.out}; replay it with: npx lockstep replay ${options.out}`);
  return lines.join('\n');
}
