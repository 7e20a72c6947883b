import { Command, CommanderError } from 'commander';
import { InputError } from './input-error.ts';
import { scenarios } from './model/scenarios.ts';
import { exploreCommand, type ExploreCommandOptions } from './commands/explore.ts';
import { replayCommand } from './commands/replay.ts';
import { specCommand, type SpecCommandOptions } from './commands/spec.ts';
import { auditCommand, type AuditCommandOptions } from './commands/audit.ts';

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
  .option('--max-transactions <n>', "largest workload (default: the scenario's)")
  .option('--mode <mode>', 'search: default (PCT mixed with random), random, pct, or exhaustive (every schedule of one workload up to equivalence)', 'default')
  .option('--txs <n>', "exhaustive: the scenario's default workload of n transactions (default 3)")
  .option('--preemption-bound <k>', 'exhaustive: only schedules with at most k preemptions (a bounded search, not a proof)')
  .option('--workload <file>', 'explore this one workload (JSON list of {"operation", "args"}, or a counterexample file)')
  .option('--depth <d>', 'pct: bug depth d, d - 1 priority change points (default 2)')
  .option('--out <file>', 'write the counterexample to this file')
  .option('--replay', 'replay the minimal counterexample on PostgreSQL and compare')
  .option('--db <url>', 'PostgreSQL to replay on (default: DATABASE_URL, else an embedded server)')
  .option('--json', 'print one JSON object')
  .action(async (id: string, options: ExploreCommandOptions) => {
    process.exitCode = await exploreCommand(id, options);
  });

program
  .command('replay <counterexample>')
  .description('replay a counterexample file on PostgreSQL, step by step, and compare with the model')
  .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
  .option('--json', 'print one JSON object')
  .option('--emit-spec <file>', 'also write the counterexample as an isolationtester spec file')
  .action(async (file: string, options: { db?: string; json?: boolean; emitSpec?: string }) => {
    process.exitCode = await replayCommand(file, options);
  });

program
  .command('audit')
  .description('the matrix of scenarios, strategies and isolation levels (or, with --catalogue, of anomalies), in the model and on PostgreSQL')
  .option('--scenario <id>', 'only this scenario')
  .option('--isolation <level>', 'only this isolation level')
  .option('--runs <n>', 'random runs per combination', '2000')
  .option('--seed <s>', 'seed of every exploration', '1')
  .option('--replay', 'replay each minimal counterexample and sampled schedules on PostgreSQL')
  .option('--catalogue', 'the anomaly catalogue: which anomalies each isolation level allows')
  .option('--anomaly <name>', 'with --catalogue: only this anomaly')
  .option('--json', 'print one JSON object')
  .option('--markdown', 'print a Markdown table')
  .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
  .action(async (options: AuditCommandOptions) => {
    process.exitCode = await auditCommand(options);
  });

program
  .command('spec <file>')
  .description('run a PostgreSQL isolationtester spec file on PostgreSQL, permutation by permutation')
  .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
  .option('--permutations <all|n>', "all (the spec's permutation lines, else every interleaving) or n sampled from --seed", 'all')
  .option('--seed <s>', 'seed of --permutations n', '1')
  .option('--check <sql>', 'SQL returning one boolean, run after each permutation; a failure is shrunk')
  .option('--format <format>', 'table (default), isolationtester or json')
  .option('--json', 'the same as --format json')
  .option('--step-timeout <seconds>', 'longest a step may run without waiting for another session', '10')
  .action(async (file: string, options: SpecCommandOptions) => {
    process.exitCode = await specCommand(file, options);
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
    // Not a finding (exit 1) and never a stack trace: what went wrong, in one sentence (a failed server start, a lost connection).
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`lockstep stopped: ${message.split('\n')[0].replace(/\.?$/, '.')}\n`);
    process.exitCode = 2;
  }
}
