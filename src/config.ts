/** What `lockstep.config.ts` (or `.js`) in the working folder tells the CLI. */
export interface LockstepConfig {
  /** Modules whose `defineScenario` exports every command knows, relative to the config file. */
  readonly scenarios: readonly string[];
}

/**
 * Declares the CLI's configuration, typed.
 *
 * ```ts
 * // lockstep.config.ts
 * import { defineConfig } from 'lockstep';
 * export default defineConfig({ scenarios: ['./test/races/wallet.ts', './test/races/coupon.ts'] });
 * ```
 */
export function defineConfig(config: LockstepConfig): LockstepConfig {
  return config;
}
