import 'vitest';

// What the integration global setup hands to every test file (read with `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    temporalNamespace: string;
  }
}
