import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The crash-consistency harness (issue 10): bounded to 5 minutes, run by `npm run test:chaos`
 * and at the end of `npm test`. Its own include/exclude (mergeConfig would concatenate them).
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/**/*.chaos.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 300_000,
  },
});
