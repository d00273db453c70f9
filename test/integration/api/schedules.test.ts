// First: @hono/zod-openapi extends zod before control/ builds its schemas (sync-fixtures loads control/syncs.ts).
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import {
  ActivityFailure,
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowFailedError,
} from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { deleteBackgroundLoad, saveBackgroundSettings, updateBackgroundState } from '../../../db/background.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';
import { type ApiTestContext, createApiTestContext, terminateAll } from './support.ts';

const schema = `apisch_${randomUUID().slice(0, 8)}`;
const NAME = `sched_${schema.slice(7)}`;
const DOOMED = `sched_doomed_${schema.slice(7)}`;
const incrementalId = `syncflow-sync-${NAME}-incremental`;

/** The run the schedule started most recently after `since` (its workflow id), once Temporal reports it. */
async function nextRun(temporal: Client, scheduleId: string, since: number): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { info } = await temporal.schedule.getHandle(scheduleId).describe();
    const run = info.recentActions.filter((a) => a.takenAt.getTime() >= since).at(-1);
    if (run) return run.action.workflow.workflowId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${scheduleId} started no run`);
}

/**
 * Recurring syncs on Temporal Schedules, through the API, with a real worker on the dev server: the schedule's
 * `scheduledSync` runs a real `syncEntity` from a PostgreSQL source into a PostgreSQL target. The every-minute
 * schedule is created paused (a trigger runs anyway), so no run of its own lands in the middle of a test.
 */
describe('schedules API', () => {
  let h: Harness;
  let t: ApiTestContext;
  let pool: pg.Pool;

  beforeAll(async () => {
    h = await createHarness('schedules-api');
    t = await createApiTestContext('schedules', { taskQueue: h.taskQueue });
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(40));
    for (const name of [NAME, DOOMED]) {
      await registerEntity(h, itemEntity(name, schema));
      await setEntityMode(h.prisma, name, 'live');
    }
    await h.startWorker();
  });
  afterAll(async () => {
    for (const name of [NAME, DOOMED]) {
      for (const kind of ['incremental', 'full']) {
        await t.temporal.schedule
          .getHandle(`syncflow-sync-${name}-${kind}`)
          .delete()
          .catch(() => undefined);
      }
    }
    await terminateAll(t.temporal, [`sync-${NAME}`, `sync-${DOOMED}`]);
    await t.prisma.syncEvent.deleteMany({ where: { entityName: { in: [NAME, DOOMED] } } });
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, DOOMED] } } });
    await t.prisma.entity.deleteMany({ where: { name: { in: [NAME, DOOMED] } } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await t.close();
    await h.close();
  });

  it('PUT creates an incremental schedule every minute (overlap SKIP, catch-up 10m), then updates it', async () => {
    const created = await t.call('PUT', `/entities/${NAME}/schedules`, {
      body: { kind: 'incremental', every: '1m', paused: true, note: 'test schedule' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      created: true,
      schedule: {
        kind: 'incremental',
        scheduleId: incrementalId,
        spec: { every: '1m', cron: null },
        catchupWindow: '10m',
        overlap: 'SKIP',
        paused: true,
        note: 'test schedule',
      },
    });
    const description = await t.temporal.schedule.getHandle(incrementalId).describe();
    expect(description.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(description.policies.catchupWindow).toBe(10 * 60_000);
    expect(description.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'scheduledSync',
      taskQueue: h.taskQueue,
      args: [{ entityName: NAME, syncType: 'incremental' }],
    });
    expect(description.action.type === 'startWorkflow' && description.action.workflowId).toBe(
      `scheduled-${NAME}-incremental`,
    );
    expect(description.state.paused).toBe(true);

    const updated = await t.call('PUT', `/entities/${NAME}/schedules`, {
      body: { kind: 'incremental', every: '1m', catchupWindow: '15m', note: 'test schedule' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.created).toBe(false);
    // `paused` left out keeps the schedule paused.
    expect(updated.body.schedule).toMatchObject({ catchupWindow: '15m', paused: true });
    expect((await t.temporal.schedule.getHandle(incrementalId).describe()).policies.catchupWindow).toBe(15 * 60_000);
  });

  it('PUT a weekly full sync by cron in a zone; GET lists both kinds with their next runs', async () => {
    const full = await t.call('PUT', `/entities/${NAME}/schedules`, {
      body: { kind: 'full', cron: '0 2 * * 0', timeZone: 'Europe/Berlin', paused: true },
    });
    expect(full.status).toBe(200);
    const list = await t.call('GET', `/entities/${NAME}/schedules`);
    expect(list.status).toBe(200);
    expect(list.body.schedules.map((s: { kind: string }) => s.kind)).toEqual(['incremental', 'full']);
    const weekly = list.body.schedules[1];
    expect(weekly).toMatchObject({ spec: { every: null, cron: '0 2 * * 0' }, timeZone: 'Europe/Berlin' });
    expect(weekly.nextRunTimes).toHaveLength(3);
    for (const at of weekly.nextRunTimes as string[]) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(at));
      expect(local).toBe('Sun 02:00');
    }
  });

  it('trigger runs scheduledSync, which runs a real syncEntity batch to completion', async () => {
    const since = Date.now() - 1000;
    const triggered = await t.call('POST', `/entities/${NAME}/schedules/incremental/trigger`);
    expect(triggered.status).toBe(202);
    expect(triggered.body).toMatchObject({ scheduleId: incrementalId, triggered: true });
    expect(triggered.body.message).toContain('SKIP');
    const workflowId = await nextRun(t.temporal, incrementalId, since);
    expect(workflowId.startsWith(`scheduled-${NAME}-incremental`)).toBe(true);
    const result = await t.temporal.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ entityName: NAME, status: 'completed', dryRun: false, fetched: 40, inserted: 40 });
    const batch = await t.prisma.syncBatch.findUniqueOrThrow({ where: { uid: result.batchUid } });
    expect(batch).toMatchObject({ status: 'completed', syncType: 'incremental', workflowId: `sync-${NAME}` });
    const rows = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${NAME}_target`);
    expect(rows.rows[0].n).toBe(40);
    const list = await t.call('GET', `/entities/${NAME}/schedules`);
    expect(list.body.schedules[0].recentRuns[0]).toMatchObject({
      workflowId,
      status: 'COMPLETED',
      result: { batchUid: result.batchUid, status: 'completed' },
    });
  });

  it('resume and pause: describe shows the state', async () => {
    const resumed = await t.call('POST', `/entities/${NAME}/schedules/incremental/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.paused).toBe(false);
    expect(resumed.body.nextRunTimes.length).toBeGreaterThan(0);
    expect((await t.temporal.schedule.getHandle(incrementalId).describe()).state.paused).toBe(false);
    const paused = await t.call('POST', `/entities/${NAME}/schedules/incremental/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    expect((await t.temporal.schedule.getHandle(incrementalId).describe()).state.paused).toBe(true);
  });

  it('a trigger while a manual sync of the entity runs is skipped: schedule.skipped, no second batch', async () => {
    // A manual sync through an API whose task queue no worker serves: it stays running under the entity's one
    // sync workflow id `sync-<entity>`.
    const idle = await createApiTestContext('schedules-idle');
    const manual = await idle.call('POST', '/sync/start', { body: { entities: [NAME], syncType: 'full' } });
    await idle.close();
    expect(manual.status).toBe(202);
    try {
      const batchesBefore = await t.prisma.syncBatch.count({ where: { entityName: NAME } });
      const since = Date.now() - 1000;
      expect((await t.call('POST', `/entities/${NAME}/schedules/incremental/trigger`)).status).toBe(202);
      const workflowId = await nextRun(t.temporal, incrementalId, since);
      const result = await t.temporal.workflow.getHandle(workflowId).result();
      expect(result).toMatchObject({ skipped: true, entityName: NAME, syncType: 'incremental' });
      expect((result as { reason: string }).reason).toContain('already running');
      expect(await t.prisma.syncBatch.count({ where: { entityName: NAME } })).toBe(batchesBefore);
      const event = await t.prisma.syncEvent.findFirst({
        where: { entityName: NAME, type: 'schedule.skipped' },
        orderBy: { id: 'desc' },
      });
      expect(event?.payload).toMatchObject({ syncType: 'incremental', reason: expect.stringContaining('already') });
      // The manual sync is untouched.
      const description = await t.temporal.workflow.getHandle(`sync-${NAME}`).describe();
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await terminateAll(t.temporal, [`sync-${NAME}`]);
    }
  });

  it('a run while a background load of the entity is under way is skipped, writing nothing', async () => {
    await saveBackgroundSettings(t.prisma, NAME, {
      windowStart: '19:00',
      windowEnd: '07:00',
      timeZone: 'Europe/Berlin',
      targetDays: 7,
    });
    try {
      await updateBackgroundState(t.prisma, NAME, { status: 'waiting_for_window' });
      const batchesBefore = await t.prisma.syncBatch.count({ where: { entityName: NAME } });
      const since = Date.now() - 1000;
      expect((await t.call('POST', `/entities/${NAME}/schedules/incremental/trigger`)).status).toBe(202);
      const result = await t.temporal.workflow.getHandle(await nextRun(t.temporal, incrementalId, since)).result();
      expect(result).toMatchObject({ skipped: true, reason: expect.stringContaining('background load') });
      expect(await t.prisma.syncBatch.count({ where: { entityName: NAME } })).toBe(batchesBefore);
    } finally {
      await deleteBackgroundLoad(t.prisma, NAME);
    }
  });

  it('a run of a disabled entity fails at once (non-retryable ScheduledEntityDisabled)', async () => {
    await t.prisma.entity.update({ where: { name: NAME }, data: { enabled: false } });
    try {
      const since = Date.now() - 1000;
      expect((await t.call('POST', `/entities/${NAME}/schedules/incremental/trigger`)).status).toBe(202);
      const workflowId = await nextRun(t.temporal, incrementalId, since);
      const failure = await t.temporal.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => null,
          (error: Error) => error,
        );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const activityFailure = (failure as WorkflowFailedError).cause;
      expect(activityFailure).toBeInstanceOf(ActivityFailure);
      expect((activityFailure as ActivityFailure).cause).toMatchObject({ type: 'ScheduledEntityDisabled' });
    } finally {
      await t.prisma.entity.update({ where: { name: NAME }, data: { enabled: true } });
    }
  });

  it('400 naming the field: unknown zone, every 0m, both every and cron, a bad cron, an unknown kind', async () => {
    const put = (body: unknown) => t.call('PUT', `/entities/${NAME}/schedules`, { body });
    const fieldsOf = (r: { body: { error: { details: Array<{ field: string }> } } }) =>
      r.body.error.details.map((d) => d.field);
    const zone = await put({ kind: 'full', cron: '0 2 * * 0', timeZone: 'Mars/Olympus_Mons' });
    expect(zone.status).toBe(400);
    expect(fieldsOf(zone)).toEqual(['timeZone']);
    const zero = await put({ kind: 'incremental', every: '0m' });
    expect(zero.status).toBe(400);
    expect(fieldsOf(zero)).toEqual(['every']);
    const both = await put({ kind: 'incremental', every: '5m', cron: '*/5 * * * *' });
    expect(both.status).toBe(400);
    expect(fieldsOf(both)).toEqual(['cron']);
    const shape = await put({ kind: 'incremental', cron: '* * *' });
    expect(shape.status).toBe(400);
    expect(fieldsOf(shape)).toEqual(['cron']);
    // Five fields, but no minute 99: Temporal refuses it, answered as a 400 on `cron`.
    const refused = await put({ kind: 'incremental', cron: '99 * * * *' });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused)).toEqual(['cron']);
    const kind = await put({ kind: 'hourly', every: '1h' });
    expect(kind.status).toBe(400);
    expect(fieldsOf(kind)).toEqual(['kind']);
    for (const action of ['pause', 'resume', 'trigger']) {
      const path = await t.call('POST', `/entities/${NAME}/schedules/weekly/${action}`);
      expect(path.status).toBe(400);
      expect(fieldsOf(path)).toEqual(['kind']);
    }
    // The refused requests changed nothing.
    const list = await t.call('GET', `/entities/${NAME}/schedules`);
    expect(list.body.schedules[0].spec).toEqual({ every: '1m', cron: null });
  });

  it('404 for an unknown entity, and for a kind the entity has no schedule of', async () => {
    const nobody = 'sched_nobody';
    expect((await t.call('GET', `/entities/${nobody}/schedules`)).status).toBe(404);
    const put = await t.call('PUT', `/entities/${nobody}/schedules`, { body: { kind: 'incremental', every: '5m' } });
    expect(put.status).toBe(404);
    expect(put.body.error.code).toBe('entity_not_found');
    expect((await t.call('POST', `/entities/${nobody}/schedules/full/trigger`)).status).toBe(404);
    expect((await t.call('DELETE', `/entities/${nobody}/schedules`)).status).toBe(404);
    const none = await t.call('POST', `/entities/${DOOMED}/schedules/full/pause`);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('schedule_not_found');
  });

  it('DELETE removes one kind (?kind=) or all', async () => {
    const one = await t.call('DELETE', `/entities/${NAME}/schedules?kind=full`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ entity: NAME, deleted: ['full'] });
    expect((await t.call('DELETE', `/entities/${NAME}/schedules?kind=full`)).status).toBe(404);
    const all = await t.call('DELETE', `/entities/${NAME}/schedules`);
    expect(all.body).toEqual({ entity: NAME, deleted: ['incremental'] });
    expect((await t.call('GET', `/entities/${NAME}/schedules`)).body.schedules).toEqual([]);
    await expect(t.temporal.schedule.getHandle(incrementalId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('deleting the entity deletes its schedules', async () => {
    for (const body of [
      { kind: 'incremental', every: '5m', paused: true },
      { kind: 'full', cron: '0 2 * * 0', paused: true },
    ]) {
      expect((await t.call('PUT', `/entities/${DOOMED}/schedules`, { body })).status).toBe(200);
    }
    expect((await t.call('DELETE', `/entities/${DOOMED}`)).status).toBe(204);
    for (const kind of ['incremental', 'full']) {
      await expect(t.temporal.schedule.getHandle(`syncflow-sync-${DOOMED}-${kind}`).describe()).rejects.toBeInstanceOf(
        ScheduleNotFoundError,
      );
    }
  });
});
