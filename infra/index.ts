import { type Env, loadEnv } from '../config/env.ts';
import { migrateDatabase } from './migrate.ts';
import { type Database, startDatabase } from './postgres.ts';
import { startTemporal, type TemporalOptions, type TemporalServer } from './temporal.ts';

export { InfraError } from './errors.ts';
export type { Database, TemporalServer };

/**
 * The one place that brings up what SyncFlow runs on, for `npm start`, the
 * tests and the benchmarks: PostgreSQL (migrated) and Temporal, each either
 * given by the environment or embedded.
 */
export interface Infrastructure {
  env: Env;
  database: Database;
  temporal: TemporalServer;
  /** Stops what SyncFlow started, in reverse order. */
  stop(): Promise<void>;
}

export interface InfrastructureOptions {
  /** Throwaway PostgreSQL and in-memory Temporal on free ports (tests, benchmarks). */
  throwaway?: boolean;
  env?: Env;
  /** The workflows' search attributes, registered on Temporal (workflows/search-attributes.ts' searchAttributeKeys). */
  searchAttributes: TemporalOptions['searchAttributes'];
  log?: (message: string) => void;
}

export async function startInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const env = options.env ?? loadEnv();
  const log = options.log ?? (() => {});
  const throwaway = options.throwaway ?? false;
  // Both start in parallel: the dev server takes a few seconds, PostgreSQL about one.
  const [database, temporal] = await Promise.allSettled([
    startDatabase({
      url: throwaway ? undefined : env.DATABASE_URL,
      throwaway,
      port: throwaway ? 0 : env.SYNCFLOW_PG_PORT,
      log,
    }).then(async (db) => {
      await migrateDatabase(db.url);
      return db;
    }),
    startTemporal({
      env: throwaway ? { ...env, TEMPORAL_ADDRESS: undefined } : env,
      searchAttributes: options.searchAttributes,
      throwaway,
      log,
    }),
  ]);
  if (database.status === 'rejected' || temporal.status === 'rejected') {
    if (database.status === 'fulfilled') await database.value.stop();
    if (temporal.status === 'fulfilled') await temporal.value.stop();
    throw database.status === 'rejected' ? database.reason : (temporal as PromiseRejectedResult).reason;
  }
  return {
    env,
    database: database.value,
    temporal: temporal.value,
    async stop() {
      await temporal.value.stop();
      await database.value.stop();
    },
  };
}
