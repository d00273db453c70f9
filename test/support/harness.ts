import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { createWorker, type SyncflowWorker as Worker } from '../../worker/create-worker.ts';
import './provided.ts';
import {
  type ConnectionConfigInput,
  connectionConfigSchema,
  type ResolvedConnection,
} from '../../connectors/connections.ts';
import { createSecretBox, type SecretBox } from '../../connectors/secret-box.ts';
import { saveConnection } from '../../db/connections.ts';
import { createPrisma, type Prisma } from '../../db/prisma.ts';
import {
  type SchedulehubSandbox,
  type SchedulehubSandboxOptions,
  startSchedulehubSandbox,
} from '../../sandbox/index.ts';

import { installWorkerRuntime } from '../../worker/runtime.ts';

/**
 * Per-file access to the run's real PostgreSQL and Temporal: a Prisma client,
 * a Temporal client, and workers on a task queue of the file's own, so files
 * never pick up each other's tasks.
 */
export interface Harness {
  databaseUrl: string;
  prisma: Prisma;
  /** The test run's secret box (a fixed key, so every file and process of the run opens the same secrets). */
  secrets: SecretBox;
  /**
   * Saves a connection (sealing inline secrets). `local` is saved by createHarness: SyncFlow's own test
   * database, which test sources and targets use.
   */
  saveConnection(name: string, config: ConnectionConfigInput): Promise<void>;
  client: Client;
  taskQueue: string;
  /** Starts a worker on the harness's task queue; stopped by `close()`. */
  startWorker(): Promise<Worker>;
  /**
   * Starts `bin/worker.ts` (`npm run start:worker`'s entry point) as a separate process on the harness's task
   * queue, resolved once it polls; killed by `close()` if still running.
   */
  startWorkerProcess(): Promise<ChildProcess>;
  close(): Promise<void>;
}

/** The secret key of test runs (tests only: a real one comes from SYNCFLOW_SECRET_KEY). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
/** The connection test entities use: the run's own database. */
export const LOCAL_CONNECTION = 'local';

/** The files connection test file sources use: the machine's temporary folder. */
export const TMP_CONNECTION = 'tmp';

/** Saves the connections every test file may use: `local` (the run's database) and `tmp` (os.tmpdir()). */
export async function saveTestConnections(prisma: Prisma, secrets: SecretBox, databaseUrl: string): Promise<void> {
  const save = (name: string, config: ConnectionConfigInput) =>
    saveConnection(prisma, { name, config: connectionConfigSchema.parse(config) }, secrets);
  await save(LOCAL_CONNECTION, { type: 'postgres', url: { value: databaseUrl }, maxConnections: 8 });
  await save(TMP_CONNECTION, { type: 'files', root: realpathSync(tmpdir()) });
}

/**
 * Starts a ScheduleHub sandbox over the run's database, its records in `options.schema` (quiet unless
 * `options.log` is given; other sandbox options, such as `faults`, passed on), and saves `connection` to it
 * with the sandbox's credentials. The caller stops the sandbox; if the save fails, it is stopped here.
 */
export async function startSchedulehubTarget(
  h: Harness,
  connection: string,
  options: Omit<SchedulehubSandboxOptions, 'databaseUrl'> & { schema: string },
): Promise<SchedulehubSandbox> {
  const sandbox = await startSchedulehubSandbox({ log: () => {}, ...options, databaseUrl: h.databaseUrl });
  try {
    await h.saveConnection(connection, {
      type: 'schedulehub',
      baseUrl: sandbox.url,
      auth: { username: { value: sandbox.credentials.username }, password: { value: sandbox.credentials.password } },
    });
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  return sandbox;
}

export async function createHarness(name: string): Promise<Harness> {
  installWorkerRuntime();
  const databaseUrl = inject('databaseUrl');
  const address = inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const prisma = createPrisma(databaseUrl);
  const secrets = createSecretBox(TEST_SECRET_KEY);
  const save = async (name: string, config: ConnectionConfigInput) => {
    await saveConnection(prisma, { name, config: connectionConfigSchema.parse(config) }, secrets);
  };
  await saveTestConnections(prisma, secrets, databaseUrl);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const taskQueue = `test-${name}-${randomUUID().slice(0, 8)}`;
  const running: Array<{ worker: Worker; done: Promise<void> }> = [];
  const processes: ChildProcess[] = [];
  return {
    databaseUrl,
    prisma,
    secrets,
    saveConnection: save,
    client,
    taskQueue,
    async startWorker() {
      const worker = await createWorker({
        connectionOptions: { address },
        namespace,
        taskQueue,
        deps: { prisma, databaseUrl, secrets },
      });
      running.push({ worker, done: worker.run() });
      return worker;
    },
    async startWorkerProcess() {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/worker.ts'], {
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          TEMPORAL_ADDRESS: address,
          TEMPORAL_NAMESPACE: namespace,
          TEMPORAL_TASK_QUEUE: taskQueue,
          TEMPORAL_WORKER_METRICS_PORT: '0', // several workers on one machine: no shared metrics port
          SYNCFLOW_SECRET_KEY: TEST_SECRET_KEY, // opens the test connections' sealed secrets
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      processes.push(child);
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('SyncFlow worker polling')) resolve();
        });
        child.stderr!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${output}`)));
      });
      return child;
    },
    async close() {
      for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
      for (const { worker, done } of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      }
      await connection.close();
      await prisma.$disconnect();
    },
  };
}

/** A resolved PostgreSQL connection to `url`, for connector tests that build connectors directly. */
export const pgConnection = (url: string, name = LOCAL_CONNECTION): ResolvedConnection => ({
  name,
  type: 'postgres',
  url,
  maxConnections: 4,
  statementTimeoutMs: 120_000,
});
