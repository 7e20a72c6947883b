import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { InterruptedError, LockstepError } from '../errors.ts';
import type { AuditCommandOptions } from './audit.ts';
import type { ExploreCommandOptions } from './explore.ts';
import type { MergeCommandOptions } from './merge.ts';
import type { CommandIo } from './io.ts';
import type { ReplayCommandOptions } from './replay.ts';
import type { SpecCommandOptions } from './spec.ts';
import type { StressCommandOptions } from './stress.ts';

/** Exit code of a bug inside lockstep (EX_SOFTWARE), printed with its stack. */
export const internalErrorExitCode = 70;

const scenariosOption = ['--scenarios <file>', 'load the scenarios a module exports (TypeScript or JavaScript; repeatable)'] as const;
const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * The `lockstep` command as a function: parses `argv` (without the node and
 * script paths), runs the command and returns its exit code. 0 passed or
 * confirmed, 1 a violation (or a divergence) was found, 2 bad input (one
 * sentence on stderr), 70 a bug inside lockstep (with its stack).
 *
 * Command modules load only when their command runs, so `lockstep list` and
 * `--help` start without pg, kysely or the engine.
 */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('lockstep')
    .description('Finds and proves race conditions in database-backed business logic.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(`${oneSentence(text)}\n`) })
    .showSuggestionAfterError(false)
    .version(packageVersion(), '-V, --version', 'print the version');

  program
    .command('list')
    .description('list scenarios with their strategies and isolation levels')
    .option(...scenariosOption, collect, [])
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; scenarios: string[] }) => {
      const { listCommand } = await import('./list.ts');
      exitCode = await listCommand(options, io);
    });

  program
    .command('explore <scenario>')
    .description('explore random workloads and interleavings in the model; shrink and print a counterexample')
    .option(...scenariosOption, collect, [])
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
    .option('--markdown', 'print a Markdown summary (for a CI job summary)')
    .option('--report <file>', 'write an HTML report (self-contained: opens from disk)')
    .option('--svg <file>', 'write the counterexample as a standalone SVG: swimlanes and dependency cycle')
    .option('--workers <n>', 'search on n worker threads (the same results as one process)')
    .option('--shard <i/n>', 'run part i of n of the search and write its result file, for lockstep merge')
    .option('--shard-out <file>', 'with --shard: the result file (default shard-i-of-n.json)')
    .option('--max-time <duration>', 'stop searching after this long (90s, 10m) and report what was covered')
    .action(async (id: string, options: ExploreCommandOptions) => {
      const { exploreCommand } = await import('./explore.ts');
      exitCode = await exploreCommand(id, options, io);
    });

  program
    .command('replay <counterexample>')
    .description('replay a counterexample file on PostgreSQL, step by step, and compare with the model')
    .option(...scenariosOption, collect, [])
    .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
    .option('--json', 'print one JSON object')
    .option('--emit-spec <file>', 'also write the counterexample as an isolationtester spec file')
    .option('--markdown', 'print a Markdown summary (for a CI job summary)')
    .option('--report <file>', 'write an HTML report (self-contained: opens from disk)')
    .option('--svg <file>', 'write the replay as a standalone SVG')
    .action(async (file: string, options: ReplayCommandOptions) => {
      const { replayCommand } = await import('./replay.ts');
      exitCode = await replayCommand(file, options, io);
    });

  program
    .command('merge <files...>')
    .description('combine the result files of explore --shard i/n into the report of the whole exploration')
    .option('--json', 'print one JSON object')
    .option('--out <file>', 'write the counterexample to this file')
    .action(async (files: string[], options: MergeCommandOptions) => {
      const { mergeCommand } = await import('./merge.ts');
      exitCode = await mergeCommand(files, options, io);
    });

  program
    .command('audit')
    .description('the matrix of scenarios, strategies and isolation levels (or, with --catalogue, of anomalies), in the model and on PostgreSQL')
    .option(...scenariosOption, collect, [])
    .option('--scenario <id>', 'only this scenario')
    .option('--isolation <level>', 'only this isolation level')
    .option('--runs <n>', 'random runs per combination', '2000')
    .option('--seed <s>', 'seed of every exploration', '1')
    .option('--replay', 'replay each minimal counterexample and sampled schedules on PostgreSQL')
    .option('--catalogue', 'the anomaly catalogue: which anomalies each isolation level allows')
    .option('--anomaly <name>', 'with --catalogue: only this anomaly')
    .option('--json', 'print one JSON object')
    .option('--markdown', 'print a Markdown table')
    .option('--report <file>', 'write an HTML report: the matrix, each failing cell linked to its counterexample')
    .option('--max-time <duration>', 'stop searching after this long (90s, 10m), shared evenly among the combinations')
    .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
    .action(async (options: AuditCommandOptions) => {
      const { auditCommand } = await import('./audit.ts');
      exitCode = await auditCommand(options, io);
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
    .option('--max-time <duration>', 'stop starting permutations after this long (90s, 10m); what ran is reported')
    .action(async (file: string, options: SpecCommandOptions) => {
      const { specCommand } = await import('./spec.ts');
      exitCode = await specCommand(file, options, io);
    });

  program
    .command('stress [scenario]')
    .description("run a scenario's programs under load on PostgreSQL: latency, outcomes by SQLSTATE, thresholds, and its rules over the final tables")
    .option(...scenariosOption, collect, [])
    .option('--strategy <name>', 'locking strategy to run')
    .option('--isolation <level>', 'isolation level (default read-committed)')
    .option('--profile <name>', 'a load profile: mixed, sustained, burst, scale, points-scale, logins (names its scenario)')
    .option('--clients <n>', 'logical clients running transactions at once (default 10)')
    .option('--pool <n>', 'connections of the pool the clients share (default 10)')
    .option('--duration <time>', 'start transactions for this long (60s, 500ms, 2m)')
    .option('--transactions <n>', 'run this many transactions (default 1000)')
    .option('--rate <r>', 'open model: transactions arrive at r per second (needs --duration)')
    .option('--burst <n>', 'open model: n transactions arrive at once, then --idle')
    .option('--idle <time>', 'with --burst: the pause between bursts (default 5s)')
    .option('--workload <kind>', "generated (from the scenario's arbitraries, the default) or canonical (its canonical workload, repeated)")
    .option('--threshold <expr>', 'k6-style pass criterion: p95<500ms, rate(40001)<0.05, invariants==0 (repeatable)', collect, [])
    .option('--seed <s>', 'seed of the generated workload (default 1)')
    .option('--acquire-timeout <time>', 'longest wait for a pooled connection (default 5s)')
    .option('--protocol <p>', 'extended (values apart, as node-postgres sends them; the default) or simple (values written into the SQL, as pgbench)')
    .option('--json', 'print one JSON object')
    .option('--db <url>', 'PostgreSQL to use (default: DATABASE_URL, else an embedded server)')
    .option('--report <file>', 'write an HTML report: thresholds, rules, latency by operation, the run over time')
    .action(async (id: string | undefined, options: StressCommandOptions) => {
      const { stressCommand } = await import('./stress.ts');
      exitCode = await stressCommand(id, options, io);
    });

  program
    .command('init')
    .description('write a scenario file and a vitest test of it into this project')
    .option('--dir <folder>', 'where to write them', '.')
    .action(async (options: { dir: string }) => {
      const { initCommand } = await import('./init.ts');
      exitCode = await initCommand(options, io);
    });

  if (argv.length === 0) {
    io.stderr(`Give a command: ${program.commands.map((c) => c.name()).join(', ')}; lockstep --help describes them.\n`);
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof LockstepError || io.signal?.aborted) {
      if (!(e instanceof LockstepError)) {
        // Whatever failed once the signal aborted (a closed connection) is the interrupt's doing.
        io.stderr(`${new InterruptedError().message}\n`);
        return new InterruptedError().exitCode;
      }
      io.stderr(`${e.message}\n`);
      return e.exitCode;
    }
    if (isEnvironmentFailure(e)) {
      // Not a finding and not a bug: the server or the file system failed under us.
      io.stderr(`lockstep stopped: ${firstLine(e)}\n`);
      return 2;
    }
    io.stderr(`lockstep: internal error (a bug in lockstep; please report it with this output):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return internalErrorExitCode;
  }
}

/** Commander's own messages ("error: unknown option '--x'") as one capitalised sentence. */
function oneSentence(text: string): string {
  const s = text.replace(/^error: /, '').trim();
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;
}

/** A failure of the world rather than of lockstep: a system error (ENOSPC, ECONNRESET, ...), one PostgreSQL reported, or a lost connection. */
function isEnvironmentFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  // pg's DatabaseError carries the server's severity and SQLSTATE.
  if ('severity' in e && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return true;
  return /^Connection terminated|^Client has encountered a connection error|^terminating connection/.test(e.message);
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n')[0] ?? '').replace(/\.?$/, '.');
}

/** lockstep's version, from its package.json (two folders up from both src/cli and dist/cli). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
