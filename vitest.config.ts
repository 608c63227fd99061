import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    maxWorkers: 2,
    hookTimeout: 60_000,
    // the JSON report feeds the closing "N passed, N failed" line of .ci/run
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
