import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import '../../support/provided.ts';
import { createApp } from '../../../api/app.ts';
import type { ApiDeps } from '../../../api/deps.ts';
import { listen } from '../../../api/serve.ts';
import { createSecretBox, type SecretBox } from '../../../connectors/secret-box.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createPrisma, type Prisma } from '../../../db/prisma.ts';
import type { EntityConfigInput } from '../../../pipeline/entity-config.ts';
import { LOCAL_CONNECTION, saveTestConnections, TEST_SECRET_KEY, TMP_CONNECTION } from '../../support/harness.ts';

/**
 * The API over the run's real PostgreSQL and Temporal (started once by the
 * global setup), with a fresh API key. No worker: the API only starts and
 * signals workflows; files that need syncs to finish start one themselves.
 */
export interface ApiTestContext {
  prisma: Prisma;
  temporal: Client;
  connection: Connection;
  taskQueue: string;
  databaseUrl: string;
  secrets: SecretBox;
  key: string;
  app: ReturnType<typeof createApp>;
  /** app.request with the key (unless `key: null`), JSON body and answer. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  ): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Serves the app over real HTTP on a free port. */
  serve(): Promise<{ url: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function createApiTestContext(name: string, overrides: Partial<ApiDeps> = {}): Promise<ApiTestContext> {
  const databaseUrl = inject('databaseUrl');
  const prisma = createPrisma(databaseUrl, { max: 4 });
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const temporal = new Client({ connection, namespace: inject('temporalNamespace') });
  const taskQueue = `test-api-${name}-${randomUUID().slice(0, 8)}`;
  const secrets = createSecretBox(TEST_SECRET_KEY);
  await saveTestConnections(prisma, secrets, databaseUrl);
  const app = createApp({
    prisma,
    temporal,
    taskQueue,
    secrets,
    eventStream: { pollMs: 100, heartbeatMs: 400 },
    progressQueryTimeoutMs: 300,
    // No worker serves these files' task queues: a stop falls back to a cancellation request after this wait.
    stopAnswerTimeoutMs: 1_000,
    ...overrides,
  });
  // Admin: these tests exercise every route; roles have their own test (roles.test.ts).
  const { key } = await createApiKey(prisma, `test-${name}`, 'admin');
  const servers: Array<{ close(): Promise<void> }> = [];
  return {
    prisma,
    temporal,
    connection,
    taskQueue,
    databaseUrl,
    secrets,
    key,
    app,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const useKey = options.key === undefined ? key : options.key;
      if (useKey !== null) headers.authorization = `Bearer ${useKey}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await app.request(`/api/v1${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        parsed = null;
      }
      return { status: response.status, body: parsed, text, headers: response.headers };
    },
    async serve() {
      const server = await listen(app, '127.0.0.1', 0);
      servers.push(server);
      return server;
    },
    async close() {
      for (const server of servers) await server.close();
      await connection.close();
      await prisma.$disconnect();
    },
  };
}

/** A valid entity configuration reading a CSV file (under the `tmp` connection) into the run's database. */
export function entityConfig(name: string, overrides: Partial<EntityConfigInput> = {}): EntityConfigInput {
  return {
    name,
    source: { type: 'file', connection: TMP_CONNECTION, path: `${name}.csv`, format: 'csv' },
    targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, table: `${name}_target` }],
    businessKey: ['part_no'],
    fields: [
      { source: 'PART_NO', target: 'part_no', transformation: 'uppercase', required: true },
      { source: 'QTY', target: 'qty', type: 'NUMBER' },
      { source: 'CREATED', target: 'created', type: 'DATE' },
    ],
    ...overrides,
  } as EntityConfigInput;
}

/** Terminates whatever the tests left running on the given workflow ids. */
export async function terminateAll(temporal: Client, workflowIds: Iterable<string>) {
  for (const id of new Set(workflowIds)) {
    await temporal.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
}
