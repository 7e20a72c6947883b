import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * Errors a user can cause, each a value with one clear sentence. The CLI
 * prints the sentence and exits with code 2, never a stack trace; anything
 * else thrown inside lockstep is a bug and is reported with its stack.
 *
 * ```ts
 * try { explore({ scenario, strategy: 'naiv', isolation: 'read-committed', runs: 100, seed: 1 }); }
 * catch (e) { if (e instanceof LockstepError) console.error(e.message); }
 * ```
 */
export class LockstepError extends Error {
  /** The exit code the CLI gives this error. */
  readonly exitCode: number = 2;
  constructor(sentence: string, options?: { cause?: unknown }) {
    super(sentence, options);
    this.name = 'LockstepError';
    for (let cls: Function = new.target; cls !== Error; cls = Object.getPrototypeOf(cls)) Object.defineProperty(this, brandOf(cls), { value: true });
  }

  /** `instanceof` holds across copies of lockstep (a scenario file may import another copy than the CLI's). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brandOf(this)] === true;
  }
}

/** One registered symbol per class name, marking every instance of it and of its subclasses. */
function brandOf(cls: Function): symbol {
  return Symbol.for(`lockstep.${cls.name}`);
}

/** Bad input: an unknown scenario, strategy or option, a malformed file, an unreachable server. */
export class InputError extends LockstepError {
  constructor(sentence: string, options?: { cause?: unknown }) {
    super(sentence, options);
    this.name = 'InputError';
  }
}

/**
 * A scenario that is not well defined: a statement on an unknown table or
 * column, a seed row of the wrong type or with a duplicate key, an operation
 * without a program in a strategy, a program that threw. Raised when a run
 * starts, naming the scenario and the statement or row.
 */
export class DefinitionError extends LockstepError {
  constructor(sentence: string, options?: { cause?: unknown }) {
    super(sentence, options);
    this.name = 'DefinitionError';
  }
}

/**
 * The world failed under lockstep: the embedded server would not start, a
 * connection to PostgreSQL broke. Not bad input and not a bug in lockstep:
 * one sentence, exit 2.
 */
export class EnvironmentError extends LockstepError {
  constructor(sentence: string, options?: { cause?: unknown }) {
    super(sentence, options);
    this.name = 'EnvironmentError';
  }
}

/**
 * The run was given up because its `AbortSignal` aborted (Ctrl-C, SIGTERM, a
 * caller's deadline): whatever it had opened was released first. The CLI
 * prints one sentence and exits 130 (SIGINT) or 143 (SIGTERM).
 */
export class InterruptedError extends LockstepError {
  /** SIGINT's: 128 + 2. The CLI gives 143 when the signal was SIGTERM. */
  override readonly exitCode: number = 130;
  constructor(sentence = 'Interrupted: lockstep released PostgreSQL and stopped.', options?: { cause?: unknown }) {
    super(sentence, options);
    this.name = 'InterruptedError';
  }
}

/** Throws an `InterruptedError` when `signal` has aborted. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/** A thrown value in words, for a sentence: `TypeError: Cannot read properties of undefined (reading 'x')`. */
export function thrownName(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
  return text.replace(/\.$/, '');
}

/** What went wrong with a file, in words: `no such file`, `permission denied`, `it is a folder`, else the system's code. */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === notRegularFile || code === 'ENXIO') return 'it is not a regular file (a pipe, a device or a socket)';
  if (code === fileTooLarge) return `it is larger than ${inputFileLimitBytes / 2 ** 20} MB, more than lockstep reads as input`;
  return code ?? (e as Error).message;
}

/** Largest counterexample, workload or spec file lockstep reads. */
export const inputFileLimitBytes = 16 * 2 ** 20;
const notRegularFile = 'LOCKSTEP_NOT_REGULAR';
const fileTooLarge = 'LOCKSTEP_TOO_LARGE';

/**
 * Reads a file a user named as input (a counterexample, a workload, a spec),
 * refusing what is not a regular file (a FIFO would block for ever,
 * `/dev/zero` never ends) and what is larger than `inputFileLimitBytes`,
 * without opening a FIFO for a blocking read. Errors carry a `code` that
 * `fileProblem` puts into words.
 */
export function readInputFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: notRegularFile });
    if (stat.size > inputFileLimitBytes) throw Object.assign(new Error('too large'), { code: fileTooLarge });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
