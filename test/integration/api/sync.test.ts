import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { saveEntity } from '../../../db/entities.ts';
import { freePort } from '../../../infra/ports.ts';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.ts';
import { type ApiTestContext, createApiTestContext, entityConfig, terminateAll } from './support.ts';

const NAME = 'api_sync_items';
const HISTORY = 'api_sync_history';
const RACE = 'api_sync_race';

/**
 * No worker serves this file's task queue: a started sync stays RUNNING in
 * Temporal, which is what the 409 and the control signals need. Every
 * workflow started here is terminated at the end.
 */
describe('sync API', () => {
  let t: ApiTestContext;
  let batchUid: string;
  beforeAll(async () => {
    t = await createApiTestContext('sync');
    await terminateAll(t.temporal, [`sync-${NAME}`, `sync-${RACE}`]);
    for (const name of [NAME, HISTORY, RACE]) {
      await t.prisma.syncBatch.deleteMany({ where: { entityName: name } });
      const parsed = parseEntityConfig(entityConfig(name));
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      await saveEntity(t.prisma, parsed.config);
    }
  });
  afterAll(async () => {
    await terminateAll(t.temporal, [`sync-${NAME}`, `sync-${RACE}`]);
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, HISTORY, RACE] } } });
    await t.prisma.entity.deleteMany({ where: { name: { in: [NAME, HISTORY, RACE] } } });
    await t.close();
  });

  it('starts a sync: 202 with the batch uid and the workflow id', async () => {
    const response = await t.call('POST', '/sync/start', { body: { entities: [NAME], syncType: 'full' } });
    expect(response.status).toBe(202);
    expect(response.body.batches).toEqual([
      { batchUid: expect.any(String), workflowId: `sync-${NAME}`, entityName: NAME, dryRun: true, syncType: 'full' },
    ]);
    batchUid = response.body.batches[0].batchUid;
    const description = await t.temporal.workflow.getHandle(`sync-${NAME}`).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.type).toBe('syncEntity');
  });

  it('refuses a second start of the same entity with 409', async () => {
    const response = await t.call('POST', '/sync/start', { body: { entities: [NAME] } });
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'sync_already_running', details: { entity: NAME } });
  });

  it('10 concurrent starts of one entity: one 202, nine 409, one batch row and no failed ones (finding 13)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => t.call('POST', '/sync/start', { body: { entities: [RACE], syncType: 'full' } })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body.error.code).toBe('sync_already_running');
    }
    const started = answers.find((a) => a.status === 202)!.body.batches[0].batchUid;
    const rows = await t.prisma.syncBatch.findMany({ where: { entityName: RACE } });
    expect(rows.map((r) => [r.uid, r.status])).toEqual([[started, 'pending']]);
    const stats = await t.call('GET', `/monitoring/stats?entity=${RACE}`);
    expect(stats.body.entities[0].batches).toEqual({ total: 1, byStatus: { pending: 1 } });
    await terminateAll(t.temporal, [`sync-${RACE}`]);
  });

  it('answers 404 for an unknown entity and 400 naming every bad field', async () => {
    const unknown = await t.call('POST', '/sync/start', { body: { entities: ['api_sync_nobody'] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('entity_not_found');
    const bad = await t.call('POST', '/sync/start', {
      body: { entities: ['Robert); DROP TABLE x;--'], syncType: 'weekly', execute: 'yes', extra: 1, maxItems: 0 },
    });
    expect(bad.status).toBe(400);
    const fields = bad.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['entities.0', 'syncType', 'execute', 'extra', 'maxItems']));
    const malformed = await t.call('POST', '/sync/start', { raw: '{"entities": [' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const empty = await t.call('POST', '/sync/start', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].field).toBe('entities');
    expect((await t.call('POST', '/sync/start', { raw: '' })).status).toBe(400);
  });

  it('shows the status of a batch; 404 for an unknown one, 400 for a malformed uid', async () => {
    const response = await t.call('GET', `/sync/status/${batchUid}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ batchUid, entityName: NAME, status: 'pending', syncType: 'full' });
    expect(response.body.counts).toEqual({
      fetched: 0,
      inserted: 0,
      updated: 0,
      skipped: 0,
      failed: 0,
      pending: 0,
      deleted: 0,
    });
    expect((await t.call('GET', `/sync/status/${randomUUID()}`)).status).toBe(404);
    const malformed = await t.call('GET', '/sync/status/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details[0].field).toBe('batchUid');
  });

  // Pause, resume and stop are Workflow Updates answered once they took effect, which needs a worker: their 200
  // with the new state is tested in test/integration/sync/control.test.ts. Here no worker runs: a stop that no
  // worker takes within the wait falls back to a cancellation request (202); and the 404s.
  it('a stop no worker takes records a cancellation request (202); 404 for an unknown batch', async () => {
    for (const action of ['pause', 'resume', 'stop']) {
      expect((await t.call('POST', `/sync/${action}/${randomUUID()}`)).status).toBe(404);
    }
    const response = await t.call('POST', `/sync/stop/${batchUid}`);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ batchUid, action: 'stop' });
    const history = await t.temporal.workflow.getHandle(`sync-${NAME}`).fetchHistory();
    const kinds = history.events?.map((e) => Object.keys(e).find((k) => k.endsWith('Attributes'))) ?? [];
    expect(kinds).toEqual(expect.arrayContaining(['workflowExecutionCancelRequestedEventAttributes']));
  });

  it('answers 409 when controlling a batch that has ended', async () => {
    const ended = await t.prisma.syncBatch.create({
      data: { entityName: HISTORY, syncType: 'full', status: 'completed', workflowId: `sync-${HISTORY}` },
    });
    for (const action of ['stop', 'pause', 'resume']) {
      const response = await t.call('POST', `/sync/${action}/${ended.uid}`);
      expect(response.status).toBe(409);
      expect(response.body.error.code).toBe('sync_not_running');
    }
  });

  it('lists history with filters, page and cursor pagination; page size above 100 is a 400', async () => {
    await t.prisma.syncBatch.deleteMany({ where: { entityName: HISTORY } });
    const base = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) {
      await t.prisma.syncBatch.create({
        data: {
          entityName: HISTORY,
          syncType: i % 2 === 0 ? 'full' : 'incremental',
          status: i === 4 ? 'failed' : 'completed',
          createdAt: new Date(base + i * 1000),
          startedAt: new Date(base + i * 1000),
          completedAt: new Date(base + i * 1000 + 500),
          totalFetched: 10n,
          inserted: 10n,
        },
      });
    }
    const all = await t.call('GET', `/sync/history?entity=${HISTORY}&pageSize=2`);
    expect(all.status).toBe(200);
    expect(all.body.pagination).toMatchObject({ page: 1, pageSize: 2, total: 5 });
    expect(all.body.batches).toHaveLength(2);
    expect(all.body.batches[0]).toMatchObject({ status: 'failed', durationMs: 500, counts: { inserted: 10 } });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/sync/history?entity=${HISTORY}&pageSize=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.call('GET', query);
      seen.push(...page.body.batches.map((b: { batchUid: string }) => b.batchUid));
      cursor = page.body.pagination.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);

    const second = await t.call('GET', `/sync/history?entity=${HISTORY}&pageSize=2&page=2`);
    expect(second.body.batches.map((b: { batchUid: string }) => b.batchUid)).toEqual(seen.slice(2, 4));

    const full = await t.call('GET', `/sync/history?entity=${HISTORY}&syncType=full&status=completed`);
    expect(full.body.pagination.total).toBe(2);

    const tooBig = await t.call('GET', '/sync/history?pageSize=101');
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.details[0].field).toBe('pageSize');
    const badFilter = await t.call('GET', '/sync/history?status=sleeping&cursor=nope');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.details[0].field).toBe('status');
    const badCursor = await t.call('GET', '/sync/history?cursor=nope');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.details[0].field).toBe('cursor');
  });

  it('starts a replay of dead letters (202, a replay batch); refuses a second one, an unfiltered one, bad input', async () => {
    const started = await t.call('POST', '/sync/retry-failed', { body: { entity: HISTORY, stage: 'normalize' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      entityName: HISTORY,
      workflowId: `replay-${HISTORY}`,
      syncWorkflowId: `sync-${HISTORY}`,
    });
    try {
      // The batch answers from the 202 on (no worker serves this file: it stays pending).
      const status = await t.call('GET', `/sync/status/${started.body.batchUid}`);
      expect(status.body).toMatchObject({
        syncType: 'replay',
        status: 'pending',
        metrics: { replay: { trigger: 'operator' } },
      });
      const again = await t.call('POST', '/sync/retry-failed', { body: { entity: HISTORY, stage: 'map' } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('replay_already_running');
    } finally {
      await t.temporal.workflow.getHandle(`replay-${HISTORY}`).terminate('test over');
    }
    const unfiltered = await t.call('POST', '/sync/retry-failed', { body: { entity: HISTORY } });
    expect(unfiltered.status).toBe(400);
    expect(unfiltered.body.error.details.map((d: { field: string }) => d.field)).toEqual(['all']);
    const noTarget = await t.call('POST', '/sync/retry-failed', { body: { entity: HISTORY, target: 'nowhere' } });
    expect(noTarget.status).toBe(400);
    expect(noTarget.body.error.details[0].field).toBe('target');
    expect(
      (await t.call('POST', '/sync/retry-failed', { body: { entity: 'api_sync_nobody', all: true } })).status,
    ).toBe(404);
    const bad = await t.call('POST', '/sync/retry-failed', { body: { stage: 1, limit: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(
      expect.arrayContaining(['entity', 'stage', 'limit']),
    );
  });

  it('answers 503 naming Temporal when it cannot be reached', async () => {
    const port = await freePort();
    // No retry interceptor: the default one retries UNAVAILABLE for ~20 s before giving up.
    const connection = await Connection.lazy({ address: `127.0.0.1:${port}`, interceptors: [] });
    const app = createApp({
      prisma: t.prisma,
      temporal: new Client({ connection }),
      taskQueue: 'q',
      secrets: t.secrets,
    });
    const leftBehind = () =>
      t.prisma.syncBatch.count({ where: { entityName: HISTORY, status: { in: ['pending', 'failed'] } } });
    const before = await leftBehind();
    const response = await app.request('/api/v1/sync/start', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entities: [HISTORY] }),
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; details: unknown } };
    expect(body.error).toMatchObject({ code: 'temporal_unavailable', details: { dependency: 'temporal' } });
    // Nothing started, so no batch row is left behind (none to count as failed in stats).
    expect(await leftBehind()).toBe(before);
    await connection.close();
  });
});
