import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Interop tests start real peers (OVS, os-ken, tshark): give them time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'tests', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/interop/mininet.test.ts'] } },
      // Mininet's clean-up after a failed run deletes every OVS bridge and foo-ethN link: its tests run alone, after all the others.
      { extends: true, test: { name: 'mininet', include: ['test/interop/mininet.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
