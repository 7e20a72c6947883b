import type { PermutationStep, Spec } from './spec-parser.ts';

/** One schedule of a spec: the steps in the order they are sent, with their markers. */
export type Permutation = readonly PermutationStep[];

/**
 * Every interleaving of the sessions' steps that keeps each session's order,
 * in isolationtester's order (the first session's next step first), lazily
 * and without recursion (a session of thousands of steps is one
 * interleaving, not a stack overflow).
 *
 * ```ts
 * [...allInterleavings(spec)].length; // 6 for two sessions of two steps
 * ```
 */
export function* allInterleavings(spec: Spec): Generator<Permutation> {
  const piles = spec.sessions.map((s) => s.steps.map((step) => step.name));
  const total = piles.reduce((a, p) => a + p.length, 0);
  const taken = piles.map(() => 0);
  // chosen[i]: the session whose step is at position i of the current interleaving.
  const chosen: number[] = [];
  const fill = (from: number) => {
    // Complete the interleaving with the lowest session that still has steps, at every position.
    for (let i = from; i < total; i++) {
      const s = taken.findIndex((t, k) => t < piles[k].length);
      chosen.push(s);
      taken[s]++;
    }
  };
  fill(0);
  for (;;) {
    const order: PermutationStep[] = [];
    const at = piles.map(() => 0);
    for (const s of chosen) order.push({ step: piles[s][at[s]++], blockers: [] });
    yield order;
    // Next interleaving: undo positions from the end until one can take a higher session.
    let advanced = false;
    while (chosen.length > 0) {
      const s = chosen.pop()!;
      taken[s]--;
      let next = s + 1;
      while (next < piles.length && taken[next] >= piles[next].length) next++;
      if (next < piles.length) {
        chosen.push(next);
        taken[next]++;
        fill(chosen.length);
        advanced = true;
        break;
      }
    }
    if (!advanced) return;
  }
}

/** How many interleavings `allInterleavings` yields: the multinomial coefficient of the sessions' step counts (a float, Infinity past 1e308). */
export function interleavingCount(spec: Spec): number {
  let total = 0;
  let count = 1;
  for (const session of spec.sessions) {
    for (let k = 1; k <= session.steps.length; k++) count = (count * (total + k)) / k;
    total += session.steps.length;
  }
  return Math.round(count);
}

/** The permutations `--permutations all` runs: the spec's permutation lines, else every interleaving (lazily: there may be millions). */
export function specPermutations(spec: Spec): Iterable<Permutation> {
  return spec.permutations.length > 0 ? spec.permutations.map((p) => p.steps) : allInterleavings(spec);
}

/** How many permutations `specPermutations` yields. */
export function permutationCount(spec: Spec): number {
  return spec.permutations.length > 0 ? spec.permutations.length : interleavingCount(spec);
}

/**
 * `n` different permutations drawn reproducibly from `seed`: from the spec's
 * permutation lines when it has some, else uniformly among all interleavings
 * (the next session is drawn with odds proportional to its remaining steps).
 * Asking for at least as many as there are returns them all, in order.
 */
export function samplePermutations(spec: Spec, n: number, seed: number): Permutation[] {
  return [...permutationSample(spec, n, seed)];
}

/**
 * `samplePermutations`, lazily: each permutation is drawn when asked for, so
 * memory holds only the keys of those already drawn (to skip repeats), and
 * nothing is drawn before the first permutation runs. Gives up after `20 n`
 * draws, as there may be fewer than `n` different ones.
 */
export function* permutationSample(spec: Spec, n: number, seed: number): Generator<Permutation> {
  const named = spec.permutations.length > 0;
  const total = permutationCount(spec);
  if (n >= total) {
    yield* specPermutations(spec);
    return;
  }
  const random = seededRandom(seed);
  const draw = (max: number): number => Math.floor(random() * (max + 1));
  const seen = new Set<string>();
  for (let attempt = 0; attempt < n * 20 && seen.size < n; attempt++) {
    let p: Permutation;
    if (named) {
      p = spec.permutations[draw(total - 1)].steps;
    } else {
      const remaining = spec.sessions.map((s) => s.steps.length);
      const taken = spec.sessions.map(() => 0);
      const order: PermutationStep[] = [];
      let left = remaining.reduce((a, b) => a + b, 0);
      while (left > 0) {
        let pick = draw(left - 1);
        let s = 0;
        while (pick >= remaining[s]) pick -= remaining[s++];
        order.push({ step: spec.sessions[s].steps[taken[s]].name, blockers: [] });
        taken[s]++;
        remaining[s]--;
        left--;
      }
      p = order;
    }
    const key = p.map((s) => s.step).join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    yield p;
  }
}

/** A small seeded generator of numbers in [0, 1) (mulberry32): the same seed, the same draws, on every platform. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many times the permutation moves from one session to another. */
export function sessionSwitches(p: Permutation, sessionOf: (step: string) => string): number {
  let switches = 0;
  for (let i = 1; i < p.length; i++) if (sessionOf(p[i].step) !== sessionOf(p[i - 1].step)) switches++;
  return switches;
}

/**
 * Permutations of the same steps with fewer session switches, each session's
 * order kept: every run of consecutive steps of one session moved to join the
 * next or previous run of the same session. Ordered by fewest switches first.
 * Markers are dropped (the shrunk permutation is run without them).
 */
export function fewerSwitches(p: Permutation, sessionOf: (step: string) => string): Permutation[] {
  const runs: { session: string; steps: PermutationStep[] }[] = [];
  for (const step of p) {
    const session = sessionOf(step.step);
    const last = runs.at(-1);
    if (last && last.session === session) last.steps.push({ step: step.step, blockers: [] });
    else runs.push({ session, steps: [{ step: step.step, blockers: [] }] });
  }
  const candidates = new Map<string, Permutation>();
  const add = (r: typeof runs) => {
    const flat = r.flatMap((run) => run.steps);
    candidates.set(flat.map((s) => s.step).join(' '), flat);
  };
  for (let i = 0; i < runs.length; i++) {
    const later = runs.findIndex((r, j) => j > i && r.session === runs[i].session);
    if (later >= 0) {
      // Move run i later, to just before the next run of its session.
      const moved = runs.filter((_, j) => j !== i);
      moved.splice(later - 1, 0, runs[i]);
      add(moved);
    }
    let earlier = -1;
    for (let j = i - 1; j >= 0; j--) if (runs[j].session === runs[i].session) {
      earlier = j;
      break;
    }
    if (earlier >= 0) {
      // Move run i earlier, to just after the previous run of its session.
      const moved = runs.filter((_, j) => j !== i);
      moved.splice(earlier + 1, 0, runs[i]);
      add(moved);
    }
  }
  const current = sessionSwitches(p, sessionOf);
  return [...candidates.values()]
    .map((c) => ({ c, switches: sessionSwitches(c, sessionOf) }))
    .filter((x) => x.switches < current)
    .sort((a, b) => a.switches - b.switches)
    .map((x) => x.c);
}
