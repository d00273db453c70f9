import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app.ts';
import { listen } from '../api/serve.ts';
import { loadEnv } from '../config/env.ts';
import { redactUrl } from '../connectors/connections.ts';
import { createSecretBox, newSecretKey, parseSecretKey } from '../connectors/secret-box.ts';
import { ensureRetrySchedule } from '../control/schedules.ts';
import { createPrisma } from '../db/prisma.ts';
import { startDemo } from '../demo/run.ts';
import { startInfrastructure } from '../infra/index.ts';
import { ensureSecretKey } from '../infra/secret-key.ts';
import { logger } from '../log/logger.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';
import { adminKeyFile, ensureAdminKey } from './admin-key.ts';
import { runMain } from './lifecycle.ts';
import { startWorkerChild } from './worker-child.ts';

const log = logger('start');

/**
 * `npm start`: SyncFlow in one process tree on its embedded defaults:
 * PostgreSQL, the Temporal dev server (with its Web UI), one worker (a child
 * process, bin/worker.ts) and, in this process, the API and the demo.
 */
await runMain(async (onShutdown, shutdown) => {
  const env = loadEnv();
  log.info('starting SyncFlow');
  const infra = await startInfrastructure({
    env,
    searchAttributes: searchAttributeKeys,
    log: (m) => log.info(m.trim()),
  });
  onShutdown(() => infra.stop());

  // Seals connections' inline secrets; the worker opens them. Kept in the data folder unless set.
  const secretKey = await ensureSecretKey({ check: parseSecretKey, generate: newSecretKey });
  const secrets = createSecretBox(secretKey.key);
  const prisma = createPrisma(infra.database.url);
  onShutdown(() => prisma.$disconnect());
  const connection = await Connection.connect(infra.temporal.connectionOptions);
  onShutdown(() => connection.close());
  const temporal = new Client({ connection, namespace: infra.temporal.namespace });

  // The worker runs in a child process of its own: the pipeline's CPU work never holds up the API.
  const worker = startWorkerChild({
    env: {
      DATABASE_URL: infra.database.url,
      TEMPORAL_ADDRESS: infra.temporal.address,
      TEMPORAL_NAMESPACE: infra.temporal.namespace,
      TEMPORAL_TASK_QUEUE: env.TEMPORAL_TASK_QUEUE,
      TEMPORAL_WORKER_METRICS_PORT: String(env.TEMPORAL_WORKER_METRICS_PORT),
      SYNCFLOW_SECRET_KEY: secretKey.key,
      // The embedded dev server speaks plain gRPC, whatever TLS settings the environment carries.
      ...(infra.temporal.embedded ? { TEMPORAL_TLS: '', TEMPORAL_TLS_CERT_PATH: '', TEMPORAL_API_KEY: '' } : {}),
    },
    // A crashed worker stops npm start (non-zero) rather than being restarted: it shows the failure.
    onUnexpectedExit: (what) => {
      log.error(`${what}; its output is above`);
      shutdown('The worker failed', 1);
    },
  });
  onShutdown(() => worker.stop());

  await ensureRetrySchedule(temporal, env.TEMPORAL_TASK_QUEUE, env.SYNCFLOW_RETRY_EVERY_MINUTES);
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
  await worker.ready;

  console.log(`
SyncFlow is up.
  API              ${server.url}/api/v1
  API docs         ${server.url}/api/v1/docs
  Admin API key    ${apiKey.key}   (${apiKey.created ? 'new, ' : ''}stored in ${apiKey.file}; export SYNCFLOW_API_KEY=… for the syncflow CLI)
  Temporal Web UI  ${infra.temporal.uiUrl ?? '(external cluster: use its own UI)'}
  Temporal         ${infra.temporal.address} (namespace ${infra.temporal.namespace}, task queue ${env.TEMPORAL_TASK_QUEUE})
  Worker           pid ${worker.pid} (a child process; the API is pid ${process.pid})
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
