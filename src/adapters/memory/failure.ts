import type { DbError } from '../../model/statement.ts';
import type { Run } from './run.ts';
import { subAbort } from './savepoints.ts';
import { abort } from './wakeups.ts';
import type { Xact } from './xact.ts';

/**
 * A statement failed: the transaction is aborted at once (its locks
 * released), or inside a savepoint only the work since it (`savepoints.ts`),
 * and the error is the statement's result.
 */
export function fail(run: Run, xact: Xact, error: DbError): void {
  if (xact.savepoints !== undefined) subAbort(run, xact);
  else {
    xact.pending = null;
    abort(run, xact);
  }
  run.complete(xact.tx, { error });
}
