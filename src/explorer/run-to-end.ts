/**
 * Drives a search written as a generator that yields where a caller may give
 * the event loop a turn, to its end, without yielding: the synchronous form
 * of the same search.
 *
 * ```ts
 * const result = runToEnd(exhaustiveSearch(engine, plan));
 * ```
 */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}
