import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';

export type Prisma = PrismaClient;

/**
 * Prisma for SyncFlow's control tables, through the pg driver adapter (the
 * engine-less "client" engine: nothing to download). Bulk paths (COPY,
 * streamed reads) use `pg` directly on the same database: see db/pg.ts.
 */
export function createPrisma(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}
