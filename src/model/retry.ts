import { isSqlState, type Program } from './program.ts';
import { SqlState } from './statement.ts';

/**
 * Wraps a program so that a serialization failure (40001) or a deadlock
 * (40P01) rolls the attempt back and runs the program again, as an
 * application's retry loop does. Every attempt is a database transaction of
 * its own, so the checker sees each one; the operation's result is the last
 * attempt's.
 *
 * ```ts
 * const redeem = retrying(redeemAtomic); // under repeatable read the loser of a race retries instead of failing
 * ```
 *
 * The number of retries is bounded by the other transactions of the workload
 * (each failure needs a conflicting commit), so the loop ends; `maxAttempts`
 * is a guard.
 */
export function retrying<Db, A>(program: Program<Db, A>, codes: readonly string[] = [SqlState.serializationFailure, SqlState.deadlockDetected], maxAttempts = 20): Program<Db, A> {
  return function* (tx, args) {
    for (let attempt = 1; ; attempt++) {
      try {
        return yield* program(tx, args);
      } catch (e) {
        if (!isSqlState(e, ...codes) || attempt >= maxAttempts) throw e;
        yield* tx.rollback(null);
      }
    }
  };
}
