import { advisoryBlockers } from './advisory-locks.ts';
import { conflicts, conflictingHolders, holderMode, modeOf, sleeping } from './row-lock.ts';
import type { Xact } from './xact.ts';

/**
 * The transactions `xact` is waiting for, as PostgreSQL's deadlock detector
 * sees it: a row lock waiter that sleeps on the row's holders (it holds its
 * tuple lock, needs none, or upgrades its own share lock) sleeps on one
 * holder at a time, the one that took the row first (it waits for the next
 * only once that one ends); a waiter queued for a tuple lock waits for the
 * row's holders; a unique-index waiter for the inserting transaction; an
 * advisory lock waiter for the lock's holder.
 */
export function waitsFor(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  if (wait.kind === 'xact') return [wait.xact];
  if (wait.kind === 'advisory') return [wait.lock.holder!];
  const holders = conflictingHolders(wait.chain, xact, wait.mode);
  return sleeping(wait.chain, xact) ? holders.slice(0, 1) : holders;
}

/**
 * The transactions PostgreSQL's `pg_blocking_pids` names for a waiter: a row
 * lock waiter queued for a tuple lock waits for the transactions queued at
 * that version before it that hold or want a conflicting tuple lock; one
 * that sleeps on the row's holders waits for one holder at a time
 * (PostgreSQL sleeps on each locker in turn); a unique-index waiter waits
 * for the inserting transaction; an advisory lock waiter for the holder and
 * the waiters queued before it (`advisoryBlockers`).
 */
export function reportedBlockers(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  if (wait.kind === 'xact') return [wait.xact];
  if (wait.kind === 'advisory') return advisoryBlockers(wait.lock, xact);
  const chain = wait.chain;
  if (!sleeping(chain, xact)) {
    const ahead: Xact[] = [];
    for (const x of chain.queue) {
      if (x === xact) break;
      if (x.queuedAt === xact.queuedAt && conflicts(modeOf(x), wait.mode)) ahead.push(x);
    }
    return ahead;
  }
  return conflictingHolders(chain, xact, wait.mode).slice(0, 1);
}

/**
 * The wait-for cycle that `xact`, which has just started to wait, closes: the
 * transactions on a path of who-waits-for-whom from it back to it, `xact`
 * first; null when there is none.
 */
export function cycleThrough(xact: Xact): Xact[] | null {
  // Most waits are for a transaction that is not waiting itself: no cycle, and nothing to allocate.
  if (!waitsForAWaiter(xact)) return null;
  const path: Xact[] = [xact];
  return visit(xact, xact, new Set<Xact>(), path) ? path : null;
}

function visit(x: Xact, start: Xact, seen: Set<Xact>, path: Xact[]): boolean {
  for (const y of waitsFor(x)) {
    if (y === start) return true;
    if (seen.has(y) || y.wait === null) continue;
    seen.add(y);
    path.push(y);
    if (visit(y, start, seen, path)) return true;
    path.pop();
  }
  return false;
}

/** True when one of the transactions `xact` waits for (see `waitsFor`) is waiting too; without allocating. */
function waitsForAWaiter(xact: Xact): boolean {
  const wait = xact.wait;
  if (wait === null) return false;
  if (wait.kind === 'xact') return wait.xact.wait !== null;
  if (wait.kind === 'advisory') return wait.lock.holder!.wait !== null;
  const chain = wait.chain;
  const x = chain.exclusive;
  if (x !== null && x !== xact && x.wait !== null && conflicts(holderMode(chain, x), wait.mode)) return true;
  for (const y of chain.shared) if (y !== xact && y.wait !== null && conflicts(holderMode(chain, y), wait.mode)) return true;
  return false;
}
