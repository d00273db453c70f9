import type { TestProject } from 'vitest/node';
import './provided.ts';
import { startInfrastructure } from '../../infra/index.ts';
import { searchAttributeKeys } from '../../workflows/search-attributes.ts';

/**
 * Integration tests run against real parts: a throwaway embedded PostgreSQL
 * (migrated with `prisma migrate deploy`) and an in-memory Temporal dev server,
 * both on free ports, started once for the whole run.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const infra = await startInfrastructure({
    throwaway: true,
    searchAttributes: searchAttributeKeys,
    log: (m) => console.log(`[setup] ${m}`),
  });
  console.log(
    `[setup] PostgreSQL ${infra.database.url}, Temporal ${infra.temporal.address} (${Date.now() - started} ms)`,
  );
  project.provide('databaseUrl', infra.database.url);
  project.provide('warehouseUrl', infra.database.warehouseUrl);
  project.provide('adminDatabaseUrl', infra.database.adminUrl ?? infra.database.url);
  project.provide('temporalAddress', infra.temporal.address);
  project.provide('temporalNamespace', infra.temporal.namespace);
  return async () => {
    await infra.stop();
  };
}
