import { xorshift128plusFromState } from 'pure-rand/generator/xorshift128plus';

/** A generator as fast-check's default, `xorshift128plus`, makes it. */
type Generator = ReturnType<typeof xorshift128plusFromState>;

/**
 * A linear map of the generator's 128-bit state over GF(2): for each of the
 * 128 state bits, the four 32-bit words of its image. xorshift128+'s step and
 * so its `jump()` are linear (shifts and exclusive ors), so k jumps are one
 * such map.
 */
type LinearMap = Int32Array;

function applyMap(map: LinearMap, state: readonly number[]): number[] {
  const out = [0, 0, 0, 0];
  for (let w = 0; w < 4; w++) {
    const word = state[w];
    for (let b = 0; b < 32; b++) {
      if (((word >>> b) & 1) === 0) continue;
      const c = (w * 32 + b) * 4;
      out[0] ^= map[c];
      out[1] ^= map[c + 1];
      out[2] ^= map[c + 2];
      out[3] ^= map[c + 3];
    }
  }
  return out;
}

/** `a` after `b`. */
function compose(a: LinearMap, b: LinearMap): LinearMap {
  const out = new Int32Array(512);
  for (let i = 0; i < 128; i++) out.set(applyMap(a, Array.from(b.subarray(i * 4, i * 4 + 4))), i * 4);
  return out;
}

/** jump() as a map: each unit state jumped once. */
function jumpMap(): LinearMap {
  const map = new Int32Array(512);
  for (let i = 0; i < 128; i++) {
    const unit = [0, 0, 0, 0];
    unit[i >> 5] = 1 << (i & 31);
    const g = xorshift128plusFromState(unit);
    g.jump();
    map.set(g.getState(), i * 4);
  }
  return map;
}

/** `powers[i]`: 2^i jumps. */
const powers: LinearMap[] = [];

function power(i: number): LinearMap {
  while (powers.length <= i) powers.push(powers.length === 0 ? jumpMap() : compose(powers[powers.length - 1], powers[powers.length - 1]));
  return powers[i];
}

/**
 * The generator `k` jumps after `rng` (which is left as it was), in about
 * log2(k) steps rather than k: how a part of an exploration starting at run
 * i reaches run i's generator without jumping over every run before it.
 */
export function jumpedAhead(rng: Generator, k: number): Generator {
  if (k < 16) {
    const g = rng.clone();
    for (let j = 0; j < k; j++) g.jump();
    return g;
  }
  let state = rng.getState();
  for (let i = 0; k > 0; i++, k = Math.floor(k / 2)) if (k % 2 === 1) state = applyMap(power(i), state);
  return xorshift128plusFromState(state);
}
