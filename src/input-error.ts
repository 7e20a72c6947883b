/**
 * Bad input from a user: a value with one clear sentence. The CLI prints the
 * sentence and exits with code 2, never a stack trace.
 */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(sentence: string) {
    super(sentence);
    this.name = 'InputError';
  }
}
