import pg from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages.js';
import type { Answer } from '../adapters/postgres/session.ts';

/** A result set as PostgreSQL sent it: column names and type oids, values in text form (null for NULL). */
export interface ResultSet {
  readonly columns: readonly { readonly name: string; readonly typeId: number }[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** An error PostgreSQL reported for a step. */
export interface StepError {
  readonly severity: string;
  /** SQLSTATE, e.g. `40001`. */
  readonly code: string;
  readonly message: string;
}

/** How a step ended: the result sets of its statements (those that return rows), then its error if one failed. */
export interface StepOutcome {
  readonly results: readonly ResultSet[];
  readonly error: StepError | null;
}

/**
 * What isolationtester prints for a permutation, in order: result sets of
 * setup and teardown blocks, notices, steps as they are sent (`outcome` null
 * while reported waiting) and steps completed later.
 */
export type TranscriptEntry =
  | { readonly kind: 'result'; readonly result: ResultSet }
  | { readonly kind: 'notice'; readonly session: string; readonly text: string }
  | { readonly kind: 'step'; readonly step: string; readonly sql: string; readonly outcome: StepOutcome | null }
  | { readonly kind: 'completed'; readonly step: string; readonly outcome: StepOutcome };

/** One step of a permutation as it ran. */
export interface StepRun {
  readonly step: string;
  readonly session: string;
  /** Reported as waiting when sent: blocked by another session of the spec, or held back by a marker. */
  readonly blocked: boolean;
  readonly outcome: StepOutcome;
}

/** One permutation as it ran. */
export interface PermutationRun {
  /** Position in the list of permutations run, from 1. */
  readonly index: number;
  readonly order: readonly string[];
  /** The steps in permutation order. */
  readonly steps: readonly StepRun[];
  readonly transcript: readonly TranscriptEntry[];
  /** The `--check` query's answer, when one was given. */
  readonly check?: boolean;
  /** Teardown failures and the like, for stderr. */
  readonly warnings: readonly string[];
}

/** PostgreSQL's text form of every value, as isolationtester prints it. */
const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** A step's SQL as one simple query, rows as arrays of text values. */
export function stepQuery(sql: string): pg.QueryConfig {
  return { text: sql, rowMode: 'array', types: rawTypes } as pg.QueryConfig;
}

/** A step's outcome from PostgreSQL's answer to it. */
export function stepOutcome({ results, error }: Answer): StepOutcome {
  return { results: resultSets(results), error: error === null ? null : { severity: error.severity ?? 'ERROR', code: error.code ?? '', message: error.message } };
}

/** Runs SQL as one simple query and returns the last statement's result set, like libpq's PQexec. */
export async function exec(client: pg.Client, sql: string): Promise<ResultSet | undefined> {
  const answer = (await client.query(stepQuery(sql))) as unknown as pg.QueryResult | pg.QueryResult[];
  const results = Array.isArray(answer) ? answer : [answer];
  const last = results.at(-1);
  return last && last.fields.length > 0 ? resultSets([last])[0] : undefined;
}

function resultSets(results: readonly pg.QueryResult[]): ResultSet[] {
  return results
    .filter((r) => r && r.fields.length > 0)
    .map((r) => ({
      columns: r.fields.map((f: pg.FieldDef) => ({ name: f.name, typeId: f.dataTypeID })),
      rows: (r.rows as unknown as (string | null)[][]).map((row) => [...row]),
    }));
}

/** A notice as libpq prints it: `NOTICE:  text`, then its detail and hint lines. */
export function noticeText(n: NoticeMessage): string {
  let text = `${n.severity ?? 'NOTICE'}:  ${n.message}\n`;
  if (n.detail) text += `DETAIL:  ${n.detail}\n`;
  if (n.hint) text += `HINT:  ${n.hint}\n`;
  return text;
}
