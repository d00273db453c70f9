import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { EntityRuntimes } from '../activities/entity-runtime.ts';
import { type ActivityDeps, createPageActivities, createSharedActivities } from '../activities/index.ts';
import { PageCache } from '../activities/page-cache.ts';
import { SharedRateLimits } from '../activities/shared-rate-limits.ts';
import { createPool } from '../connectors/postgres/pool.ts';
import { failureInterceptors } from './failure-interceptor.ts';
import { installWorkerRuntime } from './runtime.ts';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerConfig {
  connectionOptions: ConnectionOptions;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per run); default: bundle workflowsPath. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  options?: Partial<WorkerOptions>;
  /** The SDK's worker metrics on 127.0.0.1:<port>/metrics (once per process; absent or 0 = off). */
  metricsPort?: number;
}

export type WorkerState = 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'DRAINING' | 'DRAINED' | 'STOPPED' | 'FAILED';

/** One SyncFlow worker process: what callers start, stop and wait for. */
export interface SyncflowWorker {
  /** The task queue only this process polls (page stages). */
  readonly pageQueue: string;
  run(): Promise<void>;
  shutdown(): void;
  getState(): WorkerState;
}

/**
 * A SyncFlow worker is two Temporal workers in one process, sharing one
 * connection: one on the shared task queue (workflows, batch lifecycle,
 * deletes, child release) and one on a queue of its own for the page stages,
 * so a page's rows stay in this process's memory between stages (the
 * samples-typescript "worker-specific task queues" pattern).
 */
export async function createWorker(config: WorkerConfig): Promise<SyncflowWorker> {
  installWorkerRuntime(undefined, config.metricsPort);
  const { address, tls, apiKey } = config.connectionOptions;
  const connection = await NativeConnection.connect({
    address,
    ...(tls !== undefined ? { tls } : {}),
    ...(typeof apiKey === 'string' ? { apiKey } : {}),
  });
  const pageQueue = `${config.taskQueue}-worker-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const pool = createPool(config.deps.databaseUrl, 8);
  const ctx = {
    ...config.deps,
    pool,
    // rpmCap holds across every worker process: the buckets live in SyncFlow's own database.
    runtimes: new EntityRuntimes({ ...config.deps, rateLimiter: new SharedRateLimits(pool) }),
    pages: new PageCache(),
    pageQueue,
  };
  // Heartbeats carry cancellation: flush them every second (not 80 % of the heartbeatTimeout) so a stop
  // reaches a running activity within about a second (activities/heartbeat.ts).
  const maxHeartbeatThrottleInterval = '1 second';
  // Every activity's error becomes a retry decision at the boundary (type, nonRetryable, Retry-After).
  const interceptors = { activity: [failureInterceptors] };
  const shared = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities: createSharedActivities(ctx),
    maxHeartbeatThrottleInterval,
    interceptors,
    ...(config.workflowBundle ? { workflowBundle: config.workflowBundle } : { workflowsPath }),
    ...config.options,
  });
  const pages = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: pageQueue,
    activities: createPageActivities(ctx),
    maxConcurrentActivityTaskExecutions: 8,
    maxHeartbeatThrottleInterval,
    interceptors,
  });
  const workers = [shared, pages];
  return {
    pageQueue,
    async run() {
      try {
        await Promise.all(
          workers.map((w) =>
            w.run().catch((error) => {
              // One failing half stops the other: a worker without its page queue must not take workflows.
              for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
              throw error;
            }),
          ),
        );
      } finally {
        await ctx.runtimes.closeAll();
        await ctx.pool.end().catch(() => {});
        await connection.close().catch(() => {});
      }
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    getState() {
      return shared.getState();
    },
  };
}
