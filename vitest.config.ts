import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Test layers. `npm run test:unit` runs the quick in-process layers (unit, golden, property);
// `npm test` (scripts/test-all.sh) prepares the machine and runs every project.

// `hotk8s` (how the examples import the library, as a user's program does) is the sources here, as tsconfig.json's
// `paths` make it for tsc and for esbuild when the CLI compiles an example
const SRC = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^hotk8s$/, replacement: `${SRC}index.ts` },
      { find: /^hotk8s\/(assertions|heat)$/, replacement: `${SRC}$1/index.ts` },
    ],
  },
  test: {
    // programs the CLI compiles for the moment of their import load natively, as they do outside the tests
    server: { deps: { external: [/\.hotk8s\.mjs$/] } },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/golden/**/*.test.ts', 'test/property/**/*.test.ts'],
          // a limit against hangs, not a speed check: tests that start child processes (the CLI's bin, a fresh Node
          // for the PKI load check, the Heat validators) took over 5 s on a loaded 2-core machine
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'heat',
          include: ['test/heat/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        // the autoscaling agent as shipped, in child processes, against fake Heat, Keystone, Nova and Kubernetes APIs
        extends: true,
        test: {
          name: 'autoscaling',
          include: ['test/autoscaling/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'bootstrap',
          include: ['test/bootstrap/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      {
        // the local Heat twin: real heat-api and heat-engine over a fake cloud (test/lib/twin.md)
        extends: true,
        test: {
          name: 'twin',
          include: ['test/twin/**/*.test.ts'],
          testTimeout: 1_200_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // real boots under qemu (scripts/vm-image, test/vm/lib/vm.ts)
          name: 'vm',
          include: ['test/vm/**/*.test.ts'],
          exclude: ['test/vm/**/*.slow.test.ts'],
          testTimeout: 3_600_000,
          hookTimeout: 3_600_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // the slow real boot (issue 17 scenario b), not in `npm test`: npm run test:vm-slow
          name: 'vm-slow',
          include: ['test/vm/**/*.slow.test.ts'],
          testTimeout: 3_600_000,
          hookTimeout: 3_600_000,
        },
      },
    ],
  },
});
