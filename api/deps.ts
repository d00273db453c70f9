import type { Client } from '@temporalio/client';
import type { Prisma } from '../db/prisma.ts';

/** What the API's routes need, created once by the process that serves it. */
export interface ApiDeps {
  prisma: Prisma;
  temporal: Client;
  taskQueue: string;
  /** Shown by /metadata; where the Temporal Web UI is, when known. */
  temporalUiUrl?: string | undefined;
}
