import 'vitest';

// What the workflows project's global setup hands to every test file (read with `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    /** The time-skipping test server's executable (scripts/ensure-test-server.ts). */
    testServerPath: string;
    /** The workflow bundle of workers/create-worker.ts's workflowsPath, built once per run. */
    workflowBundleCode: string;
  }
}
