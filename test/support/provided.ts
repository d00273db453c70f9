import 'vitest';

// What the integration global setup hands to every test file (read with `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** The warehouse role (targets): may create schemas of its own, cannot read SyncFlow's tables. */
    warehouseUrl: string;
    /** The throwaway server's superuser, for tests that set up roles. */
    adminDatabaseUrl: string;
    temporalAddress: string;
    temporalNamespace: string;
  }
}
