import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app.ts';
import { listen } from '../api/serve.ts';
import { loadEnv } from '../config/env.ts';
import { createSecretBox } from '../connectors/secret-box.ts';
import { ensureRetrySchedule } from '../control/schedules.ts';
import { createPrisma } from '../db/prisma.ts';
import { startDemo } from '../demo/run.ts';
import { startInfrastructure } from '../infra/index.ts';
import { ensureSecretKey } from '../infra/secret-key.ts';
import { createWorker } from '../worker/create-worker.ts';
import { adminKeyFile, ensureAdminKey } from './admin-key.ts';
import { runMain } from './lifecycle.ts';

/**
 * `npm start`: SyncFlow in one process tree on its embedded defaults:
 * PostgreSQL, the Temporal dev server (with its Web UI), one worker and the API.
 */
await runMain(async (onShutdown) => {
  const env = loadEnv();
  console.log('Starting SyncFlow…');
  const infra = await startInfrastructure({ env, log: (m) => console.log(`  ${m}`) });
  onShutdown(() => infra.stop());

  // Seals connections' inline secrets; the worker opens them. Kept in the data folder unless set.
  const secretKey = await ensureSecretKey();
  const secrets = createSecretBox(secretKey.key);
  const prisma = createPrisma(infra.database.url);
  onShutdown(() => prisma.$disconnect());
  const connection = await Connection.connect(infra.temporal.connectionOptions);
  onShutdown(() => connection.close());
  const temporal = new Client({ connection, namespace: infra.temporal.namespace });

  const worker = await createWorker({
    connectionOptions: infra.temporal.connectionOptions,
    namespace: infra.temporal.namespace,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    metricsPort: env.TEMPORAL_WORKER_METRICS_PORT,
    deps: { prisma, databaseUrl: infra.database.url, secrets },
  });
  const workerDone = worker.run();
  onShutdown(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone;
  });

  await ensureRetrySchedule(temporal, env.TEMPORAL_TASK_QUEUE);
  const app = createApp({
    prisma,
    temporal,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    secrets,
    temporalUiUrl: infra.temporal.uiUrl,
  });
  // The admin key: created once, kept in the data dir (0600) and used again by every later start.
  const apiKey = await ensureAdminKey(prisma, adminKeyFile());
  const server = await listen(app, env.HOST, env.PORT);
  onShutdown(() => server.close());

  console.log(`
SyncFlow is up.
  API              ${server.url}/api/v1
  API docs         ${server.url}/api/v1/docs
  Admin API key    ${apiKey.key}   (${apiKey.created ? 'new, ' : ''}stored in ${apiKey.file}; export SYNCFLOW_API_KEY=… for the syncflow CLI)
  Temporal Web UI  ${infra.temporal.uiUrl ?? '(external cluster: use its own UI)'}
  Temporal         ${infra.temporal.address} (namespace ${infra.temporal.namespace}, task queue ${env.TEMPORAL_TASK_QUEUE})
  Secret key       ${secretKey.file ? `${secretKey.file} (seals connection secrets; back it up with the database)` : 'SYNCFLOW_SECRET_KEY'}
  PostgreSQL       ${infra.database.embedded ? `embedded, ${redactUrl(infra.database.url)}` : redactUrl(infra.database.url)}`);

  if (env.SYNCFLOW_DEMO) {
    const demo = await startDemo({
      control: { prisma, temporal, taskQueue: env.TEMPORAL_TASK_QUEUE },
      databaseUrl: infra.database.url,
      warehouseUrl: infra.database.warehouseUrl,
      secrets,
      apismithPort: env.SYNCFLOW_APISMITH_PORT,
      schedulehubPort: env.SYNCFLOW_SCHEDULEHUB_PORT,
      log: (line) => console.log(line),
    });
    onShutdown(() => demo.stop());
  }
  console.log(`
Still running: API ${server.url}/api/v1, docs ${server.url}/api/v1/docs, Temporal Web UI ${infra.temporal.uiUrl ?? '(external)'}.
Press Ctrl-C to stop.`);
});

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
