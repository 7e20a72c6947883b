import type { RowChain, Version } from './mvcc.ts';
import type { Xact } from './xact.ts';

/**
 * Row lock strength, weakest first: `key-share` for FOR KEY SHARE, `share`
 * for FOR SHARE, `no-key-update` for FOR NO KEY UPDATE and an UPDATE that
 * changes no key column, `exclusive` for FOR UPDATE, DELETE and an UPDATE
 * of a key column (a column of the primary key or a unique index).
 */
export type RowLockMode = 'key-share' | 'share' | 'no-key-update' | 'exclusive';

const strength: Record<RowLockMode, number> = { 'key-share': 0, share: 1, 'no-key-update': 2, exclusive: 3 };

/**
 * PostgreSQL's conflict table of row locks: FOR KEY SHARE conflicts only
 * with FOR UPDATE, FOR SHARE with FOR NO KEY UPDATE and FOR UPDATE, FOR NO
 * KEY UPDATE with all but FOR KEY SHARE, FOR UPDATE with all. (Their tuple
 * locks conflict the same way.) Two modes conflict exactly when their
 * strengths add up to 3 or more.
 */
export function conflicts(a: RowLockMode, b: RowLockMode): boolean {
  return strength[a] + strength[b] >= 3;
}

/** The mode `holder` holds `chain` in (it must hold it). */
export function holderMode(chain: RowChain, holder: Xact): RowLockMode {
  return chain.modes?.get(holder) ?? (chain.exclusive === holder ? 'exclusive' : 'share');
}

let lockSequence = 0;

/** Marks the first time `xact` locks or writes a row (PostgreSQL assigns its transaction id then), if it has not before. */
export function assignXid(xact: Xact): void {
  xact.firstLock ??= ++lockSequence;
}

/**
 * The id `holder` locked `chain` under: its transaction id, or for a lock
 * taken inside a savepoint the subtransaction's (`RowChain.subLockers`).
 */
function lockerId(chain: RowChain, holder: Xact): number {
  return chain.subLockers?.get(holder) ?? holder.firstLock ?? Infinity;
}

/** The order PostgreSQL keeps a row's lockers in: by the transaction (or subtransaction) id they locked it under. */
function before(chain: RowChain, a: Xact, b: Xact): boolean {
  return lockerId(chain, a) < lockerId(chain, b);
}

/**
 * Inside a savepoint PostgreSQL locks and writes under a subtransaction id,
 * assigned at the savepoint's first lock or write, after its transaction's
 * own: the id `xact` locks under now (see `lockerId`).
 */
function subtransactionId(xact: Xact): number | undefined {
  const savepoints = xact.savepoints;
  if (savepoints === undefined) return undefined;
  return (savepoints[savepoints.length - 1].xid ??= ++lockSequence);
}

/*
 * Who gets a row lock when several transactions wait for it, as PostgreSQL's
 * heapam.c decides (checked on PostgreSQL 15 and 17 with three to five
 * waiters, see test/memory/row-queues.test.ts):
 *
 * - A statement that finds a row version locked by a conflicting
 *   transaction first takes the heavyweight lock on that version's tuple
 *   (heap_lock_tuple and heap_update: "Acquire tuple lock to establish our
 *   priority for the tuple", LockTuple), then sleeps on the holder's
 *   transaction (XactLockTableWait). Later arrivals queue for the tuple
 *   lock, first come first served. FOR SHARE tuple locks are compatible
 *   with each other, so several share waiters may hold one at once.
 * - When the holder ends, only the transactions sleeping on it wake: the
 *   tuple lock holder(s), and statements that sleep on it without a tuple
 *   lock (below). If only one wakes, it gets the row: a queue behind a
 *   transaction that only locked the row, or behind one that rolled back,
 *   moves strictly in order. When several wake, they race: any of them may
 *   lock the row first. A tuple lock holder that loses keeps its tuple lock
 *   ("If we are forced to start over below, we keep the tuple lock") and
 *   sleeps on the winner; it lets the next in line have the tuple lock only
 *   once it has locked the row.
 * - When the holder committed an UPDATE or DELETE of the version, each
 *   waiter in turn gets TM_Updated, lets go of the old version's tuple lock
 *   and follows the update chain to the new version on its own
 *   (heapam_tuple_lock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION): they all race.
 *   One that finds the new version being replaced by a transaction still
 *   running sleeps on that transaction without any tuple lock ("If tuple is
 *   being updated by other transaction then we have to wait for its
 *   commit/abort", XLTW_FetchUpdated); one that finds it only locked takes
 *   the new version's tuple lock. The exception: a SELECT ... FOR UPDATE /
 *   FOR SHARE that went to sleep when the holder had already replaced the
 *   version (not just locked it) walks the update chain while it still
 *   holds the old version's tuple lock (heap_lock_updated_tuple: "we don't
 *   acquire heavyweight tuple locks on the tuples we walk when we have to
 *   wait"), so those queued behind it stay queued and it goes first; its
 *   walk gives up (TM_Updated) once the version it walks to is replaced by a
 *   committed transaction in turn.
 *
 * The model keeps, for each waiter, the version whose tuple lock it holds or
 * queues for (`Xact.queuedAt`), or null for one that sleeps on the holder
 * without one, and for a locking SELECT the holder it may walk the chain
 * from (`Xact.walksFrom`). Where PostgreSQL's outcome depends on timing (a
 * chain follower's place after a race: asleep on the winner, or queued for
 * the new version's tuple lock; what a tuple lock holder that lost a race
 * saw when it went back to sleep), the model takes the most permissive: the
 * follower keeps racing (null), the loser is no longer taken to walk the
 * chain.
 */

/** Transactions whose row lock on `chain` conflicts with `xact` taking it in `mode`, in PostgreSQL's order (by transaction id). */
export function conflictingHolders(chain: RowChain, xact: Xact, mode: RowLockMode): Xact[] {
  const out: Xact[] = [];
  const x = chain.exclusive;
  if (x !== null && x !== xact && conflicts(holderMode(chain, x), mode)) out.push(x);
  for (const y of chain.shared) if (y !== xact && conflicts(holderMode(chain, y), mode)) out.push(y);
  return out.length > 1 ? out.sort((a, b) => (before(chain, a, b) ? -1 : before(chain, b, a) ? 1 : 0)) : out;
}

/** The first of `conflictingHolders` (the one a waiter sleeps on), without allocating; null when none. */
export function firstConflictingHolder(chain: RowChain, xact: Xact, mode: RowLockMode): Xact | null {
  let first: Xact | null = null;
  const x = chain.exclusive;
  if (x !== null && x !== xact && conflicts(holderMode(chain, x), mode)) first = x;
  for (const y of chain.shared) if (y !== xact && conflicts(holderMode(chain, y), mode) && (first === null || before(chain, y, first))) first = y;
  return first;
}

/** True when `xact` already holds a lock on `chain` at least as strong as `mode`. */
export function holds(chain: RowChain, xact: Xact, mode: RowLockMode): boolean {
  if (chain.exclusive !== xact && !chain.shared.includes(xact)) return false;
  return strength[holderMode(chain, xact)] >= strength[mode];
}

/**
 * Takes the row lock if no other holder conflicts. A lock compatible with the
 * current holders is granted at once, even past queued waiters, as PostgreSQL
 * does for row locks (it takes no tuple lock when it need not sleep).
 * Returns false when the caller must wait.
 */
export function tryLock(chain: RowChain, xact: Xact, mode: RowLockMode): boolean {
  if (holds(chain, xact, mode)) return true;
  if (firstConflictingHolder(chain, xact, mode) !== null) return false;
  grant(chain, xact, mode);
  return true;
}

function grant(chain: RowChain, xact: Xact, mode: RowLockMode): void {
  // While it has a savepoint, ROLLBACK TO gives the lock back, or goes back to the mode held before.
  const held = chain.exclusive === xact || chain.shared.includes(xact);
  if (xact.undo) xact.undo.push({ kind: 'lock', chain, before: held ? holderMode(chain, xact) : null });
  assignXid(xact);
  if (!held && xact.savepoints !== undefined) (chain.subLockers ??= new Map()).set(xact, subtransactionId(xact)!);
  if (mode === 'exclusive' || mode === 'no-key-update') {
    chain.exclusive = xact;
    const i = chain.shared.indexOf(xact);
    if (i >= 0) chain.shared.splice(i, 1);
  } else if (!chain.shared.includes(xact)) {
    chain.shared.push(xact);
  }
  if (mode === 'key-share' || mode === 'no-key-update') (chain.modes ??= new Map()).set(xact, mode);
  else chain.modes?.delete(xact);
  if (!xact.locks.includes(chain)) xact.locks.push(chain);
}

/** Drops `xact`'s lock on `chain`, whatever its mode. */
export function dropLock(chain: RowChain, xact: Xact): void {
  chain.subLockers?.delete(xact);
  if (chain.exclusive === xact) chain.exclusive = null;
  const i = chain.shared.indexOf(xact);
  if (i >= 0) chain.shared.splice(i, 1);
  chain.modes?.delete(xact);
}

/**
 * What a release tells the engine: each waiter granted the lock
 * (`wakeOne`, in grant order), and, when several waiters race for the row,
 * which of them takes it next (`pickWaiter`, candidates in arrival order).
 */
export interface Waking {
  wakeOne(granted: Xact): void;
  pickWaiter(candidates: readonly Xact[]): Xact;
}

/**
 * True when `waiter` already holds a share lock on `chain` and waits to make
 * it exclusive. PostgreSQL lets such a waiter skip the tuple lock that orders
 * the queue (heap_update and heap_lock_tuple skip it for a member of the
 * locking multixact, to avoid deadlock): it waits only for the other holders.
 */
export function upgrading(chain: RowChain, waiter: Xact): boolean {
  return chain.exclusive === waiter || chain.shared.includes(waiter);
}

/** The row lock mode a waiter asks for. */
export function modeOf(waiter: Xact): RowLockMode {
  return waiter.wait?.kind === 'row' ? waiter.wait.mode : 'exclusive';
}

/** The version was replaced or deleted by a committed transaction. */
function superseded(version: Version): boolean {
  return version.xmax !== null && version.xmax.status === 'committed';
}

/**
 * True when `waiter`, queued at the replaced version `at`, walks the update
 * chain holding `at`'s tuple lock: a locking SELECT that went to sleep on
 * the transaction that replaced `at` (`Xact.walksFrom`), whose new version
 * is the newest. Its walk starts at that new version (heap_lock_updated_tuple
 * from the t_ctid it read); had that version been replaced again by a
 * committed transaction, the walk gives up (test_lockmode_for_conflict:
 * TM_Updated) and the waiter lets go of the tuple lock like an UPDATE.
 */
function walks(chain: RowChain, waiter: Xact, at: Version): boolean {
  if (waiter.walksFrom === null || waiter.walksFrom !== at.xmax) return false;
  const versions = chain.versions;
  for (let i = versions.indexOf(at) + 1; i < versions.length; i++) {
    if (versions[i].xmin === at.xmax) return !superseded(versions[i]);
  }
  return false;
}

/**
 * True when `waiter` holds the tuple lock of the version it queues at: no
 * transaction queued at that version before it asks for a conflicting tuple
 * lock (FOR SHARE tuple locks are compatible with each other).
 */
function holdsTupleLock(chain: RowChain, waiter: Xact): boolean {
  const at = waiter.queuedAt;
  const mode = modeOf(waiter);
  for (const x of chain.queue) {
    if (x === waiter) return true;
    if (x.queuedAt === at && conflicts(modeOf(x), mode)) return false;
  }
  return true;
}

/**
 * True when `waiter` sleeps on a holder of the row (and wakes when it ends):
 * it holds its version's tuple lock, or needs none (a chain follower, or a
 * share holder upgrading); false when it queues for a tuple lock.
 */
export function sleeping(chain: RowChain, waiter: Xact): boolean {
  return waiter.queuedAt === null || upgrading(chain, waiter) || holdsTupleLock(chain, waiter);
}

/**
 * After a committed transaction replaced the version some waiters queue at,
 * each in turn gets the tuple lock and finds TM_Updated: it lets go of the
 * tuple lock and follows the update chain on its own (it races from now on,
 * `queuedAt` null), unless it walks the chain holding the tuple lock
 * (`walks`); then those queued behind it at that version stay queued.
 */
function followUpdateChains(chain: RowChain): void {
  const queue = chain.queue;
  for (let i = 0; i < queue.length; i++) {
    const w = queue[i];
    const at = w.queuedAt;
    if (at === null || !superseded(at)) continue;
    let behindWalker = false;
    for (let j = 0; j < i && !behindWalker; j++) behindWalker = queue[j].queuedAt === at;
    if (!behindWalker && !walks(chain, w, at)) w.queuedAt = null;
  }
}

/**
 * Drops `xact`'s lock on `chain` and grants the lock to waiters, as
 * PostgreSQL does (see the rule at the top of this file): first a share
 * holder waiting to upgrade (see `upgrading`) once no other holder is left;
 * then the waiters that were sleeping on the holders (`sleeping`) and no
 * longer conflict with any. One alone gets the row; several race and `pick`
 * chooses, except that share lockers compatible with each other all get it.
 * A waiter that gets the row lets the next in its tuple lock queue go on,
 * which gets the row too if compatible. `waking` hears of each waiter
 * granted the lock, in grant order, and picks among racing ones.
 */
export function release(chain: RowChain, xact: Xact, waking: Waking, keep: RowLockMode | null = null): void {
  const id = keep !== null ? chain.subLockers?.get(xact) : undefined;
  dropLock(chain, xact);
  // ROLLBACK TO of a lock made stronger since the savepoint: the mode held before stays, under the id it was taken with.
  if (keep !== null) {
    grant(chain, xact, keep);
    if (id !== undefined) chain.subLockers!.set(xact, id);
    else chain.subLockers?.delete(xact);
  }
  const queue = chain.queue;
  if (queue.length === 0) return;
  for (const w of queue) {
    if (upgrading(chain, w) && firstConflictingHolder(chain, w, modeOf(w)) === null) {
      take(chain, w, waking);
      return;
    }
  }
  for (;;) {
    followUpdateChains(chain);
    let first: Xact | null = null;
    let free = 0;
    let clash = false;
    for (const w of queue) {
      if (!sleeping(chain, w) || firstConflictingHolder(chain, w, modeOf(w)) !== null) continue;
      if (first !== null) clash ||= queue.some((v) => v !== w && queue.indexOf(v) < queue.indexOf(w) && sleeping(chain, v) && firstConflictingHolder(chain, v, modeOf(v)) === null && conflicts(modeOf(v), modeOf(w)));
      first ??= w;
      free++;
    }
    if (first === null) return;
    // Lockers compatible with each other that wake together all get the row whatever their order; with two that conflict among them, which locks first is a race.
    take(chain, free > 1 && clash ? waking.pickWaiter(queue.filter((w) => sleeping(chain, w) && firstConflictingHolder(chain, w, modeOf(w)) === null)) : first, waking);
  }
}

function take(chain: RowChain, waiter: Xact, waking: Waking): void {
  chain.queue.splice(chain.queue.indexOf(waiter), 1);
  grant(chain, waiter, modeOf(waiter));
  waking.wakeOne(waiter);
}

/** Removes a waiter from the queue (its transaction was aborted while waiting). */
export function leaveQueue(chain: RowChain, xact: Xact): void {
  const i = chain.queue.indexOf(xact);
  if (i >= 0) chain.queue.splice(i, 1);
}

/**
 * The version whose tuple lock `xact` takes when it must wait for `chain`,
 * having seen `seen` (its snapshot's version): that one, unless a committed
 * transaction replaced it since; then the statement follows the update chain
 * to the newest version, and sleeps on its holder without a tuple lock if
 * that holder is replacing it (null), or takes the newest version's tuple
 * lock if it only locked it.
 */
export function queuedVersion(seen: Version | undefined, newest: Version | undefined): Version | null {
  if (newest === undefined || seen === newest) return seen ?? null;
  return newest.xmax !== null ? null : newest;
}
