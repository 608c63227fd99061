import { defineConfig } from 'vitest/config';

// `npm run test:load`: the 1,000-peer load test alone (it is also part of `npm test`), for profiling
// with the TERN_LOAD_* knobs described in the test.
export default defineConfig({
  test: {
    include: ['test/load/thousand-peers.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
