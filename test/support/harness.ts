import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { createWorker, type SyncflowWorker as Worker } from '../../worker/create-worker.ts';
import './provided.ts';
import { createPrisma, type Prisma } from '../../db/prisma.ts';

import { installWorkerRuntime } from '../../worker/runtime.ts';

/**
 * Per-file access to the run's real PostgreSQL and Temporal: a Prisma client,
 * a Temporal client, and workers on a task queue of the file's own, so files
 * never pick up each other's tasks.
 */
export interface Harness {
  databaseUrl: string;
  prisma: Prisma;
  client: Client;
  taskQueue: string;
  /** Starts a worker on the harness's task queue; stopped by `close()`. */
  startWorker(): Promise<Worker>;
  close(): Promise<void>;
}

export async function createHarness(name: string): Promise<Harness> {
  installWorkerRuntime();
  const databaseUrl = inject('databaseUrl');
  const address = inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const prisma = createPrisma(databaseUrl);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const taskQueue = `test-${name}-${randomUUID().slice(0, 8)}`;
  const running: Array<{ worker: Worker; done: Promise<void> }> = [];
  return {
    databaseUrl,
    prisma,
    client,
    taskQueue,
    async startWorker() {
      const worker = await createWorker({
        connectionOptions: { address },
        namespace,
        taskQueue,
        deps: { prisma, databaseUrl },
      });
      running.push({ worker, done: worker.run() });
      return worker;
    },
    async close() {
      for (const { worker, done } of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      }
      await connection.close();
      await prisma.$disconnect();
    },
  };
}
