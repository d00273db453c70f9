import type { Client } from '@temporalio/client';
import type { SecretBox } from '../connectors/secret-box.ts';
import type { Prisma } from '../db/prisma.ts';
import type { ConnectorHealthChecker } from './connector-health.ts';

/** What the API's routes need, created once by the process that serves it. */
export interface ApiDeps {
  prisma: Prisma;
  temporal: Client;
  taskQueue: string;
  /** Seals and opens connections' inline secrets (SYNCFLOW_SECRET_KEY). */
  secrets: SecretBox;
  /** Shared by every route that probes connectors (one bounded pool per connection); made per app when absent. */
  connectorHealth?: ConnectorHealthChecker | undefined;
  /** Shown by /metadata; where the Temporal Web UI is, when known. */
  temporalUiUrl?: string | undefined;
  /**
   * How long a status request waits for the workflow's progress query (default 3 s): with no worker
   * polling, Temporal holds a query until its own deadline, and status must answer from the database.
   */
  progressQueryTimeoutMs?: number | undefined;
  /** How long POST /sync/stop waits for a worker to take the stop before it records a cancellation request (10 s). */
  stopAnswerTimeoutMs?: number | undefined;
  /** How often the event stream polls sync_events, and how often it sends a heartbeat (tests shorten them). */
  eventStream?: { pollMs?: number; heartbeatMs?: number } | undefined;
}
