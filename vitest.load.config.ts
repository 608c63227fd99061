import { defineConfig } from 'vitest/config';

// `npm run test:load`: the 1,000-peer load test alone (not part of `npm test` while it fails).
export default defineConfig({
  test: {
    include: ['test/load/thousand-peers.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
