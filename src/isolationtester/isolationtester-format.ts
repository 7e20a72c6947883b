import type { PermutationRun, ResultSet, StepOutcome } from './permutation-run.ts';

/**
 * The text PostgreSQL's isolationtester prints for a run, so that
 * PostgreSQL's own expected output files serve as oracles by a plain diff:
 *
 * ```
 * Parsed test spec with 2 sessions
 *
 * starting permutation: s1r s2r s1c s2c
 * step s1r: SELECT * FROM accounts WHERE id = 1 FOR UPDATE;
 * id|balance
 * --+-------
 *  1|   3000
 * (1 row)
 *
 * step s2r: SELECT * FROM accounts WHERE id = 1 FOR UPDATE; <waiting ...>
 * step s1c: COMMIT;
 * step s2r: <... completed>
 * ...
 * ```
 */
export function isolationtesterHeader(sessions: number): string {
  return `Parsed test spec with ${sessions} sessions\n`;
}

/** One permutation: `starting permutation: …`, then setup results, steps, completions, notices and teardown results. */
export function formatIsolationtesterPermutation(run: PermutationRun, withCheck = false): string {
  let out = `\nstarting permutation: ${run.order.join(' ')}\n`;
  for (const entry of run.transcript) {
    switch (entry.kind) {
      case 'result':
        out += formatResultSet(entry.result);
        break;
      case 'notice':
        out += `${entry.session}: ${entry.text}`;
        break;
      case 'step':
        out += entry.outcome === null ? `step ${entry.step}: ${entry.sql} <waiting ...>\n` : `step ${entry.step}: ${entry.sql}\n${formatOutcome(entry.outcome)}`;
        break;
      case 'completed':
        out += `step ${entry.step}: <... completed>\n${formatOutcome(entry.outcome)}`;
        break;
    }
  }
  if (withCheck && run.check !== undefined) out += `check: ${run.check ? 'true' : 'false'}\n`;
  return out;
}

function formatOutcome(outcome: StepOutcome): string {
  let out = outcome.results.map(formatResultSet).join('');
  if (outcome.error) out += `${outcome.error.severity}:  ${outcome.error.message}\n`;
  return out;
}

/**
 * A result set the way libpq's `PQprint` lays it out with a header, aligned
 * columns and `|` between them: a column is right-aligned when every
 * non-empty value looks like a number, widths count bytes, NULL and empty
 * values print as nothing, then `(n rows)` and a blank line.
 */
export function formatResultSet(result: ResultSet): string {
  const n = result.columns.length;
  if (n === 0) return '';
  const width = result.columns.map((c) => bytes(c.name));
  const numeric = result.columns.map(() => true);
  for (const row of result.rows) {
    row.forEach((value, j) => {
      if (value === null || value === '') return;
      width[j] = Math.max(width[j], bytes(value));
      if (numeric[j] && !looksNumeric(value)) numeric[j] = false;
    });
  }
  const cell = (value: string, j: number) => {
    const pad = ' '.repeat(Math.max(0, width[j] - bytes(value)));
    return numeric[j] ? pad + value : value + pad;
  };
  let out = `${result.columns.map((c, j) => cell(c.name, j)).join('|')}\n`;
  out += `${width.map((w) => '-'.repeat(w)).join('+')}\n`;
  for (const row of result.rows) out += `${row.map((v, j) => cell(v ?? '', j)).join('|')}\n`;
  out += `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})\n\n`;
  return out;
}

/** PQprint's test: only digits, '.', 'e', 'E', ' ' and '-', not starting with an 'e' and ending with a digit. */
function looksNumeric(value: string): boolean {
  return /^[0-9.eE \-]*$/.test(value) && !/^[eE]/.test(value) && /[0-9]$/.test(value);
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
