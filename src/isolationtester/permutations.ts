import fc from 'fast-check';
import type { PermutationStep, Spec } from './spec-parser.ts';

/** One schedule of a spec: the steps in the order they are sent, with their markers. */
export type Permutation = readonly PermutationStep[];

/**
 * Every interleaving of the sessions' steps that keeps each session's order,
 * in isolationtester's order (the first session's next step first), lazily.
 *
 * ```ts
 * [...allInterleavings(spec)].length; // 6 for two sessions of two steps
 * ```
 */
export function* allInterleavings(spec: Spec): Generator<Permutation> {
  const piles = spec.sessions.map((s) => s.steps.map((step) => step.name));
  const taken = piles.map(() => 0);
  const order: PermutationStep[] = [];
  function* recurse(): Generator<Permutation> {
    let found = false;
    for (let s = 0; s < piles.length; s++) {
      if (taken[s] >= piles[s].length) continue;
      found = true;
      order.push({ step: piles[s][taken[s]], blockers: [] });
      taken[s]++;
      yield* recurse();
      taken[s]--;
      order.pop();
    }
    if (!found) yield [...order];
  }
  yield* recurse();
}

/** How many interleavings `allInterleavings` yields: the multinomial coefficient of the sessions' step counts. */
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

/**
 * `n` different permutations drawn reproducibly from `seed`: from the spec's
 * permutation lines when it has some, else uniformly among all interleavings
 * (the next session is drawn with odds proportional to its remaining steps).
 * Asking for at least as many as there are returns them all, in order.
 */
export function samplePermutations(spec: Spec, n: number, seed: number): Permutation[] {
  const named = spec.permutations.length > 0;
  const total = named ? spec.permutations.length : interleavingCount(spec);
  if (n >= total) return [...specPermutations(spec)];
  const length = named ? 1 : spec.sessions.reduce((a, s) => a + s.steps.length, 0);
  // fast-check's seeded generator, without its bias towards small values.
  const draws = fc.sample(fc.noBias(fc.array(fc.integer({ min: 0, max: 2 ** 30 }), { minLength: length, maxLength: length })), { seed, numRuns: n * 20 });
  const chosen = new Map<string, Permutation>();
  for (const numbers of draws) {
    if (chosen.size >= n) break;
    let next = 0;
    const draw = (max: number): number => numbers[next++] % (max + 1);
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
    if (!chosen.has(key)) chosen.set(key, p);
  }
  return [...chosen.values()];
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
