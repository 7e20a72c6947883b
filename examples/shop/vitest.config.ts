import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['races/**/*.test.ts'],
    // Replaying on PostgreSQL may start an embedded server first.
    testTimeout: 120_000,
  },
});
