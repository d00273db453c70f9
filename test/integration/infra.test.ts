import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { loadEnv } from '../../config/env.ts';
import { createSecretBox } from '../../connectors/secret-box.ts';
import { createPrisma } from '../../db/prisma.ts';
import { InfraError } from '../../infra/errors.ts';
import { migrateDatabase } from '../../infra/migrate.ts';
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

describe('least privilege on the embedded PostgreSQL', () => {
  const asRole = async <T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  it("SyncFlow's role is no superuser: it cannot read server files or create roles", async () => {
    await asRole(inject('databaseUrl'), async (c) => {
      const { rows } = await c.query(
        'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
      await expect(c.query("SELECT pg_read_file('/etc/passwd')")).rejects.toThrow(/permission denied/);
      await expect(c.query('CREATE ROLE sf_should_not_exist')).rejects.toThrow(/permission denied/);
    });
  });

  it("the warehouse role writes schemas of its own and cannot read SyncFlow's tables", async () => {
    await asRole(inject('warehouseUrl'), async (c) => {
      await c.query('CREATE SCHEMA IF NOT EXISTS infra_wh_probe');
      await c.query('CREATE TABLE IF NOT EXISTS infra_wh_probe.t (k int)');
      await c.query('INSERT INTO infra_wh_probe.t VALUES (1)');
      await expect(c.query('SELECT * FROM public.connections')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT * FROM public.api_keys')).rejects.toThrow(/permission denied/);
      await c.query('DROP SCHEMA infra_wh_probe CASCADE');
    });
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

describe('migrations at start-up', () => {
  it('processes starting together take turns on a lock of their own (Prisma gives up on its lock after 10 s)', async () => {
    const url = inject('databaseUrl');
    // Another SyncFlow process is migrating: it holds the lock. This one waits for it instead of racing it.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query(`SELECT pg_advisory_lock(hashtext('syncflow-migrate'))`);
    const waiting = migrateDatabase(url);
    try {
      let waiters = 0;
      for (const until = Date.now() + 20_000; waiters === 0 && Date.now() < until; ) {
        const { rows } = await other.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objid = hashtext('syncflow-migrate')::oid`,
        );
        waiters = rows[0]!.n;
        if (waiters === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(waiters).toBe(1);
    } finally {
      await other.end(); // the other process's migration ends: its session and lock go
    }
    await waiting; // then this one migrates (nothing pending) and succeeds
  }, 60_000);
});
