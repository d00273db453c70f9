import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';
import { runCli } from '../cli/cli-run.ts';

/**
 * POST /entities/:name/targets/:target/backfill (CLI `syncflow entities backfill`): a full sync of the entity,
 * by upsert. A target added after the entity's first syncs has no identity rows: it receives every record, the
 * primary (which has them all) receives nothing, and nothing is deleted anywhere.
 */
describe('backfill one target', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let operator: string;
  const schema = `bf_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(3)}`;
  const copy = `${schema}_copy.${name}_copy`;
  const rowsIn = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const backfill = (entity: string, target: string, key = operator) =>
    fetch(`${server.url}/api/v1/entities/${entity}/targets/${target}/backfill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  beforeAll(async () => {
    h = await createHarness('backfill');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(60));
    await registerEntity(h, itemEntity(name, schema));
    await h.startWorker();
    server = await listen(
      createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets }),
      '127.0.0.1',
      0,
    );
    operator = (await createApiKey(h.prisma, 'backfill-operator', 'operator')).key;
    // Live: its syncs (a backfill too, started as POST /sync/start starts one) write to the targets.
    await h.prisma.entity.update({ where: { name }, data: { mode: 'live' } });
    const [first] = await runSync(h, [name], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 60 });
    // A secondary target joins the configuration later: it holds nothing yet.
    const base = itemEntity(name, schema);
    await registerEntity(h, {
      ...base,
      targets: [
        ...base.targets,
        {
          type: 'postgres',
          name: 'copy',
          role: 'secondary',
          connection: LOCAL_CONNECTION,
          schema: `${schema}_copy`,
          table: `${name}_copy`,
        },
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
    await pool?.end();
    await h?.close();
  });

  it('answers 404 naming a target the entity does not have, and 404 for an unknown entity', async () => {
    const unknown = await backfill(name, 'nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('target_not_found');
    expect(unknown.body.error.message).toContain('"nowhere"');
    const noEntity = await backfill('no_such_entity', 'copy');
    expect(noEntity.status).toBe(404);
    expect(noEntity.body.error.code).toBe('entity_not_found');
    const viewer = (await createApiKey(h.prisma, 'backfill-viewer', 'viewer')).key;
    expect((await backfill(name, 'copy', viewer)).status).toBe(403);
  });

  it('answers 202 with a full sync that sends the target everything it lacks and the others nothing', async () => {
    const started = await backfill(name, 'copy');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      target: 'copy',
      batch: { entityName: name, syncType: 'full', dryRun: false },
    });
    const summary = await waitForBatch(h, started.body.batch.batchUid);
    expect(summary).toMatchObject({ status: 'completed', fetched: 60, deleted: 0, failed: 0 });
    expect(balanced(summary)).toBe(true);
    expect(await rowsIn(copy)).toBe(60);
    expect(await rowsIn(`${schema}.${name}_target`)).toBe(60);
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: summary.batchUid } });
    expect((batch.metrics as { targetCalls?: Record<string, number> }).targetCalls?.main ?? 0).toBe(0);
  });

  it('syncflow entities backfill starts it from the CLI; an unknown target is exit 1 with the 404', async () => {
    const env = { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: operator };
    const missing = await runCli(['entities', 'backfill', name, 'nowhere'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 target_not_found');
    const run = await runCli(['entities', 'backfill', name, 'copy'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const uid = /batch ([0-9a-f-]{36})/.exec(run.stdout)?.[1];
    expect(run.stdout).toContain(`Started a full sync of ${name} to backfill copy`);
    expect(await waitForBatch(h, uid!)).toMatchObject({ status: 'completed', fetched: 60, deleted: 0 });
  });
});
