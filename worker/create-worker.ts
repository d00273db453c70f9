import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities/index.ts';
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
}

/** A worker with every SyncFlow workflow and activity on one task queue. */
export async function createWorker(config: WorkerConfig): Promise<Worker> {
  installWorkerRuntime();
  const { address, tls, apiKey } = config.connectionOptions;
  const connection = await NativeConnection.connect({
    address,
    ...(tls !== undefined ? { tls } : {}),
    ...(typeof apiKey === 'string' ? { apiKey } : {}),
  });
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    activities: createActivities(config.deps),
    ...(config.workflowBundle ? { workflowBundle: config.workflowBundle } : { workflowsPath }),
    ...config.options,
  });
}
