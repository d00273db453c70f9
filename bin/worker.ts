import { createSecretBox } from '../connectors/secret-box.ts';
import { createPrisma } from '../db/prisma.ts';
import { logger } from '../log/logger.ts';
import { createWorker } from '../worker/create-worker.ts';
import { runMain } from './lifecycle.ts';
import { connectToExisting } from './standalone.ts';

/**
 * `npm run start:worker`: one worker process; run as many as the load needs, on any machines.
 *
 * Started with an IPC channel, it is `npm start`'s worker child (bin/worker-child.ts): the parent has
 * applied the migrations and prints the start-up lines, the worker sends `{ ready: true }` once it
 * polls, and it shuts down (draining) when the channel closes, i.e. when its parent is gone, even
 * by SIGKILL.
 */
const supervised = process.send !== undefined;

await runMain(
  async (onShutdown, shutdown) => {
    if (supervised) {
      process.once('disconnect', () => {
        shutdown('npm start is gone');
        // Draining needs Temporal; should it be gone too, do not linger.
        setTimeout(() => process.exit(1), 30_000).unref();
      });
    }
    const { env, databaseUrl, temporal } = await connectToExisting('worker', { migrate: !supervised });
    const prisma = createPrisma(databaseUrl);
    onShutdown(() => prisma.$disconnect());
    const worker = await createWorker({
      connectionOptions: temporal.connectionOptions,
      namespace: temporal.namespace,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      metricsPort: env.TEMPORAL_WORKER_METRICS_PORT,
      deps: {
        prisma,
        databaseUrl,
        secrets: createSecretBox(env.SYNCFLOW_SECRET_KEY),
        retryMaxPerEntity: env.SYNCFLOW_RETRY_MAX_PER_ENTITY,
      },
    });
    const done = worker.run();
    onShutdown(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    });
    logger('worker').info(
      {
        address: temporal.address,
        namespace: temporal.namespace,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        pageQueue: worker.pageQueue,
      },
      'worker polling',
    );
    if (supervised) {
      process.send?.({ ready: true });
    } else {
      // The operator's (and the test harness's) sign that it is up, on stdout; the log line above is on stderr.
      console.log(
        `SyncFlow worker polling ${temporal.address} (namespace ${temporal.namespace}, task queue ${env.TEMPORAL_TASK_QUEUE}).`,
      );
    }
    await done;
  },
  { quiet: supervised },
);
