import { describe, expect, it } from 'vitest';
import { formatResultSet } from '../../src/isolationtester/isolationtester-format.ts';
import { allInterleavings, fewerSwitches, interleavingCount, samplePermutations, sessionSwitches } from '../../src/isolationtester/permutations.ts';
import { parseSpec, stepsByName } from '../../src/isolationtester/spec-parser.ts';

const spec = parseSpec('session a\nstep a1 {x}\nstep a2 {x}\nsession b\nstep b1 {x}\nstep b2 {x}\nsession c\nstep c1 {x}\n');
const sessionOf = (step: string) => stepsByName(spec).get(step)!.session;
const names = (p: readonly { step: string }[]) => p.map((s) => s.step).join(' ');

describe('permutations', () => {
  it('enumerates every interleaving in isolationtester order, keeping each session in order', () => {
    const all = [...allInterleavings(spec)].map(names);
    expect(all).toHaveLength(30);
    expect(interleavingCount(spec)).toBe(30);
    expect(all.slice(0, 4)).toEqual(['a1 a2 b1 b2 c1', 'a1 a2 b1 c1 b2', 'a1 a2 c1 b1 b2', 'a1 b1 a2 b2 c1']);
    expect(new Set(all).size).toBe(30);
  });

  it('samples distinct permutations reproducibly from a seed', () => {
    const a = samplePermutations(spec, 5, 42).map(names);
    expect(a).toEqual(samplePermutations(spec, 5, 42).map(names));
    expect(new Set(a).size).toBe(5);
    expect(a).not.toEqual(samplePermutations(spec, 5, 43).map(names));
    expect(samplePermutations(spec, 100, 1)).toHaveLength(30);
  });

  it('counts session switches and proposes permutations with fewer', () => {
    const p = ['a1', 'b1', 'a2', 'c1', 'b2'].map((step) => ({ step, blockers: [] }));
    expect(sessionSwitches(p, sessionOf)).toBe(4);
    const fewer = fewerSwitches(p, sessionOf).map(names);
    expect(fewer).toEqual(['a1 a2 c1 b1 b2', 'b1 a1 a2 c1 b2', 'a1 a2 b1 c1 b2', 'a1 b1 b2 a2 c1']);
    for (const f of fewerSwitches(p, sessionOf)) expect(sessionSwitches(f, sessionOf)).toBeLessThan(4);
  });
});

describe('formatResultSet (libpq PQprint layout)', () => {
  it('right-aligns numeric columns, left-aligns others, prints NULL and empty as nothing and counts bytes', () => {
    const text = formatResultSet({
      columns: [
        { name: 'id', typeId: 23 },
        { name: 'name', typeId: 25 },
        { name: 'n', typeId: 25 },
        { name: 'amount', typeId: 1700 },
      ],
      rows: [
        ['1', 'zoë', null, '-1.5e3'],
        ['10', '', 'x', '2'],
      ],
    });
    // The same bytes PostgreSQL 15's isolationtester printed for these values.
    expect(text).toBe('id|name|n|amount\n--+----+-+------\n 1|zoë| |-1.5e3\n10|    |x|     2\n(2 rows)\n\n');
    expect(
      formatResultSet({ columns: ['x', 'x', 'e', 'sp', 'big'].map((name) => ({ name, typeId: 25 })), rows: [['1', '2', 'e1', ' 1', 'E1']] }),
    ).toBe('x|x|e |sp|big\n-+-+--+--+---\n1|2|e1| 1|E1 \n(1 row)\n\n');
  });
});
