// First: @hono/zod-openapi extends zod before control/ builds its schemas (sync-fixtures loads control/syncs.ts).
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';
import { runCli } from './cli-run.ts';

const schema = `clisch_${randomUUID().slice(0, 8)}`;
const NAME = `csched_${schema.slice(7)}`;
const scheduleId = `syncflow-sync-${NAME}-incremental`;

/**
 * `syncflow schedule …` as an operator runs it: the CLI against a live API over HTTP, a real worker, a PostgreSQL
 * source and target. The every-minute schedule is set paused, so only triggers run it during the test.
 */
describe('syncflow schedule', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await createHarness('cli-schedule');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(25));
    await registerEntity(h, itemEntity(NAME, schema));
    await setEntityMode(h.prisma, NAME, 'live');
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    const { key } = await createApiKey(h.prisma, 'cli-schedule', 'operator');
    env = { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: key };
  });
  afterAll(async () => {
    for (const kind of ['incremental', 'full']) {
      await h.client.schedule
        .getHandle(`syncflow-sync-${NAME}-${kind}`)
        .delete()
        .catch(() => undefined);
    }
    await server.close();
    await h.prisma.syncEvent.deleteMany({ where: { entityName: NAME } });
    await h.prisma.syncBatch.deleteMany({ where: { entityName: NAME } });
    await h.prisma.entity.deleteMany({ where: { name: NAME } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  it('schedule set creates an incremental schedule every minute (overlap SKIP, catch-up 10m)', async () => {
    const result = await runCli(['schedule', 'set', NAME, '--kind', 'incremental', '--every', '1m', '--paused'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Created incremental schedule of ${NAME} (${scheduleId}): every 1m`);
    expect(result.stdout).toContain('catch-up 10m, paused');
    const description = await h.client.schedule.getHandle(scheduleId).describe();
    expect(description.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(description.policies.catchupWindow).toBe(10 * 60_000);
    expect(description.state.paused).toBe(true);
  });

  it('schedule set --cron --zone adds a weekly full sync; schedule list shows both as a table', async () => {
    const set = await runCli(
      ['schedule', 'set', NAME, '--kind', 'full', '--cron', '0 2 * * 0', '--zone', 'Europe/Berlin', '--paused'],
      env,
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('Created full schedule');
    const list = await runCli(['schedule', 'list', NAME], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/KIND\s+SPEC\s+ZONE\s+PAUSED\s+NEXT RUN/);
    expect(list.stdout).toMatch(/incremental\s+every 1m\s+UTC\s+true/);
    expect(list.stdout).toMatch(/full\s+cron 0 2 \* \* 0\s+Europe\/Berlin\s+true/);
  });

  it('schedule trigger runs a real sync batch to completion', async () => {
    const since = Date.now() - 1000;
    const result = await runCli(['schedule', 'trigger', NAME, 'incremental'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Triggered ${scheduleId}.`);
    let workflowId: string | undefined;
    const deadline = Date.now() + 20_000;
    while (!workflowId && Date.now() < deadline) {
      const { info } = await h.client.schedule.getHandle(scheduleId).describe();
      workflowId = info.recentActions.filter((a) => a.takenAt.getTime() >= since).at(-1)?.action.workflow.workflowId;
      if (!workflowId) await new Promise((r) => setTimeout(r, 100));
    }
    const summary = await h.client.workflow.getHandle(workflowId!).result();
    expect(summary).toMatchObject({ entityName: NAME, status: 'completed', inserted: 25 });
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: summary.batchUid } });
    expect(batch.status).toBe('completed');
    const rows = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${NAME}_target`);
    expect(rows.rows[0].n).toBe(25);
    const list = await runCli(['schedule', 'list', NAME], env);
    expect(list.stdout).toContain(`batch ${summary.batchUid} completed`);
  });

  it('schedule resume and pause', async () => {
    const resumed = await runCli(['schedule', 'resume', NAME, 'incremental'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`incremental schedule of ${NAME} is running; next run `);
    expect((await h.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(false);
    const paused = await runCli(['schedule', 'pause', NAME, 'incremental'], env);
    expect(paused.stdout).toContain(`incremental schedule of ${NAME} is paused.`);
    expect((await h.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(true);
  });

  it('bad input: the API names the field; an unknown kind or entity fails with exit code 1', async () => {
    const zone = await runCli(
      ['schedule', 'set', NAME, '--kind', 'full', '--cron', '0 2 * * 0', '--zone', 'Mars/Base'],
      env,
    );
    expect(zone.code).toBe(1);
    expect(zone.stderr).toContain('400 validation_failed');
    expect(zone.stderr).toContain('timeZone: an IANA time zone');
    const zero = await runCli(['schedule', 'set', NAME, '--every', '0m'], env);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('every: every: at least 1m');
    const kind = await runCli(['schedule', 'pause', NAME, 'weekly'], env);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain('kind');
    const nobody = await runCli(['schedule', 'list', 'csched_nobody'], env);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('404 entity_not_found');
  });

  it('schedule delete --kind, then all', async () => {
    const one = await runCli(['schedule', 'delete', NAME, '--kind', 'full'], env);
    expect(one.stdout).toContain(`Deleted the full schedule of ${NAME}.`);
    const all = await runCli(['schedule', 'delete', NAME], env);
    expect(all.stdout).toContain(`Deleted the incremental schedule of ${NAME}.`);
    await expect(h.client.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const list = await runCli(['schedule', 'list', NAME], env);
    expect(list.stdout).toContain(`${NAME} has no schedules.`);
  });
});
