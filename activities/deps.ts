import type pg from 'pg';
import type { SecretBox } from '../connectors/secret-box.ts';
import type { Prisma } from '../db/prisma.ts';
import type { EntityRuntimes } from './entity-runtime.ts';
import type { PageCache } from './page-cache.ts';

/** What activities need from the process that runs them (created once per worker). */
export interface ActivityDeps {
  prisma: Prisma;
  /** SyncFlow's own database (control tables, bulk paths); never a source or target. */
  databaseUrl: string;
  /** Opens the sealed secrets of connections (SYNCFLOW_SECRET_KEY). */
  secrets: SecretBox;
  /** Dead letters one background retry pass replays per entity at most (SYNCFLOW_RETRY_MAX_PER_ENTITY; 50). */
  retryMaxPerEntity?: number;
}

/** A worker process's shared state: a bulk pool, compiled entities, its page cache and its own task queue. */
export interface WorkerContext extends ActivityDeps {
  pool: pg.Pool;
  runtimes: EntityRuntimes;
  pages: PageCache;
  /** The task queue only this worker polls: every stage of a page runs here, next to the page cache. */
  pageQueue: string;
}
