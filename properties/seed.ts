/** The fast-check seed of the property suites: fixed so CI is reproducible, `LOCKSTEP_SEED=n` to explore other runs. */
export const propertySeed = Number(process.env.LOCKSTEP_SEED ?? 1);

/** Multiplies the number of runs of every property (`LOCKSTEP_RUNS_FACTOR=10` for a long soak). */
export const runsFactor = Number(process.env.LOCKSTEP_RUNS_FACTOR ?? 1);
