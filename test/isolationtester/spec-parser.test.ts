import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseSpec } from '../../src/isolationtester/spec-parser.ts';

const parseError = (text: string) => {
  try {
    parseSpec(text, 'x.spec');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('parsed');
};

describe('parseSpec', () => {
  it('reads setup blocks, teardown, sessions with setup, steps and teardown, and permutations with markers', () => {
    const spec = parseSpec(
      [
        '# a comment',
        'setup { CREATE TABLE t (id int); }',
        'setup',
        '{',
        '  INSERT INTO t VALUES (1);',
        '}',
        'teardown { DROP TABLE t; }  # trailing comment',
        'session "first session"',
        'setup { BEGIN; }',
        'step s1a { SELECT 1; SELECT 2; }',
        'step "s1 b" { SELECT \'x\' }',
        'teardown { COMMIT; }',
        'session s2',
        'step s2a\t{ SELECT 3; }',
        'permutation s1a(*) "s1 b" s2a("s1 b", s1a notices 2)',
        'permutation "s1 b" s2a s1a',
      ].join('\n'),
    );
    expect(spec.setup).toEqual(['CREATE TABLE t (id int);', '\n  INSERT INTO t VALUES (1);\n']);
    expect(spec.teardown).toBe('DROP TABLE t;');
    expect(spec.sessions.map((s) => [s.name, s.setup, s.teardown, s.steps.map((st) => [st.name, st.sql])])).toEqual([
      ['first session', 'BEGIN;', 'COMMIT;', [['s1a', 'SELECT 1; SELECT 2;'], ['s1 b', "SELECT 'x'"]]],
      ['s2', undefined, undefined, [['s2a', 'SELECT 3;']]],
    ]);
    expect(spec.permutations).toEqual([
      {
        line: 15,
        steps: [
          { step: 's1a', blockers: [{ kind: 'once' }] },
          { step: 's1 b', blockers: [] },
          { step: 's2a', blockers: [{ kind: 'step', step: 's1 b' }, { kind: 'step', step: 's1a', notices: 2 }] },
        ],
      },
      { line: 16, steps: ['s1 b', 's2a', 's1a'].map((step) => ({ step, blockers: [] })) },
    ]);
  });

  it('names the line and column of a syntax error', () => {
    // A SQL block ends at the first "}", as in isolationtester.
    expect(parseError("session s1\nstep s1a { SELECT '}'; }\n")).toBe('x.spec line 2, column 21: syntax error: unexpected character "\'".');
    expect(parseError('session s1\nstep s1a { SELECT 1; }\npermutation s1a(\n')).toBe('x.spec line 4, column 1: syntax error: expected a step name or * in the markers of s1a, found the end of the file.');
    expect(parseError('setup { SELECT 1; }\n')).toBe('x.spec line 2, column 1: syntax error: expected "session", found the end of the file.');
    expect(parseError('session s1\nstep s1a { SELECT 1; }\n  ; \n')).toBe('x.spec line 3, column 3: syntax error: unexpected character ";".');
    expect(parseError('session "s1\nstep s1a { SELECT 1; }\n')).toBe('x.spec line 1, column 9: syntax error: a quoted name ends at the end of the line; close it with ".');
    expect(parseError('session s1\nsetup { BEGIN; }\n')).toBe('x.spec line 3, column 1: syntax error: expected "step": session s1 needs at least one step, found the end of the file.');
    expect(parseError('session step\n')).toBe('x.spec line 1, column 9: syntax error: expected a session name after "session", found "step".');
  });

  it('rejects duplicate names, unknown steps and impossible markers in one sentence', () => {
    expect(parseError('session s1\nstep a { SELECT 1; }\nsession s1\nstep b { SELECT 1; }\n')).toBe('x.spec: session name "s1" is used twice; session names must be unique.');
    expect(parseError('session s1\nstep a { SELECT 1; }\nsession s2\nstep b { SELECT 1; }\npermutation a b(c)\n')).toBe(
      'x.spec: permutation 1 (line 5) makes step b wait for "c", which is not a step of this permutation.',
    );
  });
});
