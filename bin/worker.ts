import { createSecretBox } from '../connectors/secret-box.ts';
import { createPrisma } from '../db/prisma.ts';
import { createWorker } from '../worker/create-worker.ts';
import { runMain } from './lifecycle.ts';
import { connectToExisting } from './standalone.ts';

/** `npm run start:worker`: one worker process; run as many as the load needs, on any machines. */
await runMain(async (onShutdown) => {
  const { env, databaseUrl, temporal } = await connectToExisting('worker');
  const prisma = createPrisma(databaseUrl);
  onShutdown(() => prisma.$disconnect());
  const worker = await createWorker({
    connectionOptions: temporal.connectionOptions,
    namespace: temporal.namespace,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    metricsPort: env.TEMPORAL_WORKER_METRICS_PORT,
    deps: { prisma, databaseUrl, secrets: createSecretBox(env.SYNCFLOW_SECRET_KEY) },
  });
  const done = worker.run();
  onShutdown(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await done;
  });
  console.log(
    `SyncFlow worker polling ${temporal.address} (namespace ${temporal.namespace}, task queue ${env.TEMPORAL_TASK_QUEUE}).`,
  );
  await done;
});
