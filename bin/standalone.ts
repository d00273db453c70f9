import { type Env, loadEnv } from '../config/env.ts';
import { InfraError } from '../infra/errors.ts';
import { migrateDatabase } from '../infra/migrate.ts';
import { checkConnection } from '../infra/postgres.ts';
import { startTemporal, type TemporalServer } from '../infra/temporal.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';

/**
 * The worker and the API started alone (production, where they scale apart)
 * run against an existing database and Temporal: both must be given. Pending
 * migrations are applied unless `migrate: false` (`npm start`'s worker child:
 * its parent has just applied them).
 */
export async function connectToExisting(
  role: string,
  options: { migrate?: boolean } = {},
): Promise<{ env: Env; databaseUrl: string; temporal: TemporalServer }> {
  const env = loadEnv();
  const missing = [!env.DATABASE_URL && 'DATABASE_URL', !env.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS'].filter(Boolean);
  if (missing.length > 0) {
    throw new InfraError(
      `The ${role} started alone needs an existing database and Temporal; ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set.`,
      'Set them (e.g. to a running `npm start`: DATABASE_URL=postgresql://syncflow:syncflow@127.0.0.1:54329/syncflow TEMPORAL_ADDRESS=127.0.0.1:7233), or use `npm start`, which embeds both.',
    );
  }
  const databaseUrl = env.DATABASE_URL!;
  await checkConnection(databaseUrl);
  if (options.migrate ?? true) await migrateDatabase(databaseUrl);
  const temporal = await startTemporal({ env, searchAttributes: searchAttributeKeys });
  return { env, databaseUrl, temporal };
}
