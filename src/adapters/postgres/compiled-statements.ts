import type { Tables } from '../../model/schema.ts';
import type { Statement } from '../../model/statement.ts';
import type { CompiledSql, SqlCompiler } from './sql-compiler.ts';

/** Most distinct statements kept; past it the cache starts again (a long run's statements differ mostly by their values). */
const maxStatements = 10_000;

/**
 * A `SqlCompiler`'s output, compiled once: each distinct statement (by its
 * content), the reset script of each seed (by identity: a scenario's seed is
 * one object) and the script that reads the tables. Replays run the same few
 * statements thousands of times, and compiling one with kysely costs more
 * than sending it.
 *
 * ```ts
 * const compiled = new CompiledStatements(new SqlCompiler(pointsSchema, 'lockstep_1f2e'));
 * compiled.statement({ kind: 'select', table: 'accounts', where: { id: 1 } }); // compiled the first time only
 * ```
 */
export class CompiledStatements {
  private readonly statements = new Map<string, CompiledSql>();
  private readonly resets = new WeakMap<Tables, string>();
  private tablesSql: string | undefined;

  constructor(readonly compiler: SqlCompiler) {}

  statement(s: Statement): CompiledSql {
    const key = statementKey(s);
    let compiled = this.statements.get(key);
    if (compiled === undefined) {
      if (this.statements.size >= maxStatements) this.statements.clear();
      compiled = this.compiler.statement(s);
      this.statements.set(key, compiled);
    }
    return compiled;
  }

  resetScript(seed: Tables): string {
    let script = this.resets.get(seed);
    if (script === undefined) {
      script = this.compiler.resetScript(seed);
      this.resets.set(seed, script);
    }
    return script;
  }

  tablesScript(): string {
    return (this.tablesSql ??= this.compiler.tablesScript());
  }
}

/**
 * The content of a statement as a string that two statements share only when
 * they compile alike: JSON, with the values JSON cannot tell apart (a bigint,
 * `undefined`, NaN and the infinities) written as objects no statement holds.
 */
export function statementKey(s: Statement): string {
  return JSON.stringify(s, (_, value: unknown) => {
    if (typeof value === 'bigint') return { '\u0000bigint': value.toString() };
    if (value === undefined) return { '\u0000undefined': true };
    if (typeof value === 'number' && !Number.isFinite(value)) return { '\u0000number': String(value) };
    return value;
  });
}
