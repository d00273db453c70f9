import type { Client } from '@temporalio/client';
import type { Prisma } from '../db/prisma.ts';

/** What the API's routes need, created once by the process that serves it. */
export interface ApiDeps {
  prisma: Prisma;
  temporal: Client;
  taskQueue: string;
  /** SyncFlow's own database: the default connection of postgres connectors (detailed health). */
  databaseUrl?: string | undefined;
  /** Shown by /metadata; where the Temporal Web UI is, when known. */
  temporalUiUrl?: string | undefined;
  /**
   * How long a status request waits for the workflow's progress query (default 3 s): with no worker
   * polling, Temporal holds a query until its own deadline, and status must answer from the database.
   */
  progressQueryTimeoutMs?: number | undefined;
  /** How often the event stream polls sync_events, and how often it sends a heartbeat (tests shorten them). */
  eventStream?: { pollMs?: number; heartbeatMs?: number } | undefined;
}
