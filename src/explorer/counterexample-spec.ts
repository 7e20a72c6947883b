import type { TxId } from '../adapters/backend.ts';
import { SqlCompiler } from '../adapters/postgres/sql-compiler.ts';
import { withLiterals } from '../adapters/postgres/sql-literal.ts';
import { modelEngine } from './model-engine.ts';
import { ruleName } from './violation.ts';
import type { Counterexample } from './counterexample.ts';
import { runPlanOf } from './replay.ts';
import { runOnEngine } from './runner.ts';
import { stepOrder } from './schedule.ts';
import { seedTables, type Scenario } from '../model/scenario.ts';
import { SqlState } from '../model/statement.ts';

const placeholder = 'lockstep_spec';

/**
 * A counterexample as an isolationtester spec file that PostgreSQL's own
 * tester (or `lockstep spec`) can run: the scenario's tables and seed rows
 * as setup, one session per transaction, one step per statement (the first
 * statement of a transaction opens it with the counterexample's isolation
 * level), and one permutation line in the stored step order. A transaction
 * the model aborts gets a ROLLBACK step right after its failing statement.
 * Lock waits need no markers: isolationtester sees them itself. When the
 * model says a transaction dies in a deadlock, that session runs with a short
 * `deadlock_timeout` and the others with a long one, so PostgreSQL picks the
 * same victim.
 *
 * ```ts
 * writeFileSync('cx.spec', counterexampleSpec(cx, giftOnce));
 * ```
 */
export function counterexampleSpec(cx: Counterexample, scenario: Scenario): string {
  const run = runPlanOf(cx, scenario);
  const schema = run.scenario.schema;
  const trace = runOnEngine(modelEngine(schema), run, stepOrder(cx.schedule));
  const compiler = new SqlCompiler(schema, placeholder);
  const unqualified = (sql: string) => sql.replaceAll(`"${placeholder}".`, '');
  const tables = Object.keys(schema);

  const stepsOf = new Map<TxId, { name: string; sql: string }[]>(cx.transactions.map((t) => [t.id, []]));
  const permutation: string[] = [];
  const open = new Set<TxId>();
  const victims = new Set<TxId>();
  const lastStepOf = new Map<TxId, number>();
  trace.steps.forEach((s, i) => lastStepOf.set(s.tx, i));
  const addStep = (tx: TxId, sql: string) => {
    const steps = stepsOf.get(tx)!;
    const name = `t${tx}_${steps.length + 1}`;
    steps.push({ name, sql });
    permutation.push(name);
  };

  trace.steps.forEach((step, i) => {
    const s = step.statement;
    const compiled = compiler.statement(s);
    let sql = `${withLiterals({ sql: unqualified(compiled.sql), parameters: compiled.parameters })};`;
    if (s.kind === 'commit' || s.kind === 'rollback') {
      open.delete(step.tx);
      sql = `${s.kind.toUpperCase()};`;
    } else if (!open.has(step.tx)) {
      open.add(step.tx);
      sql = `${compiler.begin(run.isolation).toUpperCase()}; ${sql}`;
    }
    addStep(step.tx, sql);
    for (const e of step.events) {
      if (e.kind !== 'completed' || !e.result.error) continue;
      if (e.result.error.code === SqlState.deadlockDetected) victims.add(e.tx);
      // A program that gives up on an error leaves its transaction to the runner, which rolls it back at once.
      if ((lastStepOf.get(e.tx) ?? -1) <= i && open.has(e.tx)) {
        open.delete(e.tx);
        addStep(e.tx, 'ROLLBACK;');
      }
    }
  });

  const create = compiler.createSchemaScript().split(';\n').slice(1).map(unqualified);
  const seed = compiler.resetScript(seedTables(run.scenario)).split(';\n').slice(1).map(unqualified);
  const lines: string[] = [
    `# lockstep counterexample: ${cx.scenario} · ${cx.strategy} · ${cx.isolation}`,
    ...cx.transactions.map((t) => `# T${t.id} (session t${t.id}): ${t.operation} ${JSON.stringify(t.args)}`),
    `# Violated: ${ruleName(cx.violation)}`,
    `# Run it with: npx lockstep spec <this file>, or PostgreSQL's isolationtester.`,
    '',
    'setup',
    '{',
    ...[...create, ...seed].map((statement) => `  ${statement};`),
    '}',
    `teardown { DROP TABLE ${tables.map((t) => `"${t}"`).join(', ')}; }`,
  ];
  for (const t of cx.transactions) {
    lines.push('', `session t${t.id}`);
    if (victims.size > 0) lines.push(`setup { SET deadlock_timeout = '${victims.has(t.id) ? '100ms' : '10s'}'; }`);
    for (const step of stepsOf.get(t.id)!) lines.push(`step ${step.name} { ${step.sql} }`);
  }
  lines.push('', `permutation ${permutation.join(' ')}`, '');
  return lines.join('\n');
}
