import { xorshift128plus } from 'pure-rand/generator/xorshift128plus';
import { describe, expect, it } from 'vitest';
import { jumpedAhead } from '../../src/explorer/jump-ahead.ts';

describe("jumpedAhead: k jumps of fast-check's generator in log steps", () => {
  for (const seed of [1, -5, 123_456_789, 2 ** 31 - 1]) {
    it(`seed ${seed}: the state of k jumps one by one, for k from 0 to 20,000`, () => {
      for (const k of [0, 1, 15, 16, 17, 100, 513, 4096, 20_000]) {
        const oneByOne = xorshift128plus(seed);
        for (let i = 0; i < k; i++) oneByOne.jump();
        const start = xorshift128plus(seed);
        const ahead = jumpedAhead(start, k);
        expect(ahead.getState()).toEqual(oneByOne.getState());
        expect([ahead.next(), ahead.next()]).toEqual([oneByOne.next(), oneByOne.next()]);
        expect(start.getState()).toEqual(xorshift128plus(seed).getState());
      }
    });
  }
});
