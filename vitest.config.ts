import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The crash harness runs on its own (npm run test:chaos; .ci/run runs both).
    exclude: ['**/node_modules/**', 'test/**/*.chaos.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Network-namespace and nftables suites change kernel state: run files one at a time.
    fileParallelism: false,
    expect: { requireAssertions: true },
    reporters: ['default'],
  },
});
