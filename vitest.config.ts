import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure code, no I/O, runs in seconds), `integration`
// (real PostgreSQL, real Temporal, real HTTP; its global setup starts a
// throwaway embedded PostgreSQL and an in-memory Temporal dev server once) and
// `workflows` (the real workflows on the Java time-skipping test server, mocked activities, simulated time).
export default defineConfig({
  test: {
    // The JSON report is what .ci/run reads to print its `N passed, N failed` line.
    reporters: ['default', 'json'],
    outputFile: { json: '.syncflow/test-results.json' },
    // Expected failures (a refused password, a 429) are logged at warn by the worker: keep the test output to the
    // results. `SYNCFLOW_LOG_LEVEL=info npm test` shows every line again.
    env: { SYNCFLOW_LOG_LEVEL: process.env.SYNCFLOW_LOG_LEVEL ?? 'error' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration files share one PostgreSQL and one Temporal server; each file
          // uses its own task queue and entity names, but running them one at a time
          // keeps the 2-core machine's timings sane.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'workflows',
          include: ['test/workflows/**/*.test.ts'],
          environment: 'node',
          // Finds (or builds and caches) the Java time-skipping test server and bundles the workflows once.
          globalSetup: ['test/workflows/support/global-setup.ts'],
          // Each file runs its own Java test server and workers: one file at a time (next to the integration files)
          // keeps a 2-core machine from starving a server's time skipping past a test's timeout.
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
