import type { RowChain } from './mvcc.ts';
import type { Xact } from './xact.ts';

/** Row lock strength: `share` for FOR SHARE, `exclusive` for FOR UPDATE, UPDATE and DELETE. */
export type RowLockMode = 'share' | 'exclusive';

/** Transactions whose row lock on `chain` conflicts with `xact` taking it in `mode`. */
export function conflictingHolders(chain: RowChain, xact: Xact, mode: RowLockMode): Xact[] {
  if (chain.exclusive !== null) return chain.exclusive === xact ? [] : [chain.exclusive];
  if (mode === 'share') return [];
  return chain.shared.filter((x) => x !== xact);
}

/** True when `xact` already holds a lock on `chain` at least as strong as `mode`. */
export function holds(chain: RowChain, xact: Xact, mode: RowLockMode): boolean {
  return chain.exclusive === xact || (mode === 'share' && chain.shared.includes(xact));
}

/**
 * Takes the row lock if no other holder conflicts. A lock compatible with the
 * current holders is granted at once, even past queued waiters, as PostgreSQL
 * does for tuple locks. Returns false when the caller must wait.
 */
export function tryLock(chain: RowChain, xact: Xact, mode: RowLockMode): boolean {
  if (holds(chain, xact, mode)) return true;
  if (conflictingHolders(chain, xact, mode).length > 0) return false;
  grant(chain, xact, mode);
  return true;
}

function grant(chain: RowChain, xact: Xact, mode: RowLockMode): void {
  if (mode === 'exclusive') {
    chain.exclusive = xact;
    const i = chain.shared.indexOf(xact);
    if (i >= 0) chain.shared.splice(i, 1);
  } else {
    chain.shared.push(xact);
  }
  if (!xact.locks.includes(chain)) xact.locks.push(chain);
}

/**
 * Picks which of several racing waiters takes a row lock next. Candidates are
 * in arrival order; the engine's default takes the first.
 */
export type PickWaiter = (candidates: readonly Xact[]) => Xact;

const firstCome: PickWaiter = (candidates) => candidates[0];

/**
 * True when `waiter` already holds a share lock on `chain` and waits to make
 * it exclusive. PostgreSQL lets such a waiter skip the tuple lock that orders
 * the queue (heap_update and heap_lock_tuple skip it for a member of the
 * locking multixact, to avoid deadlock): it waits only for the other holders.
 */
export function upgrading(chain: RowChain, waiter: Xact): boolean {
  return chain.shared.includes(waiter);
}

/**
 * Drops `xact`'s lock on `chain` and grants the lock to waiters: first a
 * share holder waiting to upgrade (see `upgrading`) once no other holder is
 * left, then the head of the queue, first come first served, as long as they
 * are compatible. When the head belongs to a race group, any member of the
 * group may come first: `pick` chooses. Returns the transactions granted the
 * lock, in grant order.
 */
export function release(chain: RowChain, xact: Xact, pick: PickWaiter = firstCome): Xact[] {
  if (chain.exclusive === xact) chain.exclusive = null;
  const i = chain.shared.indexOf(xact);
  if (i >= 0) chain.shared.splice(i, 1);
  const granted: Xact[] = [];
  const upgrader = chain.queue.find((w) => upgrading(chain, w) && conflictingHolders(chain, w, modeOf(w)).length === 0);
  if (upgrader) {
    chain.queue.splice(chain.queue.indexOf(upgrader), 1);
    upgrader.raceGroup = 0;
    grant(chain, upgrader, modeOf(upgrader));
    return [upgrader];
  }
  while (chain.queue.length > 0) {
    const head = chain.queue[0];
    let waiter = head;
    if (head.raceGroup === 0) {
      if (conflictingHolders(chain, head, modeOf(head)).length > 0) break;
    } else {
      const free = chain.queue.filter((w) => w.raceGroup === head.raceGroup && conflictingHolders(chain, w, modeOf(w)).length === 0);
      if (free.length === 0) break;
      waiter = free.length === 1 ? free[0] : pick(free);
    }
    chain.queue.splice(chain.queue.indexOf(waiter), 1);
    waiter.raceGroup = 0;
    grant(chain, waiter, modeOf(waiter));
    granted.push(waiter);
  }
  return granted;
}

function modeOf(waiter: Xact): RowLockMode {
  return waiter.wait?.kind === 'row' ? waiter.wait.mode : 'exclusive';
}

/** Removes a waiter from the queue (its transaction was aborted while waiting). */
export function leaveQueue(chain: RowChain, xact: Xact): void {
  const i = chain.queue.indexOf(xact);
  if (i >= 0) chain.queue.splice(i, 1);
}
