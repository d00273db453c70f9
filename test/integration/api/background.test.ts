// First: @hono/zod-openapi extends zod before control/ builds its schemas (sync-fixtures loads control/syncs.ts).
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { unaccounted } from '../../../pipeline/accounting.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';
import { checkExposition } from '../../unit/api/exposition.ts';
import { type ApiTestContext, createApiTestContext, terminateAll } from './support.ts';

const schema = `apibg_${randomUUID().slice(0, 8)}`;
const suffix = schema.slice(6);
/** Runs a real load to completion inside a window open now. */
const LOAD = `bg_load_${suffix}`;
/** A load whose window is closed for hours: it waits, which is what the 409s and the controls need. */
const WAIT = `bg_wait_${suffix}`;
/** A dry-run entity: a load is refused. */
const DRY = `bg_dry_${suffix}`;
/** Deleted while its load waits for its window. */
const DOOMED = `bg_doomed_${suffix}`;
/** Started where no worker runs it. */
const NOWORKER = `bg_noworker_${suffix}`;
const ALL = [LOAD, WAIT, DRY, DOOMED, NOWORKER];
const SOURCE_ROWS = 250;

/** HH:MM in UTC, `minutes` from now (wraps around midnight). */
const utcTime = (minutes: number) => {
  const d = new Date(Date.now() + minutes * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
};
/** A window open now: from a minute ago to ten minutes ahead (crossing midnight when now is near it). */
const openNow = () => ({ windowStart: utcTime(-1), windowEnd: utcTime(10), timeZone: 'UTC' });
/** A window closed now: it opens in six hours. */
const closedNow = () => ({ windowStart: utcTime(6 * 60), windowEnd: utcTime(7 * 60), timeZone: 'UTC' });

const fieldsOf = (body: { error: { details: Array<{ field: string }> } }) => body.error.details.map((d) => d.field);

/**
 * Multi-day background loads through the API, with a real worker on the dev server: the load's `backgroundSync`
 * runs real `syncEntity` batches (type `background`) from a PostgreSQL source into a PostgreSQL target.
 */
describe('background loads API', () => {
  let h: Harness;
  let t: ApiTestContext;
  let pool: pg.Pool;

  const workflows = ALL.flatMap((n) => [`background-${n}`, `sync-${n}`]);

  beforeAll(async () => {
    h = await createHarness('background-api');
    t = await createApiTestContext('background', { taskQueue: h.taskQueue });
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(SOURCE_ROWS));
    await pool.query(`ANALYZE ${schema}.items`); // the source's row estimate
    for (const name of ALL) {
      await registerEntity(h, itemEntity(name, schema));
      if (name !== DRY) await setEntityMode(h.prisma, name, 'live');
    }
    await h.startWorker();
  });
  afterAll(async () => {
    await terminateAll(t.temporal, workflows);
    await t.prisma.syncEvent.deleteMany({ where: { entityName: { in: ALL } } });
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: ALL } } });
    await t.prisma.entity.deleteMany({ where: { name: { in: ALL } } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await t.close();
    await h.close();
  });

  it('404 for an unknown entity and for an entity without a load', async () => {
    for (const [method, suffixPath] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/start'],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/stop'],
    ] as const) {
      const unknown = await t.call(method, `/entities/bg_nobody/background${suffixPath}`, {
        ...(method === 'PUT' ? { body: {} } : {}),
      });
      expect(unknown.status, `${method} ${suffixPath}`).toBe(404);
      expect(unknown.body.error.code).toBe('entity_not_found');
    }
    for (const [method, suffixPath] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/stop'],
    ] as const) {
      const none = await t.call(method, `/entities/${WAIT}/background${suffixPath}`);
      expect(none.status, `${method} ${suffixPath}`).toBe(404);
      expect(none.body.error.code).toBe('background_not_found');
    }
  });

  it('400 naming the field: an unknown zone, 25:00, an empty window, targetDays 0, unknown fields, a bad name', async () => {
    const put = (body: unknown) => t.call('PUT', `/entities/${WAIT}/background`, { body });
    const cases: Array<[unknown, string[]]> = [
      [{ timeZone: 'Mars/Olympus_Mons' }, ['timeZone']],
      [{ windowStart: '25:00' }, ['windowStart']],
      [{ windowEnd: '7:00' }, ['windowEnd']],
      [{ windowStart: '19:00', windowEnd: '19:00' }, ['windowEnd']],
      [{ targetDays: 0 }, ['targetDays']],
      [{ targetDays: 2.5 }, ['targetDays']],
      [{ targetDays: '7' }, ['targetDays']],
      [{ nightly: true, windowStart: '19:00' }, ['nightly']],
      [{ windowStart: '24:00', targetDays: -1, timeZone: 'Nowhere' }, ['windowStart', 'targetDays', 'timeZone']],
    ];
    for (const [body, fields] of cases) {
      const response = await put(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(fieldsOf(response.body).sort(), JSON.stringify(body)).toEqual([...fields].sort());
    }
    const empty = await put({ windowStart: '19:00', windowEnd: '19:00' });
    expect(empty.body.error.details[0].message).toContain('empty window');
    expect((await t.call('PUT', `/entities/${WAIT}/background`, { raw: '{"timeZone":' })).body.error.code).toBe(
      'invalid_json',
    );
    const badName = await t.call('GET', '/entities/Not-A-Name/background');
    expect(badName.status).toBe(400);
    expect(fieldsOf(badName.body)).toEqual(['name']);
    // Nothing was stored.
    expect(await t.prisma.backgroundSyncSchedule.count({ where: { entityName: WAIT } })).toBe(0);
  });

  it('PUT creates a load (not started) with the defaults for what is left out, then changes it', async () => {
    const created = await t.call('PUT', `/entities/${WAIT}/background`, { body: {} });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      entityName: WAIT,
      windowStart: '19:00',
      windowEnd: '07:00',
      timeZone: 'UTC',
      targetDays: 7,
      state: 'not_started',
      rowsDone: 0,
      nightsUsed: 0,
      currentOffset: null,
      workflowId: `background-${WAIT}`,
      nights: [],
    });
    const window = closedNow();
    const changed = await t.call('PUT', `/entities/${WAIT}/background`, {
      body: { ...window, targetDays: 3, timeZone: 'Europe/Berlin' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ ...window, timeZone: 'Europe/Berlin', targetDays: 3, state: 'not_started' });
    // Back to UTC: the window closed for hours from now.
    const utc = await t.call('PUT', `/entities/${WAIT}/background`, { body: { ...window, targetDays: 3 } });
    expect(utc.body).toMatchObject({ windowOpen: false, timeZone: 'UTC' });
    expect(Date.parse(utc.body.nextWindowOpensAt)).toBeGreaterThan(Date.now() + 5 * 3_600_000);
    const shown = await t.call('GET', `/entities/${WAIT}/background`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(utc.body);
  });

  it('409: start for a dry-run entity', async () => {
    const refused = await t.call('POST', `/entities/${DRY}/background/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'entity_not_live', details: { entity: DRY } });
  });

  it('start waits for the window; a second start, a full sync and a delete while under way are 409s', async () => {
    const started = await t.call('POST', `/entities/${WAIT}/background/start`);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ entityName: WAIT, state: 'waiting_for_window', windowOpen: false });
    const description = await t.temporal.workflow.getHandle(`background-${WAIT}`).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.type).toBe('backgroundSync');

    const twice = await t.call('POST', `/entities/${WAIT}/background/start`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('background_running');

    for (const syncType of ['full', 'incremental']) {
      const sync = await t.call('POST', '/sync/start', { body: { entities: [WAIT], syncType } });
      expect(sync.status).toBe(409);
      expect(sync.body.error).toMatchObject({ code: 'background_load_active', details: { entity: WAIT } });
    }

    const deleted = await t.call('DELETE', `/entities/${WAIT}/background`);
    expect(deleted.status).toBe(409);
    expect(deleted.body.error.code).toBe('background_running');
  });

  it('pause, resume and stop answer with the new state; start after a stop resumes; delete once stopped', async () => {
    const paused = await t.call('POST', `/entities/${WAIT}/background/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');

    // The window changed while paused: stored, and the load stays paused.
    const whilePaused = await t.call('PUT', `/entities/${WAIT}/background`, {
      body: { ...closedNow(), targetDays: 6 },
    });
    expect(whilePaused.status).toBe(200);
    expect(whilePaused.body).toMatchObject({ targetDays: 6, state: 'paused' });

    const resumed = await t.call('POST', `/entities/${WAIT}/background/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('waiting_for_window');

    // A change of the window while under way is taken at once.
    const window = closedNow();
    const changed = await t.call('PUT', `/entities/${WAIT}/background`, { body: { ...window, targetDays: 5 } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ targetDays: 5, state: 'waiting_for_window' });

    const stopped = await t.call('POST', `/entities/${WAIT}/background/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.state).toBe('stopped');
    for (const action of ['pause', 'resume', 'stop']) {
      const ended = await t.call('POST', `/entities/${WAIT}/background/${action}`);
      expect(ended.status, action).toBe(409);
      expect(ended.body.error.code).toBe('background_not_running');
    }
    // Started again after a stop: it resumes (from its offset), then stops again.
    const again = await t.call('POST', `/entities/${WAIT}/background/start`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ state: 'waiting_for_window', targetDays: 5 });
    expect((await t.call('POST', `/entities/${WAIT}/background/stop`)).body.state).toBe('stopped');
    // A stopped load no longer holds the entity.
    expect((await t.call('POST', '/sync/start', { body: { entities: [WAIT], syncType: 'full' } })).status).toBe(202);
    await terminateAll(t.temporal, [`sync-${WAIT}`]);
    await t.prisma.syncBatch.deleteMany({ where: { entityName: WAIT, syncType: 'full' } });

    const deleted = await t.call('DELETE', `/entities/${WAIT}/background`);
    expect(deleted.status).toBe(204);
    const gone = await t.call('GET', `/entities/${WAIT}/background`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('background_not_found');
  });

  it('deleting an entity stops its load', async () => {
    await t.call('PUT', `/entities/${DOOMED}/background`, { body: closedNow() });
    expect((await t.call('POST', `/entities/${DOOMED}/background/start`)).status).toBe(202);
    const deleted = await t.call('DELETE', `/entities/${DOOMED}`);
    expect(deleted.status).toBe(204);
    const description = await t.temporal.workflow.getHandle(`background-${DOOMED}`).describe();
    expect(description.status.name).not.toBe('RUNNING');
    expect(await t.prisma.backgroundSyncSchedule.count({ where: { entityName: DOOMED } })).toBe(0);
  });

  it('no worker answers: GET and start answer from the database, quickly', async () => {
    // A context whose task queue no worker polls: the load's workflow starts but never runs, and its query waits.
    const lonely = await createApiTestContext('background-noworker');
    try {
      await lonely.call('PUT', `/entities/${NOWORKER}/background`, { body: closedNow() });
      let at = Date.now();
      const started = await lonely.call('POST', `/entities/${NOWORKER}/background/start`);
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ state: 'waiting_for_window', runningBatchUid: null });
      const startMs = Date.now() - at;
      at = Date.now();
      const shown = await lonely.call('GET', `/entities/${NOWORKER}/background`);
      expect(shown.status).toBe(200);
      expect(shown.body.state).toBe('waiting_for_window');
      // The live query is bounded (3 s): the stored state answers.
      expect(startMs).toBeLessThan(6_000);
      expect(Date.now() - at).toBeLessThan(6_000);
    } finally {
      await terminateAll(lonely.temporal, [`background-${NOWORKER}`]);
      await lonely.close();
    }
  });

  it('a real load inside a window open now completes: target = source, one balanced background batch', async () => {
    const set = await t.call('PUT', `/entities/${LOAD}/background`, { body: { ...openNow(), targetDays: 1 } });
    expect(set.status).toBe(200);
    expect(set.body.windowOpen).toBe(true);
    const started = await t.call('POST', `/entities/${LOAD}/background/start`);
    expect(started.status).toBe(202);

    // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answer
    let view: any;
    const deadline = Date.now() + 60_000;
    for (;;) {
      view = (await t.call('GET', `/entities/${LOAD}/background`)).body;
      if (['completed', 'failed', 'stopped'].includes(view.state) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(view, JSON.stringify(view)).toMatchObject({
      state: 'completed',
      rowsDone: SOURCE_ROWS,
      nightsUsed: 1,
      lastError: null,
      estimatedCompletionAt: null,
    });
    expect(view.completedAt).toEqual(expect.any(String));
    expect(view.nights).toHaveLength(1);
    expect(view.nights[0]).toMatchObject({ status: 'completed', fetched: SOURCE_ROWS, failed: 0 });

    const batch = await t.prisma.syncBatch.findUniqueOrThrow({ where: { uid: view.nights[0].batchUid } });
    expect(batch).toMatchObject({ syncType: 'background', status: 'completed', dryRun: false });
    const counts = {
      fetched: Number(batch.totalFetched),
      inserted: Number(batch.inserted),
      updated: Number(batch.updated),
      skipped: Number(batch.skipped),
      failed: Number(batch.failed),
      pending: Number(batch.pending),
      deleted: Number(batch.deleted),
    };
    expect(counts).toMatchObject({ fetched: SOURCE_ROWS, inserted: SOURCE_ROWS, failed: 0 });
    expect(unaccounted(counts)).toBe(0);

    const source = await pool.query(`SELECT upper(part_no) AS part_no, plant FROM ${schema}.items ORDER BY 1, 2`);
    const target = await pool.query(`SELECT part_no, plant FROM ${schema}.${LOAD}_target ORDER BY 1, 2`);
    expect(target.rows).toEqual(source.rows);

    const events = await t.prisma.syncEvent.findMany({ where: { entityName: LOAD }, select: { type: true } });
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['background.window_opened', 'background.completed']),
    );

    // Completed: the entity's other syncs run again.
    const incremental = await t.call('POST', '/sync/start', { body: { entities: [LOAD], syncType: 'incremental' } });
    expect(incremental.status).toBe(202);
  });

  it('the Prometheus endpoint shows rows done and estimated, state and the next window opening', async () => {
    // A load under way (waiting) for the next opening.
    const window = closedNow();
    await t.call('PUT', `/entities/${WAIT}/background`, { body: window });
    const started = await t.call('POST', `/entities/${WAIT}/background/start`);
    expect(started.status).toBe(202);

    const response = await t.call('GET', '/monitoring/metrics/prometheus');
    expect(response.status).toBe(200);
    const samples = checkExposition(response.text);
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('syncflow_background_rows_done', { entity: LOAD })).toBe(SOURCE_ROWS);
    expect(value('syncflow_background_rows_estimated', { entity: LOAD })).toBeGreaterThan(0);
    expect(value('syncflow_background_state', { entity: LOAD, state: 'completed' })).toBe(1);
    expect(value('syncflow_background_state', { entity: LOAD, state: 'running' })).toBe(0);
    expect(value('syncflow_background_nights', { entity: LOAD, kind: 'used' })).toBe(1);
    expect(value('syncflow_background_nights', { entity: LOAD, kind: 'planned' })).toBe(1);
    // Completed: no next window.
    expect(value('syncflow_background_next_window_open_timestamp_seconds', { entity: LOAD })).toBeUndefined();

    expect(value('syncflow_background_state', { entity: WAIT, state: 'waiting_for_window' })).toBe(1);
    expect(value('syncflow_background_window_open', { entity: WAIT })).toBe(0);
    expect(value('syncflow_background_next_window_open_timestamp_seconds', { entity: WAIT })).toBe(
      Date.parse(started.body.nextWindowOpensAt) / 1000,
    );
    await t.call('POST', `/entities/${WAIT}/background/stop`);
  });
});
