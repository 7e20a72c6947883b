import { defineConfig } from 'lockstep';

// The scenarios every `npx lockstep` command run in this folder knows, besides the built-in ones.
export default defineConfig({ scenarios: ['./races/wallet-transfer.ts', './races/coupon-limit.ts'] });
