import { Command, CommanderError } from 'commander';
import { InputError } from './input-error.ts';
import { scenarios } from './model/scenarios.ts';
import { checkWritable, parseInteger, parseIsolation, parseScenario, parseStrategy } from './cli-options.ts';
import { writeCounterexample } from './explorer/counterexample.ts';
import { explore } from './explorer/explore.ts';
import { formatExploreReport } from './explorer/explore-report.ts';

/**
 * The `lockstep` command.
 *
 * Exit codes: 0 passed or confirmed, 1 a violation (or a divergence) was found,
 * 2 bad input: one sentence on stderr, never a stack trace.
 */
const program = new Command('lockstep')
  .description('Finds and proves race conditions in database-backed business logic.')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`${oneSentence(text)}\n`) });

/** Commander's own messages ("error: unknown option '--x'") as one capitalised sentence. */
function oneSentence(text: string): string {
  const s = text.replace(/^error: /, '').trim();
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;
}

program
  .command('list')
  .description('list scenarios with their strategies and isolation levels')
  .option('--json', 'print JSON')
  .action((options: { json?: boolean }) => {
    const rows = scenarios.map((s) => ({ scenario: s.id, strategies: Object.keys(s.strategies), isolationLevels: [...s.isolationLevels] }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    for (const s of scenarios) {
      process.stdout.write(`${s.id}  ${s.title}\n  strategies: ${Object.keys(s.strategies).join(', ')}\n  isolation:  ${s.isolationLevels.join(', ')}\n`);
    }
  });

program
  .command('explore <scenario>')
  .description('explore random workloads and interleavings in the model; shrink and print a counterexample')
  .option('--strategy <name>', 'locking strategy to check')
  .option('--isolation <level>', 'isolation level', 'read-committed')
  .option('--runs <n>', 'random runs', '10000')
  .option('--seed <s>', 'seed of the exploration', '1')
  .option('--max-transactions <n>', 'largest workload (default: the scenario\'s)')
  .option('--out <file>', 'write the counterexample to this file')
  .option('--json', 'print one JSON object')
  .action((id: string, options: { strategy?: string; isolation: string; runs: string; seed: string; maxTransactions?: string; out?: string; json?: boolean }) => {
    const scenario = parseScenario(id);
    const strategy = parseStrategy(scenario, options.strategy);
    const isolation = parseIsolation(scenario, options.isolation);
    const runs = parseInteger('--runs', options.runs, 1);
    const seed = parseInteger('--seed', options.seed, -(2 ** 31), 2 ** 31 - 1);
    const maxTransactions = options.maxTransactions === undefined ? undefined : parseInteger('--max-transactions', options.maxTransactions, scenario.transactions.min, 12);
    const out = options.out === undefined ? undefined : checkWritable(options.out);
    const report = explore({ scenario, strategy, isolation, runs, seed, maxTransactions });
    if (report.counterexample && out) writeCounterexample(out, report.counterexample);
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatExploreReport(report, { maxTransactions, out })}\n`);
    process.exitCode = report.status === 'passed' ? 0 : 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof InputError) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
  } else if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    throw e;
  }
}
