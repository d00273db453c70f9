import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app.ts';
import { listen } from '../api/serve.ts';
import { createSecretBox } from '../connectors/secret-box.ts';
import { ensureRetrySchedule } from '../control/schedules.ts';
import { createPrisma } from '../db/prisma.ts';
import { logger } from '../log/logger.ts';
import { runMain } from './lifecycle.ts';
import { connectToExisting } from './standalone.ts';

/** `npm run start:api`: the control API alone. */
await runMain(async (onShutdown) => {
  const { env, databaseUrl, temporal } = await connectToExisting('API');
  const prisma = createPrisma(databaseUrl);
  onShutdown(() => prisma.$disconnect());
  const connection = await Connection.connect(temporal.connectionOptions);
  onShutdown(() => connection.close());
  const client = new Client({ connection, namespace: temporal.namespace });
  await ensureRetrySchedule(client, env.TEMPORAL_TASK_QUEUE, env.SYNCFLOW_RETRY_EVERY_MINUTES);
  const server = await listen(
    createApp({
      prisma,
      temporal: client,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      secrets: createSecretBox(env.SYNCFLOW_SECRET_KEY),
    }),
    env.HOST,
    env.PORT,
  );
  onShutdown(() => server.close());
  logger('api').info({ url: `${server.url}/api/v1` }, 'API listening');
  // The operator's sign that it is up, on stdout; the log line above is on stderr.
  console.log(`SyncFlow API on ${server.url}/api/v1 (docs: ${server.url}/api/v1/docs).`);
});
