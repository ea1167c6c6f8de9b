import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Interop tests start real peers (OVS, os-ken, tshark): give them time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
