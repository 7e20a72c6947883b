import { conflictingHolders } from './row-lock.ts';
import type { Xact } from './xact.ts';

/** The transactions `xact` is waiting for: holders of the row lock it wants, or the transaction whose end it awaits. */
export function waitsFor(xact: Xact): Xact[] {
  const wait = xact.wait;
  if (wait === null) return [];
  return wait.kind === 'row' ? conflictingHolders(wait.chain, xact, wait.mode) : [wait.xact];
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
