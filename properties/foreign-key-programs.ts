import * as fc from 'fast-check';
import type { Scenario, Workload } from '../src/model/scenario.ts';
import { defineSchema, type DatabaseOf } from '../src/model/schema.ts';
import type { Statement } from '../src/model/statement.ts';
import { statementProgramsScenario } from './statement-programs.ts';

/**
 * Parent/child statement programs: like `statement-programs.ts`'s, random
 * short programs, on three tables joined by foreign keys, for hunting
 * differences in the checks and actions PostgreSQL's foreign keys make.
 *
 * `parents(id, k, v)` has a primary key on `id` and a unique index on `k`;
 * `children(id, parent)` references `parents(id)` ON DELETE CASCADE (a null
 * `parent` is not checked); `notes(id, k)` references `parents(k)` (NO
 * ACTION). Programs insert children and notes (their parent may be missing:
 * 23503), re-point children, lock parents in any of the four strengths,
 * update a parent's `v` (no key change: no conflict with FOR KEY SHARE), its
 * `id` or `k` (a key change: 23503 with children or notes), insert and
 * delete parents (cascading to children, failing on notes), and upsert
 * children (re-pointing one on conflict) and parents (changing `k` on
 * conflict). Seed: parents
 * (1, 10, 100), (2, 20, 200), (3, 30, 300); children (1, 1), (2, 2);
 * notes (1, 30).
 */
export const parentChildSchema = defineSchema({
  parents: { columns: { id: 'int', k: 'int', v: 'int' }, primaryKey: ['id'], unique: [['k']] },
  children: {
    columns: { id: 'int', parent: { type: 'int', nullable: true } },
    primaryKey: ['id'],
    foreignKeys: [{ columns: ['parent'], references: { table: 'parents', columns: ['id'] }, onDelete: 'cascade' }],
  },
  notes: { columns: { id: 'int', k: 'int' }, primaryKey: ['id'], foreignKeys: [{ columns: ['k'], references: { table: 'parents', columns: ['k'] } }] },
});

type ParentChildDb = DatabaseOf<typeof parentChildSchema>;
type ParentChildStatement = Statement<ParentChildDb>;

/** One parent/child program: its statements, then how it ends. */
export interface ParentChildProgram {
  readonly statements: readonly ParentChildStatement[];
  readonly end: 'commit' | 'rollback';
}

const seed = {
  parents: [
    { id: 1, k: 10, v: 100 },
    { id: 2, k: 20, v: 200 },
    { id: 3, k: 30, v: 300 },
  ],
  children: [
    { id: 1, parent: 1 },
    { id: 2, parent: 2 },
  ],
  notes: [{ id: 1, k: 30 }],
};

/** The scenario every parent/child workload runs in. */
export const parentChildPrograms: Scenario = statementProgramsScenario(
  'parent-child-programs',
  'random statement programs on parents(id pk, k unique, v), children(parent references parents on delete cascade), notes(k references parents(k))',
  parentChildSchema,
  seed,
);

const parentIds = fc.integer({ min: 1, max: 4 });
const ks = fc.constantFrom(10, 20, 30, 40);
const lock = fc.constantFrom(undefined, 'update' as const, 'share' as const, 'no-key-update' as const, 'key-share' as const);

const parentStatement: fc.Arbitrary<ParentChildStatement> = fc.oneof(
  { arbitrary: fc.record({ id: parentIds, lock }).map(({ id, lock: l }): ParentChildStatement => (l ? { kind: 'select', table: 'parents', where: { id }, lock: l } : { kind: 'select', table: 'parents', where: { id } })), weight: 3 },
  { arbitrary: fc.record({ id: parentIds, add: fc.constantFrom(-1, 1) }).map(({ id, add }): ParentChildStatement => ({ kind: 'update', table: 'parents', where: { id }, set: { v: { add } } })), weight: 3 },
  { arbitrary: fc.record({ id: parentIds, to: fc.constantFrom(5, 6) }).map(({ id, to }): ParentChildStatement => ({ kind: 'update', table: 'parents', where: { id }, set: { id: to } })), weight: 1 },
  { arbitrary: fc.record({ id: parentIds, k: fc.constantFrom(40, 50) }).map(({ id, k }): ParentChildStatement => ({ kind: 'update', table: 'parents', where: { id }, set: { k } })), weight: 1 },
  { arbitrary: fc.record({ id: fc.constantFrom(3, 4), k: ks }).map(({ id, k }): ParentChildStatement => ({ kind: 'insert', table: 'parents', rows: [{ id, k, v: 0 }] })), weight: 1 },
  { arbitrary: parentIds.map((id): ParentChildStatement => ({ kind: 'delete', table: 'parents', where: { id } })), weight: 2 },
  // An upsert that, on conflict, changes the key the notes reference (their restrict checks).
  {
    arbitrary: fc.record({ id: parentIds, k: ks }).map(({ id, k }): ParentChildStatement => ({ kind: 'insert', table: 'parents', rows: [{ id, k, v: 0 }], onConflict: { columns: ['id'], update: { k: { excluded: 'k' } } } })),
    weight: 1,
  },
);

const childStatement: fc.Arbitrary<ParentChildStatement> = fc.oneof(
  { arbitrary: fc.record({ id: fc.integer({ min: 2, max: 5 }), parent: fc.oneof({ arbitrary: parentIds, weight: 6 }, { arbitrary: fc.constant(null), weight: 1 }) }).map(({ id, parent }): ParentChildStatement => ({ kind: 'insert', table: 'children', rows: [{ id, parent }] })), weight: 4 },
  { arbitrary: fc.record({ id: fc.integer({ min: 1, max: 3 }), parent: fc.oneof(parentIds, fc.constant(null)) }).map(({ id, parent }): ParentChildStatement => ({ kind: 'update', table: 'children', where: { id }, set: { parent } })), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 3 }).map((id): ParentChildStatement => ({ kind: 'delete', table: 'children', where: { id } })), weight: 1 },
  // An upsert that inserts a child or, on conflict, re-points it (the new parent's check).
  {
    arbitrary: fc
      .record({ id: fc.integer({ min: 1, max: 4 }), parent: fc.oneof({ arbitrary: parentIds, weight: 6 }, { arbitrary: fc.constant(null), weight: 1 }) })
      .map(({ id, parent }): ParentChildStatement => ({ kind: 'insert', table: 'children', rows: [{ id, parent }], onConflict: { columns: ['id'], update: { parent: { excluded: 'parent' } } } })),
    weight: 2,
  },
  { arbitrary: fc.record({ id: fc.integer({ min: 1, max: 3 }), lock }).map(({ id, lock: l }): ParentChildStatement => (l ? { kind: 'select', table: 'children', where: { id }, lock: l } : { kind: 'select', table: 'children', where: { id } })), weight: 1 },
  { arbitrary: fc.record({ id: fc.constantFrom(2, 3), k: ks }).map(({ id, k }): ParentChildStatement => ({ kind: 'insert', table: 'notes', rows: [{ id, k }] })), weight: 2 },
  { arbitrary: fc.constantFrom(1, 2).map((id): ParentChildStatement => ({ kind: 'delete', table: 'notes', where: { id } })), weight: 1 },
);

/** One program: 1 to 4 statements, then COMMIT (or, one time in six, ROLLBACK). */
export const parentChildProgramArbitrary: fc.Arbitrary<ParentChildProgram> = fc.record({
  statements: fc.array(fc.oneof(parentStatement, childStatement), { minLength: 1, maxLength: 4 }),
  end: fc.oneof({ arbitrary: fc.constant('commit' as const), weight: 5 }, { arbitrary: fc.constant('rollback' as const), weight: 1 }),
});

/** Workloads of 2 or 3 parent/child programs. */
export function parentChildWorkloadArbitrary(): fc.Arbitrary<Workload> {
  return fc.array(parentChildProgramArbitrary.map((args) => ({ operation: 'statements', args })), { minLength: 2, maxLength: 3 });
}
