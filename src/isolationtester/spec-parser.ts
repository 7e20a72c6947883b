import { InputError } from '../errors.ts';

/**
 * A schedule spec in PostgreSQL's isolationtester format: global setup and
 * teardown SQL, sessions with their own setup, steps and teardown, and
 * optional permutation lines.
 *
 * ```
 * setup { CREATE TABLE accounts (id int PRIMARY KEY, balance int); }
 * teardown { DROP TABLE accounts; }
 * session s1
 * step s1r { SELECT balance FROM accounts WHERE id = 1; }
 * session s2
 * step s2w { UPDATE accounts SET balance = 0 WHERE id = 1; }
 * permutation s1r s2w
 * ```
 */
export interface Spec {
  /** Each `setup { … }` block, run in order on the control connection. */
  readonly setup: readonly string[];
  readonly teardown: string | undefined;
  readonly sessions: readonly SpecSession[];
  /** The `permutation` lines; empty when every interleaving is to be run. */
  readonly permutations: readonly SpecPermutation[];
}

export interface SpecSession {
  readonly name: string;
  readonly setup: string | undefined;
  readonly steps: readonly SpecStep[];
  readonly teardown: string | undefined;
}

export interface SpecStep {
  readonly name: string;
  /** The SQL as isolationtester prints it: spaces after `{` and before `}` trimmed, newlines kept. */
  readonly sql: string;
  readonly session: string;
  readonly line: number;
}

/** A step of a permutation line and the markers that make it be reported as waiting. */
export interface PermutationStep {
  readonly step: string;
  readonly blockers: readonly Blocker[];
}

/**
 * `(*)`: report the step as waiting as soon as it is sent; `(other)`: as long
 * as step `other` has not been reported complete; `(other notices N)`: until
 * `other`'s session has sent N more notices.
 */
export type Blocker = { readonly kind: 'once' } | { readonly kind: 'step'; readonly step: string; readonly notices?: number };

export interface SpecPermutation {
  readonly steps: readonly PermutationStep[];
  readonly line: number;
}

type Token =
  | { kind: 'word'; text: string; quoted: boolean; line: number; column: number }
  | { kind: 'sql'; text: string; line: number; column: number }
  | { kind: 'punct'; text: '(' | ')' | ',' | '*'; line: number; column: number }
  | { kind: 'number'; text: string; line: number; column: number }
  | { kind: 'end'; line: number; column: number };

const keywords = new Set(['setup', 'teardown', 'session', 'step', 'permutation']);

/**
 * Parses a spec file's text. A syntax error is an `InputError` naming the
 * line and column; so are a duplicate step or session name, an unknown step
 * in a permutation and a blocker marker naming a step it cannot wait for.
 *
 * ```ts
 * const spec = parseSpec(readFileSync('lost-update.spec', 'utf8'), 'lost-update.spec');
 * ```
 */
export function parseSpec(text: string, file = 'spec'): Spec {
  const tokens = new Tokens(tokenize(text, file), file);
  const setup: string[] = [];
  while (tokens.isKeyword('setup')) {
    tokens.next();
    setup.push(tokens.sql('after "setup"'));
  }
  let teardown: string | undefined;
  if (tokens.isKeyword('teardown')) {
    tokens.next();
    teardown = tokens.sql('after "teardown"');
  }
  const sessions: SpecSession[] = [];
  while (tokens.isKeyword('session')) sessions.push(parseSession(tokens));
  if (sessions.length === 0) tokens.fail(tokens.isKeyword('setup') ? 'expected "session" (every "setup" block comes before "teardown")' : 'expected "session"');
  const permutations: SpecPermutation[] = [];
  while (tokens.isKeyword('permutation')) permutations.push(parsePermutation(tokens));
  if (tokens.peek().kind !== 'end') tokens.fail(permutations.length > 0 ? 'expected "permutation" or the end of the file' : 'expected "session", "permutation" or the end of the file');
  const spec: Spec = { setup, teardown, sessions, permutations };
  checkNames(spec, file);
  return spec;
}

function parseSession(tokens: Tokens): SpecSession {
  tokens.next();
  const name = tokens.name('a session name after "session"');
  let setup: string | undefined;
  if (tokens.isKeyword('setup')) {
    tokens.next();
    setup = tokens.sql('after "setup"');
  }
  const steps: SpecStep[] = [];
  while (tokens.isKeyword('step')) {
    const line = tokens.next().line;
    const stepName = tokens.name('a step name after "step"');
    steps.push({ name: stepName, sql: tokens.sql(`to start the SQL of step ${stepName}`), session: name, line });
  }
  if (steps.length === 0) tokens.fail(`expected "step": session ${name} needs at least one step`);
  let teardown: string | undefined;
  if (tokens.isKeyword('teardown')) {
    tokens.next();
    teardown = tokens.sql('after "teardown"');
  }
  return { name, setup, steps, teardown };
}

function parsePermutation(tokens: Tokens): SpecPermutation {
  const line = tokens.next().line;
  const steps: PermutationStep[] = [];
  while (tokens.peek().kind === 'word' && !tokens.isKeyword('permutation')) {
    const step = tokens.name('a step name');
    const blockers: Blocker[] = [];
    if (tokens.isPunct('(')) {
      tokens.next();
      for (;;) {
        if (tokens.isPunct('*')) {
          tokens.next();
          blockers.push({ kind: 'once' });
        } else {
          const other = tokens.name(`a step name or * in the markers of ${step}`);
          if (tokens.isKeyword('notices')) {
            tokens.next();
            const count = tokens.peek();
            if (count.kind !== 'number') tokens.fail(`expected a number of notices after "notices"`);
            tokens.next();
            blockers.push({ kind: 'step', step: other, notices: Number(count.text) });
          } else {
            blockers.push({ kind: 'step', step: other });
          }
        }
        if (tokens.isPunct(',')) {
          tokens.next();
          continue;
        }
        if (!tokens.isPunct(')')) tokens.fail(`expected "," or ")" in the markers of ${step}`);
        tokens.next();
        break;
      }
    }
    steps.push({ step, blockers });
  }
  if (steps.length === 0) tokens.fail('expected a step name after "permutation"');
  return { steps, line };
}

function checkNames(spec: Spec, file: string): void {
  const sessions = new Set<string>();
  const steps = new Map<string, SpecStep>();
  for (const session of spec.sessions) {
    if (sessions.has(session.name)) throw new InputError(`${file}: session name "${session.name}" is used twice; session names must be unique.`);
    sessions.add(session.name);
    for (const step of session.steps) {
      const first = steps.get(step.name);
      if (first) throw new InputError(`${file}: step name "${step.name}" is used twice (lines ${first.line} and ${step.line}); step names must be unique.`);
      steps.set(step.name, step);
    }
  }
  spec.permutations.forEach((permutation, i) => {
    const where = `${file}: permutation ${i + 1} (line ${permutation.line})`;
    const named = new Set(permutation.steps.map((p) => p.step));
    for (const p of permutation.steps) {
      const step = steps.get(p.step);
      if (!step) throw new InputError(`${where} names an unknown step "${p.step}".`);
      for (const b of p.blockers) {
        if (b.kind === 'once') continue;
        if (!named.has(b.step)) throw new InputError(`${where} makes step ${p.step} wait for "${b.step}", which is not a step of this permutation.`);
        if (steps.get(b.step)!.session === step.session) throw new InputError(`${where} makes step ${p.step} wait for ${b.step} of its own session ${step.session}.`);
      }
    }
  });
}

/** The session of every step, by step name. */
export function stepsByName(spec: Spec): Map<string, SpecStep> {
  return new Map(spec.sessions.flatMap((s) => s.steps.map((step) => [step.name, step] as const)));
}

/** The token stream, read lazily so that the first error in the file is the one reported. */
class Tokens {
  private current: Token;
  constructor(
    private readonly source: Iterator<Token>,
    private readonly file: string,
  ) {
    this.current = source.next().value as Token;
  }

  peek(): Token {
    return this.current;
  }

  next(): Token {
    const t = this.current;
    if (t.kind !== 'end') this.current = this.source.next().value as Token;
    return t;
  }

  isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && !t.quoted && t.text === word;
  }

  isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }

  name(what: string): string {
    const t = this.peek();
    if (t.kind !== 'word' || (!t.quoted && keywords.has(t.text))) this.fail(`expected ${what}`);
    this.next();
    return (t as { text: string }).text;
  }

  sql(what: string): string {
    const t = this.peek();
    if (t.kind !== 'sql') this.fail(`expected "{" ${what}`);
    this.next();
    return (t as { text: string }).text;
  }

  fail(expected: string): never {
    const t = this.peek();
    throw new InputError(`${this.file} line ${t.line}, column ${t.column}: syntax error: ${expected}, found ${describe(t)}.`);
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the file';
    case 'sql':
      return 'a { SQL } block';
    default:
      return `"${t.text}"`;
  }
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\f';

function* tokenize(text: string, file: string): Generator<Token> {
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const fail = (at: number, atLine: number, atLineStart: number, message: string): never => {
    throw new InputError(`${file} line ${atLine}, column ${at - atLineStart + 1}: syntax error: ${message}.`);
  };
  while (i < text.length) {
    const c = text[i];
    const column = i - lineStart + 1;
    if (c === '\n') {
      line++;
      i++;
      lineStart = i;
    } else if (isSpace(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{') {
      const open = { line, column };
      i++;
      while (i < text.length && isSpace(text[i])) i++;
      const start = i;
      while (i < text.length && text[i] !== '}') {
        if (text[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      if (i >= text.length) throw new InputError(`${file} line ${open.line}, column ${open.column}: syntax error: the SQL block opened here is never closed with "}".`);
      let end = i;
      while (end > start && isSpace(text[end - 1])) end--;
      i++;
      yield { kind: 'sql', text: text.slice(start, end), ...open };
    } else if (c === '"') {
      const start = i;
      const startLineStart = lineStart;
      i++;
      let name = '';
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') fail(start, line, startLineStart, 'a quoted name ends at the end of the line; close it with "');
        name += text[i++];
      }
      if (i >= text.length) fail(start, line, startLineStart, 'a quoted name is never closed with "');
      i++;
      yield { kind: 'word', text: name, quoted: true, line, column };
    } else if (/[A-Za-z_\x80-\uffff]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_\x80-\uffff]/.test(text[i])) i++;
      yield { kind: 'word', text: text.slice(start, i), quoted: false, line, column };
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < text.length && /[0-9]/.test(text[i])) i++;
      yield { kind: 'number', text: text.slice(start, i), line, column };
    } else if (c === '(' || c === ')' || c === ',' || c === '*') {
      i++;
      yield { kind: 'punct', text: c, line, column };
    } else {
      fail(i, line, lineStart, `unexpected character "${c}"`);
    }
  }
  yield { kind: 'end', line, column: i - lineStart + 1 };
}
