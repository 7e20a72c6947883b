import { conflictingHolders } from './row-lock.ts';
import type { Xact } from './xact.ts';

/** The transactions `xact` is waiting for: holders of the row lock it wants, or the transaction whose end it awaits. */
export function waitsFor(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  return wait.kind === 'row' ? conflictingHolders(wait.chain, xact, wait.mode) : [wait.xact];
}

/**
 * The transactions PostgreSQL's `pg_blocking_pids` names for a waiter: a row
 * lock waiter queued behind others waits for the first of them (it holds the
 * tuple lock) and those ahead of it; the first waiter waits for one holder at
 * a time (PostgreSQL sleeps on each locker in turn); a unique-index waiter
 * waits for the inserting transaction.
 */
export function reportedBlockers(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  if (wait.kind === 'xact') return [wait.xact];
  const position = wait.chain.queue.indexOf(xact);
  if (position > 0) return wait.chain.queue.slice(0, position);
  return conflictingHolders(wait.chain, xact, wait.mode).slice(0, 1);
}

/**
 * True when `xact`, which has just started to wait, closes a cycle in the
 * wait-for graph: following who-waits-for-whom from it leads back to it.
 */
export function closesCycle(xact: Xact): boolean {
  const seen = new Set<Xact>();
  const stack = waitsFor(xact);
  while (stack.length > 0) {
    const y = stack.pop()!;
    if (y === xact) return true;
    if (seen.has(y)) continue;
    seen.add(y);
    if (y.wait !== null) stack.push(...waitsFor(y));
  }
  return false;
}
