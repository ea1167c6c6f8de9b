import { configDefaults, defineConfig } from 'vitest/config';

// Test files run in parallel, except two kinds that run alone, each after the rest (vitest runs the
// projects of a lower sequence.groupOrder first, and those of one group together):
// - the os-ken switch tester's quick subset: its group and meter cases measure the rate of os-ken's own
//   Python packet generator, which falls short on a loaded machine;
// - Mininet: its clean-up after a failed run deletes every OVS bridge and foo-ethN link.
const ALONE = ['test/interop/ryu-switch-quick.test.ts', 'test/interop/mininet.test.ts'];

export default defineConfig({
  test: {
    // Interop tests start real peers (OVS, os-ken, tshark): give them time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'tests', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...ALONE] } },
      { extends: true, test: { name: 'ryu-switch-quick', include: [ALONE[0]], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'mininet', include: [ALONE[1]], sequence: { groupOrder: 2 } } },
    ],
  },
});
