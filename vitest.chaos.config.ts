import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/** The crash-consistency harness (issue 10): bounded to 5 minutes, run by `npm run test:chaos`. */
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['test/**/*.chaos.test.ts'], exclude: ['**/node_modules/**'], testTimeout: 300_000 },
  }),
);
