import { defineConfig } from 'vitest/config';

// Test layers. `npm run test:unit` runs the quick in-process layers (unit, golden, property);
// `npm test` (scripts/test-all.sh) prepares the machine and runs every project.
export default defineConfig({
  test: {
    // programs the CLI compiles for the moment of their import load natively, as they do outside the tests
    server: { deps: { external: [/\.hotk8s\.mjs$/] } },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/golden/**/*.test.ts', 'test/property/**/*.test.ts'],
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
    ],
  },
});
