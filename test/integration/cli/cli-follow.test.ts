import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';
import { openStream } from '../api/sse-client.ts';
import { runCli } from './cli-run.ts';

/**
 * `syncflow sync start --follow` end to end: the CLI against a live API, a
 * real worker running the syncEntity workflow, a PostgreSQL source and target.
 */
describe('syncflow sync start --follow', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let env: Record<string, string>;
  const schema = `clif_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(5)}`;

  beforeAll(async () => {
    h = await createHarness('cli-follow');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(1_500));
    await registerEntity(h, itemEntity(name, schema));
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    const { key } = await createApiKey(h.prisma, 'cli-follow', 'operator');
    env = { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: key };
  });
  afterAll(async () => {
    await server.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  it('follows a full sync to its end and prints the counts and rows/s (plain lines off a TTY)', async () => {
    // An SSE client watching the entity from before the start receives the running sync's events.
    const stream = await openStream(`${server.url}/api/v1/events/stream?entity=${name}`, env.SYNCFLOW_API_KEY!);
    const result = await runCli(['sync', 'start', name, '--full', '--execute', '--follow', '--interval', '200'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Started full sync of ${name}`);
    expect(result.stdout).toMatch(new RegExp(`${name}: batch [0-9a-f-]{36} completed in `));
    expect(result.stdout).toContain(
      'fetched 1,500 · inserted 1,500 · updated 0 · skipped 0 · failed 0 · pending 0 · deleted 0',
    );
    expect(result.stdout).toMatch(/[\d,]+ rows\/s/);
    expect(result.stdout).not.toContain('\r');
    expect(Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.${name}_target`)).rows[0].n)).toBe(1_500);

    const events = await stream.waitFor(3);
    const deadline = Date.now() + 5_000;
    while (!stream.events.some((e) => e.event === 'sync.completed') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await stream.close();
    const types = stream.events.map((e) => e.event);
    expect(types[0]).toBe('sync.started');
    expect(types).toContain('sync.page_completed');
    expect(types.at(-1)).toBe('sync.completed');
    expect(JSON.parse(events.at(-1)!.data!).payload).toBeDefined();
    const ids = stream.events.map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));

    const again = await runCli(['sync', 'start', name, '--follow', '--interval', '200'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('fetched 0');
  });
});
