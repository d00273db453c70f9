import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { getSyncStatus, pauseSync, resumeSync, startSync, stopSync } from '../../../control/syncs.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { SyncPaused } from '../../../workflows/search-attributes.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

describe('sync control: one per entity, pause / resume, stop', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `ctl_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(4)}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 300; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    h = await createHarness('control');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(3000));
    await registerEntity(h, itemEntity(entity, schema));
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('refuses a second sync of a running entity, pauses between pages, resumes and finishes', async () => {
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    await expect(startSync(deps(), { entities: [entity], syncType: 'full', execute: true })).rejects.toMatchObject({
      status: 409,
      code: 'sync_already_running',
    });
    // The pause update answers once the pause took effect: pages in flight tracked, the batch marked paused.
    const pausedNow = await pauseSync(deps(), started!.batchUid);
    expect(pausedNow).toMatchObject({ batchUid: started!.batchUid, paused: true, pagesInFlight: 0 });
    const paused = await getSyncStatus(deps(), started!.batchUid);
    expect(paused.status).toBe('paused'); // no waiting: already paused when the update answered
    expect(paused.progress?.paused).toBe(true);
    expect(paused.progress?.pagesCompleted).toBe(pausedNow.pagesCompleted);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await getSyncStatus(deps(), started!.batchUid)).pagesCompleted).toBe(paused.pagesCompleted); // nothing moves
    expect(paused.counts.fetched).toBeLessThan(3000);
    const handle = h.client.workflow.getHandle(`sync-${entity}`);
    // The SyncPaused search attribute follows (the Web UI filters paused syncs with it).
    expect((await handle.describe()).typedSearchAttributes.get(SyncPaused)).toBe(true);
    // Pausing again answers at once with the same state.
    expect(await pauseSync(deps(), started!.batchUid)).toMatchObject({
      paused: true,
      pagesCompleted: pausedNow.pagesCompleted,
    });
    const resumed = await resumeSync(deps(), started!.batchUid);
    expect(resumed).toMatchObject({ batchUid: started!.batchUid, paused: false });
    expect(resumed.pagesCompleted).toBeGreaterThanOrEqual(pausedNow.pagesCompleted);
    expect((await handle.describe()).typedSearchAttributes.get(SyncPaused)).toBe(false);
    const done = await waitForBatch(h, started!.batchUid);
    expect(done).toMatchObject({ status: 'completed', fetched: 3000, inserted: 3000 });
    // A completed batch can no longer be paused or resumed.
    await expect(pauseSync(deps(), started!.batchUid)).rejects.toMatchObject({ status: 409, code: 'sync_not_running' });
    // Even when the row still says running (the workflow has ended): Temporal's answer is a 409 too.
    await h.prisma.syncBatch.update({ where: { uid: started!.batchUid }, data: { status: 'running' } });
    await expect(pauseSync(deps(), started!.batchUid)).rejects.toMatchObject({ status: 409 });
    await h.prisma.syncBatch.update({ where: { uid: started!.batchUid }, data: { status: 'completed' } });
  });

  it('API: pause and resume answer 200 with the state after the change; a completed batch is refused with 409', async () => {
    const app = createApp({ ...deps(), secrets: h.secrets });
    const { key } = await createApiKey(h.prisma, `control-${schema}`, 'admin');
    const post = async (path: string) => {
      const response = await app.request(`/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
      });
      // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON answer
      return { status: response.status, body: (await response.json()) as any };
    };
    await pool.query(`UPDATE ${schema}.items SET descr = 'api', row_version = nextval('${schema}.rv')`);
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'incremental', execute: true });
    const uid = started!.batchUid;
    const paused = await post(`/sync/pause/${uid}`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      batchUid: uid,
      action: 'pause',
      status: 'paused',
      progress: { batchUid: uid, paused: true, pagesInFlight: 0 },
    });
    const resumed = await post(`/sync/resume/${uid}`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({
      batchUid: uid,
      action: 'resume',
      status: 'running',
      progress: { paused: false },
    });
    expect(await waitForBatch(h, uid)).toMatchObject({ status: 'completed', updated: 3000 });
    const refused = await post(`/sync/pause/${uid}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('sync_not_running');
  });

  it('stop (an update) answers once the batch is closed cancelled: counts of the pages it completed, balanced', async () => {
    await pool.query(`UPDATE ${schema}.items SET descr = 'v2', row_version = nextval('${schema}.rv')`);
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'incremental', execute: true });
    await waitFor(async () => (await getSyncStatus(deps(), started!.batchUid)).pagesCompleted >= 2, 'two pages');
    expect(await pauseSync(deps(), started!.batchUid)).toMatchObject({ paused: true });
    const workflowId = (await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: started!.batchUid } })).workflowId!;
    expect((await h.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(SyncPaused)).toBe(true);
    const outcome = await stopSync(deps(), started!.batchUid);
    // The answer comes after the batch is closed: no polling needed to see it cancelled.
    expect(outcome).toMatchObject({ stopped: true, progress: { phase: 'done', pagesInFlight: 0 } });
    const closed = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: started!.batchUid } });
    expect(closed.status).toBe('cancelled');
    expect(Number(closed.totalFetched)).toBe(outcome.progress!.counts.fetched);
    const stopped = await waitForBatch(h, started!.batchUid);
    expect(stopped.status).toBe('cancelled');
    // Stopped while paused: no longer listed by the Web UI's SyncPaused filter; the workflow completed normally.
    const described = await h.client.workflow.getHandle(workflowId).describe();
    expect(described.typedSearchAttributes.get(SyncPaused)).toBe(false);
    expect(described.status.name).toBe('COMPLETED');
    await expect(stopSync(deps(), started!.batchUid)).rejects.toMatchObject({ status: 409, code: 'sync_not_running' });
    expect(stopped.fetched).toBeGreaterThan(0);
    expect(stopped.fetched).toBeLessThan(3000);
    expect(stopped.updated).toBe(stopped.fetched);
    expect(balanced(stopped)).toBe(true);
    const events = await h.prisma.syncEvent.findMany({
      where: { batchUid: started!.batchUid },
      orderBy: { id: 'asc' },
    });
    expect(events.at(-1)?.type).toBe('sync.cancelled');
    // The watermark moved only over completed pages: the next incremental picks up exactly the rest.
    const [next] = await startSync(deps(), { entities: [entity], syncType: 'incremental', execute: true });
    const rest = await waitForBatch(h, next!.batchUid);
    expect(rest).toMatchObject({ status: 'completed', updated: 3000 - stopped.updated, skipped: 0 });
  });

  it('the circuit breaker pauses a sync whose failure rate crosses the threshold, and says so', async () => {
    const broken = `${schema}_cb`;
    const brokenEntity = `cb_${schema.slice(4)}`;
    const rows = itemRows(2000).map((row, i) => (i % 2 === 0 ? { ...row, due: 'not a date' } : row));
    await createItemSource(pool, broken, rows);
    await registerEntity(
      h,
      itemEntity(brokenEntity, broken, { circuitBreaker: { maxFailureRate: 0.3, minRows: 100 } }),
    );
    const [started] = await startSync(deps(), { entities: [brokenEntity], syncType: 'full', execute: true });
    await waitFor(
      async () => (await getSyncStatus(deps(), started!.batchUid)).status === 'paused',
      'the circuit to open',
    );
    const opened = await h.prisma.syncEvent.findFirst({
      where: { batchUid: started!.batchUid, type: 'circuit.opened' },
    });
    expect(opened?.payload).toMatchObject({ rate: 0.5 });
    const paused = await getSyncStatus(deps(), started!.batchUid);
    expect(paused.counts.fetched).toBeLessThan(2000);
    await stopSync(deps(), started!.batchUid);
    const stopped = await waitForBatch(h, started!.batchUid);
    expect(stopped.status).toBe('cancelled');
    expect(balanced(stopped)).toBe(true);
  });
});
