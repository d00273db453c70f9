import type { Prisma } from '../db/prisma.ts';

/** What activities need from the process that runs them (created once per worker). */
export interface ActivityDeps {
  prisma: Prisma;
  databaseUrl: string;
}
