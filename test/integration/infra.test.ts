import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { loadEnv } from '../../config/env.ts';
import { createSecretBox } from '../../connectors/secret-box.ts';
import { createPrisma } from '../../db/prisma.ts';
import { InfraError } from '../../infra/errors.ts';
import { freePort } from '../../infra/ports.ts';
import { checkConnection, startDatabase } from '../../infra/postgres.ts';
import '../support/provided.ts';

describe('infrastructure errors name the cause and the fix', () => {
  it('a DATABASE_URL nobody listens on', async () => {
    const port = await freePort();
    const error = await checkConnection(`postgresql://u:p@127.0.0.1:${port}/db`).catch((e) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.fix).toContain('DATABASE_URL');
  });

  it('a wrong database name in DATABASE_URL', async () => {
    const url = new URL(inject('databaseUrl'));
    url.pathname = '/no_such_database';
    const error = await checkConnection(url.toString()).catch((e) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect(error.message).toContain('does not exist');
  });

  it('the embedded PostgreSQL port already taken', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const error = await startDatabase({ throwaway: true, port }).catch((e) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect(error.message).toContain(`Port ${port}`);
      expect(error.fix).toContain('SYNCFLOW_PG_PORT');
    } finally {
      blocker.close();
    }
  });

  it('an invalid environment variable is named', () => {
    expect(() => loadEnv({ PORT: 'seventy' })).toThrow(/PORT/);
    expect(loadEnv({}).PORT).toBe(3000);
  });
});

describe('GET /api/v1/health over the real database and Temporal', () => {
  let connection: Connection;
  let prisma: ReturnType<typeof createPrisma>;
  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    prisma = createPrisma(inject('databaseUrl'));
  });
  afterAll(async () => {
    await connection.close();
    await prisma.$disconnect();
  });

  it('answers 200 with the state of each dependency', async () => {
    const app = createApp({
      prisma,
      temporal: new Client({ connection }),
      taskQueue: 'q',
      secrets: createSecretBox(undefined),
    });
    const response = await app.request('/api/v1/health');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; database: { ok: boolean }; temporal: { ok: boolean } };
    expect(body).toMatchObject({ status: 'healthy', database: { ok: true }, temporal: { ok: true } });
  });

  it('answers 503 naming the database when it is down', async () => {
    const port = await freePort();
    const deadPrisma = createPrisma(`postgresql://u:p@127.0.0.1:${port}/db`);
    const app = createApp({
      prisma: deadPrisma,
      temporal: new Client({ connection }),
      taskQueue: 'q',
      secrets: createSecretBox(undefined),
    });
    const response = await app.request('/api/v1/health');
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; database: { ok: boolean }; temporal: { ok: boolean } };
    expect(body.database.ok).toBe(false);
    expect(body.temporal.ok).toBe(true);
    await deadPrisma.$disconnect();
  });
});
