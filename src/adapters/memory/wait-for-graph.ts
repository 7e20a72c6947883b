import { conflictingHolders, upgrading } from './row-lock.ts';
import type { Xact } from './xact.ts';

/**
 * The transactions `xact` is waiting for, as PostgreSQL's deadlock detector
 * sees it: a row lock waiter first in the queue (or upgrading its own share
 * lock) sleeps on one holder at a time, the one that took the row first (it
 * waits for the next only once that one ends); a waiter queued behind others
 * waits for the row's holders; a unique-index waiter for the inserting
 * transaction.
 */
export function waitsFor(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  if (wait.kind === 'xact') return [wait.xact];
  const holders = conflictingHolders(wait.chain, xact, wait.mode);
  return wait.chain.queue.indexOf(xact) === 0 || upgrading(wait.chain, xact) ? holders.slice(0, 1) : holders;
}

/**
 * The transactions PostgreSQL's `pg_blocking_pids` names for a waiter: a row
 * lock waiter queued behind others waits for the first of them (it holds the
 * tuple lock) and those ahead of it, unless it upgrades its own share lock
 * (it skips the tuple lock); the first waiter waits for one holder at
 * a time (PostgreSQL sleeps on each locker in turn); a unique-index waiter
 * waits for the inserting transaction.
 */
export function reportedBlockers(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  if (wait.kind === 'xact') return [wait.xact];
  const position = wait.chain.queue.indexOf(xact);
  if (position > 0 && !upgrading(wait.chain, xact)) return wait.chain.queue.slice(0, position);
  return conflictingHolders(wait.chain, xact, wait.mode).slice(0, 1);
}

/**
 * The wait-for cycle that `xact`, which has just started to wait, closes: the
 * transactions on a path of who-waits-for-whom from it back to it, `xact`
 * first; null when there is none.
 */
export function cycleThrough(xact: Xact): Xact[] | null {
  const seen = new Set<Xact>();
  const path: Xact[] = [xact];
  const visit = (x: Xact): boolean => {
    for (const y of waitsFor(x)) {
      if (y === xact) return true;
      if (seen.has(y) || y.wait === null) continue;
      seen.add(y);
      path.push(y);
      if (visit(y)) return true;
      path.pop();
    }
    return false;
  };
  return visit(xact) ? path : null;
}
