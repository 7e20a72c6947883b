import type { PermutationRun, ResultSet, StepOutcome } from './permutation-run.ts';

/** A JSON value of a result column: integers and booleans as JSON numbers and booleans, everything else in PostgreSQL's text form. */
export type JsonValue = string | number | boolean | null;

/** One permutation in `--json` output. */
export interface PermutationJson {
  readonly order: readonly string[];
  readonly steps: readonly {
    readonly step: string;
    readonly session: string;
    readonly blocked: boolean;
    readonly error: { readonly code: string; readonly message: string } | null;
    /** The rows of the step's last statement that returns rows, or null when none does. */
    readonly rows: readonly Record<string, JsonValue>[] | null;
  }[];
  readonly check?: boolean;
}

/** Permutations that ended the same way: which steps failed with which SQLSTATE (none: every step succeeded), and the check's answer. */
export interface OutcomeGroup {
  /** `all steps succeeded`, or `s2w failed with 40001`, with `; check failed` when the check said false. */
  readonly outcome: string;
  readonly failures: readonly { readonly step: string; readonly code: string }[];
  readonly check?: boolean;
  /** Positions of the permutations in `permutations`, from 1. */
  readonly permutations: readonly number[];
}

/** The permutation a failing check was shrunk to. */
export interface ShrunkJson {
  readonly order: readonly string[];
  readonly switches: number;
}

/** `lockstep spec --json`: every permutation, then the outcome groups. */
export interface SpecJson {
  readonly spec: string;
  readonly permutations: readonly PermutationJson[];
  readonly summary: readonly OutcomeGroup[];
  readonly shrunk?: ShrunkJson;
  /** Interleavings not run because they ask a blocked session to take its next step. */
  readonly skipped?: readonly (readonly string[])[];
}

/**
 * The `--json` report of a spec run. Nothing in it depends on time or the
 * server's version, so the same spec gives the same bytes.
 *
 * ```ts
 * specJson('lost-update.spec', runs) // { spec: 'lost-update.spec', permutations: [...], summary: [{ outcome: 'all steps succeeded', ... }] }
 * ```
 */
export function specJson(spec: string, runs: readonly PermutationRun[], shrunk?: ShrunkJson, skipped: readonly (readonly string[])[] = []): SpecJson {
  return {
    spec,
    permutations: runs.map(permutationJson),
    summary: outcomeGroups(runs),
    ...(shrunk ? { shrunk } : {}),
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

function permutationJson(run: PermutationRun): PermutationJson {
  return {
    order: run.order,
    steps: run.steps.map((s) => ({
      step: s.step,
      session: s.session,
      blocked: s.blocked,
      error: s.outcome.error ? { code: s.outcome.error.code, message: s.outcome.error.message } : null,
      rows: lastRows(s.outcome),
    })),
    ...(run.check !== undefined ? { check: run.check } : {}),
  };
}

/** Groups permutations by outcome, in order of first appearance. */
export function outcomeGroups(runs: readonly PermutationRun[]): OutcomeGroup[] {
  const groups = new Map<string, { outcome: string; failures: { step: string; code: string }[]; check?: boolean; permutations: number[] }>();
  for (const run of runs) {
    const failures = run.steps.filter((s) => s.outcome.error !== null).map((s) => ({ step: s.step, code: s.outcome.error!.code }));
    const outcome = describeOutcome(failures, run.check);
    let group = groups.get(outcome);
    if (!group) {
      group = { outcome, failures, ...(run.check !== undefined ? { check: run.check } : {}), permutations: [] };
      groups.set(outcome, group);
    }
    group.permutations.push(run.index);
  }
  return [...groups.values()];
}

/** `all steps succeeded`, `s2w failed with 40001`, `s1u failed with 40P01, s2c failed with 25P02`, plus `; check failed`. */
export function describeOutcome(failures: readonly { step: string; code: string }[], check?: boolean): string {
  const steps = failures.length === 0 ? 'all steps succeeded' : failures.map((f) => `${f.step} failed with ${f.code}`).join(', ');
  return check === false ? `${steps}; check failed` : steps;
}

function lastRows(outcome: StepOutcome): Record<string, JsonValue>[] | null {
  const last = outcome.results.at(-1);
  return last ? rowObjects(last) : null;
}

const integerTypes = new Set([20, 21, 23, 26]);

function rowObjects(result: ResultSet): Record<string, JsonValue>[] {
  return result.rows.map((row) => {
    const out: Record<string, JsonValue> = {};
    result.columns.forEach((c, j) => {
      const v = row[j];
      if (v === null) out[c.name] = null;
      else if (c.typeId === 16) out[c.name] = v === 't';
      else if (integerTypes.has(c.typeId) && Number.isSafeInteger(Number(v))) out[c.name] = Number(v);
      else out[c.name] = v;
    });
    return out;
  });
}
