// Before anything builds a zod schema: control/ (through the sync fixtures) builds schemas the API documents.
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { saveEntity } from '../../../db/entities.ts';
import type { EntityConfigInput } from '../../../pipeline/entity-config.ts';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { checkExposition } from '../../unit/api/exposition.ts';
import { type ApiTestContext, createApiTestContext, entityConfig } from './support.ts';

const NAME = 'api_mon_items';
const BROKEN = 'api_mon_broken';

async function save(t: ApiTestContext, input: EntityConfigInput) {
  const parsed = parseEntityConfig(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return saveEntity(t.prisma, parsed.config);
}

describe('monitoring API', () => {
  let t: ApiTestContext;
  let batchUids: string[] = [];
  beforeAll(async () => {
    t = await createApiTestContext('monitoring');
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, BROKEN] } } });
    const csv = path.join(os.tmpdir(), `${NAME}-${randomUUID()}.csv`);
    await writeFile(csv, 'PART_NO,QTY,CREATED\nP-1,1,2024-01-01\n');
    await t.prisma.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS ${NAME}_target (bk_hash varchar(32) PRIMARY KEY)`);
    await save(
      t,
      entityConfig(NAME, { source: { type: 'file', connection: 'tmp', path: path.basename(csv), format: 'csv' } }),
    );
    await save(
      t,
      entityConfig(BROKEN, { source: { type: 'file', connection: 'tmp', path: 'nonexistent/x.csv', format: 'csv' } }),
    );

    const now = Date.now();
    const batch = (i: number, data: Record<string, unknown>) => ({
      entityName: NAME,
      syncType: 'full',
      createdAt: new Date(now - 10_000 + i * 1000),
      ...data,
    });
    const created = await Promise.all([
      t.prisma.syncBatch.create({
        data: batch(0, {
          status: 'completed',
          dryRun: false,
          startedAt: new Date(now - 10_000),
          completedAt: new Date(now - 8_000),
          totalFetched: 10n,
          inserted: 6n,
          updated: 2n,
          skipped: 1n,
          failed: 1n,
          metrics: { estimatedCost: 0.75 },
        }),
      }),
      t.prisma.syncBatch.create({
        data: batch(1, {
          status: 'completed',
          dryRun: true,
          startedAt: new Date(now - 7_000),
          completedAt: new Date(now - 6_900),
          totalFetched: 4n,
          inserted: 4n,
          metrics: { estimatedCost: 'n/a' },
        }),
      }),
      t.prisma.syncBatch.create({
        data: batch(2, { status: 'running', dryRun: false, startedAt: new Date(now - 2_000), totalFetched: 100n }),
      }),
    ]);
    batchUids = created.map((b) => b.uid);
    await t.prisma.failedRecord.createMany({
      data: Array.from({ length: 5 }, (_, i) => ({
        batchUid: batchUids[0]!,
        entityName: NAME,
        idempotencyKey: `${NAME}-${randomUUID()}`,
        stage: i < 3 ? 'normalize' : 'ingest',
        errorType: i < 3 ? 'invalid_number' : 'server_error',
        errorMessage: 'bad',
        rawData: { PART_NO: `P-${i}` },
        createdAt: new Date(now - 5_000 + i * 100),
        resolvedAt: i === 4 ? new Date() : null,
      })),
    });
    await t.prisma.pendingChild.createMany({
      data: Array.from({ length: 3 }, (_, i) => ({
        batchUid: batchUids[0]!,
        entityName: NAME,
        childBkHash: randomUUID().replaceAll('-', ''),
        parentEntity: 'api_mon_parents',
        parentBkHash: randomUUID().replaceAll('-', ''),
        childPayload: {},
        status: i === 2 ? 'released' : 'waiting',
        createdAt: new Date(now - 3_000 + i * 100),
      })),
    });
  });
  afterAll(async () => {
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, BROKEN] } } });
    await t.prisma.entity.deleteMany({ where: { name: { in: [NAME, BROKEN] } } });
    await t.prisma.$executeRawUnsafe(`DROP TABLE IF EXISTS ${NAME}_target`);
    await t.close();
  });

  it('reports per-entity stats: batches, last batch, totals per operation, DLQ, pending children', async () => {
    const response = await t.call('GET', `/monitoring/stats?entity=${NAME}`);
    expect(response.status).toBe(200);
    expect(response.body.entities).toHaveLength(1);
    expect(response.body.entities[0]).toMatchObject({
      entityName: NAME,
      mode: 'dry_run',
      batches: { total: 3, byStatus: { completed: 2, running: 1 } },
      lastBatch: { batchUid: batchUids[2], status: 'running' },
      totals: { fetched: 110, inserted: 6, updated: 2, skipped: 1, failed: 1, pending: 0, deleted: 0 },
      dryRunTotals: { fetched: 4, inserted: 4 },
      dlqSize: 4,
      pendingChildren: 2,
    });
    const all = await t.call('GET', '/monitoring/stats');
    expect(all.body.entities.map((e: { entityName: string }) => e.entityName)).toEqual(
      expect.arrayContaining([NAME, BROKEN]),
    );
    expect((await t.call('GET', '/monitoring/stats?entity=api_mon_nobody')).status).toBe(404);
  });

  it('lists failed records with filters and pagination', async () => {
    const unresolved = await t.call('GET', `/monitoring/failed-records?entity=${NAME}`);
    expect(unresolved.status).toBe(200);
    expect(unresolved.body.pagination.total).toBe(4);
    expect(unresolved.body.records[0]).toMatchObject({ entityName: NAME, rawData: { PART_NO: 'P-3' } });
    const byStage = await t.call('GET', `/monitoring/failed-records?entity=${NAME}&stage=normalize&pageSize=2`);
    expect(byStage.body.records).toHaveLength(2);
    expect(byStage.body.pagination).toMatchObject({ total: 3, nextCursor: expect.any(String) });
    const next = await t.call(
      'GET',
      `/monitoring/failed-records?entity=${NAME}&stage=normalize&pageSize=2&cursor=${byStage.body.pagination.nextCursor}`,
    );
    expect(next.body.records).toHaveLength(1);
    expect(next.body.pagination).toMatchObject({ page: null, nextCursor: null });
    const byType = await t.call('GET', `/monitoring/failed-records?entity=${NAME}&errorType=server_error&status=all`);
    expect(byType.body.pagination.total).toBe(2);
    const resolved = await t.call('GET', `/monitoring/failed-records?entity=${NAME}&status=resolved`);
    expect(resolved.body.pagination.total).toBe(1);
    const bad = await t.call('GET', '/monitoring/failed-records?stage=teleport&pageSize=500');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(['stage', 'pageSize']);
  });

  it('lists pending children with filters and pagination', async () => {
    const waiting = await t.call('GET', `/monitoring/pending-children?entity=${NAME}&status=waiting`);
    expect(waiting.status).toBe(200);
    expect(waiting.body.pagination.total).toBe(2);
    expect(waiting.body.children[0]).toMatchObject({ parentEntity: 'api_mon_parents', status: 'waiting' });
    const page2 = await t.call('GET', `/monitoring/pending-children?entity=${NAME}&pageSize=2&page=2`);
    expect(page2.body.children).toHaveLength(1);
    expect((await t.call('GET', '/monitoring/pending-children?status=lost')).status).toBe(400);
  });

  it('detailed health: 200 when the database, Temporal, the source and targets answer', async () => {
    const response = await t.call('GET', `/monitoring/health/detailed?entity=${NAME}`);
    expect(response.body.entities[0]).toMatchObject({
      name: NAME,
      source: { type: 'file', ok: true },
      targets: [{ name: 'main', type: 'postgres', ok: true }],
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'healthy', database: { ok: true }, temporal: { ok: true } });
  });

  it('detailed health: 503 naming the source that does not answer', async () => {
    const response = await t.call('GET', `/monitoring/health/detailed?entity=${BROKEN}`);
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('unhealthy');
    expect(response.body.entities[0].source).toMatchObject({ ok: false, error: expect.stringContaining('x.csv') });
    expect(response.body.entities[0].targets[0]).toMatchObject({ ok: false, error: expect.stringContaining('exist') });
    expect((await t.call('GET', '/monitoring/health/detailed?entity=api_mon_nobody')).status).toBe(404);
  });

  it('detailed health does no harm: 100 concurrent calls open a bounded number of database connections', async () => {
    const connections = async () =>
      Number(
        (
          await t.prisma.$queryRaw<[{ n: number }]>`
            SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()`
        )[0].n,
      );
    const before = await connections();
    let peak = before;
    let done = false;
    const watch = (async () => {
      while (!done) {
        peak = Math.max(peak, await connections());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => t.call('GET', `/monitoring/health/detailed?entity=${NAME}`)),
    );
    done = true;
    await watch;
    expect(answers.every((a) => a.status === 200 && a.body.entities[0].targets[0].ok)).toBe(true);
    // One shared pool per connection (local: at most 8) plus the API's own Prisma pool (at most 4).
    expect(peak - before).toBeLessThanOrEqual(12);
  });

  it('serves Prometheus metrics that parse in the exposition format', async () => {
    const response = await t.call('GET', '/monitoring/metrics/prometheus');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const samples = checkExposition(response.text);
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const entity = { entity: NAME };
    expect(value('syncflow_records_total', { ...entity, operation: 'inserted', dry_run: 'false' })).toBe(6);
    expect(value('syncflow_records_total', { ...entity, operation: 'fetched', dry_run: 'false' })).toBe(110);
    expect(value('syncflow_records_total', { ...entity, operation: 'inserted', dry_run: 'true' })).toBe(4);
    expect(value('syncflow_dlq_size', entity)).toBe(4);
    expect(value('syncflow_pending_children', entity)).toBe(2);
    expect(value('syncflow_batches', { ...entity, status: 'completed' })).toBe(2);
    expect(value('syncflow_batch_duration_seconds_bucket', { ...entity, le: '1' })).toBe(1);
    expect(value('syncflow_batch_duration_seconds_bucket', { ...entity, le: '5' })).toBe(2);
    expect(value('syncflow_batch_duration_seconds_count', entity)).toBe(2);
    expect(value('syncflow_batch_duration_seconds_sum', entity)).toBeCloseTo(2.1, 5);
    const rate = value('syncflow_running_batch_rows_per_second', { ...entity, batch_uid: batchUids[2]! });
    expect(rate).toBeGreaterThan(10);
    expect(rate).toBeLessThanOrEqual(50);
    expect(value('syncflow_estimated_cost_total', { ...entity, dry_run: 'false' })).toBe(0.75);
    expect(value('syncflow_estimated_cost_total', { ...entity, dry_run: 'true' })).toBe(0);
    expect(value('syncflow_database_up', {})).toBe(1);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });
});

/** Issue 11, item 10: the target-call and cost counters come from what a real batch stored, not hand-made rows. */
describe('Prometheus target calls of a real batch', () => {
  let t: ApiTestContext;
  let h: Harness;
  let pool: pg.Pool;
  const source = `mon_${randomUUID().slice(0, 8)}`;
  const entity = `items_${source}`;
  beforeAll(async () => {
    t = await createApiTestContext('monitoring-calls');
    h = await createHarness('monitoring-calls');
    pool = createPool(h.databaseUrl);
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
    await t.close();
  });

  it('syncflow_target_calls_total and syncflow_estimated_cost_total equal what finishBatch stored', async () => {
    await createItemSource(pool, source, itemRows(250));
    await registerEntity(h, { ...itemEntity(entity, source), unitCost: 0.25 });
    const [run] = await runSync(h, [entity], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 250 });
    const stored = (await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: run!.batchUid } })).metrics as {
      targetCalls: Record<string, number>;
      estimatedCost: number;
    };
    // finishBatch stores calls per target; 250 rows in pages of 100 make 3 calls to the one target.
    expect(Object.keys(stored.targetCalls)).toEqual(['main']);
    expect(stored.targetCalls.main).toBeGreaterThan(0);

    const response = await t.call('GET', '/monitoring/metrics/prometheus');
    expect(response.status).toBe(200);
    const samples = checkExposition(response.text);
    const calls = samples.filter((s) => s.name === 'syncflow_target_calls_total' && s.labels.entity === entity);
    expect(calls.map((s) => s.labels)).toEqual([{ entity, dry_run: 'false', target: 'main' }]);
    expect(calls[0]!.value).toBe(stored.targetCalls.main);
    expect(calls[0]!.value).toBeGreaterThan(0);
    const cost = samples.find(
      (s) => s.name === 'syncflow_estimated_cost_total' && s.labels.entity === entity && s.labels.dry_run === 'false',
    );
    expect(cost?.value).toBe(stored.estimatedCost);
    expect(cost?.value).toBeCloseTo(calls[0]!.value * 0.25, 10);
    expect(cost?.value).toBeGreaterThan(0);
  });
});
