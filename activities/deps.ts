import type pg from 'pg';
import type { Prisma } from '../db/prisma.ts';
import type { EntityRuntimes } from './entity-runtime.ts';
import type { PageCache } from './page-cache.ts';

/** What activities need from the process that runs them (created once per worker). */
export interface ActivityDeps {
  prisma: Prisma;
  databaseUrl: string;
}

/** A worker process's shared state: a bulk pool, compiled entities, its page cache and its own task queue. */
export interface WorkerContext extends ActivityDeps {
  pool: pg.Pool;
  runtimes: EntityRuntimes;
  pages: PageCache;
  /** The task queue only this worker polls: every stage of a page runs here, next to the page cache. */
  pageQueue: string;
}
