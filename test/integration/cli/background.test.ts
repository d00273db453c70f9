// First: @hono/zod-openapi extends zod before control/ builds its schemas (sync-fixtures loads control/syncs.ts).
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';
import { type ApiTestContext, createApiTestContext, terminateAll } from '../api/support.ts';
import { runCli } from './cli-run.ts';

const schema = `clibg_${randomUUID().slice(0, 8)}`;
const suffix = schema.slice(6);
const LOAD = `clibg_load_${suffix}`;
const WAIT = `clibg_wait_${suffix}`;
const DRY = `clibg_dry_${suffix}`;
const ALL = [LOAD, WAIT, DRY];
const SOURCE_ROWS = 120;

/** HH:MM in UTC, `minutes` from now (wraps around midnight). */
const utcTime = (minutes: number) => {
  const d = new Date(Date.now() + minutes * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
};

/**
 * `syncflow background …` as an operator runs it: child processes against a live API over HTTP, with a real
 * worker running the loads.
 */
describe('syncflow background', () => {
  let h: Harness;
  let t: ApiTestContext;
  let pool: pg.Pool;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await createHarness('background-cli');
    t = await createApiTestContext('background-cli', { taskQueue: h.taskQueue });
    const { url } = await t.serve();
    env = { SYNCFLOW_URL: url, SYNCFLOW_API_KEY: t.key };
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(SOURCE_ROWS));
    await pool.query(`ANALYZE ${schema}.items`);
    for (const name of ALL) {
      await registerEntity(h, itemEntity(name, schema));
      if (name !== DRY) await setEntityMode(h.prisma, name, 'live');
    }
    await h.startWorker();
  });
  afterAll(async () => {
    await terminateAll(
      t.temporal,
      ALL.flatMap((n) => [`background-${n}`, `sync-${n}`]),
    );
    await t.prisma.syncEvent.deleteMany({ where: { entityName: { in: ALL } } });
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: ALL } } });
    await t.prisma.entity.deleteMany({ where: { name: { in: ALL } } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await t.close();
    await h.close();
  });

  it('404s: an unknown entity, an entity without a load', async () => {
    const unknown = await runCli(['background', 'set', 'clibg_nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404 entity_not_found');
    for (const command of ['show', 'pause', 'delete']) {
      const none = await runCli(['background', command, WAIT], env);
      expect(none.code, command).toBe(1);
      expect(none.stderr, command).toContain('404 background_not_found');
    }
  });

  it('set refuses bad input naming the field: an unknown zone, 25:00, an empty window, --days 0', async () => {
    for (const [args, field] of [
      [['--zone', 'Mars/Olympus_Mons'], 'timeZone'],
      [['--start', '25:00'], 'windowStart'],
      [['--start', '19:00', '--end', '19:00'], 'windowEnd'],
      [['--days', '0'], 'targetDays'],
    ] as const) {
      const result = await runCli(['background', 'set', WAIT, ...args], env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toContain('400 validation_failed');
      expect(result.stderr, args.join(' ')).toContain(`- ${field}:`);
    }
    expect(await t.prisma.backgroundSyncSchedule.count({ where: { entityName: WAIT } })).toBe(0);
  });

  it('set creates the load, then changes only what is given', async () => {
    const [start, end] = [utcTime(6 * 60), utcTime(7 * 60)];
    const set = await runCli(['background', 'set', WAIT, '--start', start, '--end', end, '--zone', 'UTC'], env);
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain(
      `Set the background load of ${WAIT}: window ${start}–${end} UTC, 7 nights (not_started).`,
    );
    expect(set.stdout).toContain('window closed, opens');
    const days = await runCli(['background', 'set', WAIT, '--days', '4'], env);
    expect(days.stdout).toContain(`Updated the background load of ${WAIT}: window ${start}–${end} UTC, 4 nights`);
  });

  it('start for a dry-run entity is refused', async () => {
    const result = await runCli(['background', 'start', DRY], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('409 entity_not_live');
  });

  it('start, a refused second start and sync, show, pause, resume, stop, delete', async () => {
    const started = await runCli(['background', 'start', WAIT], env);
    expect(started.stderr).toBe('');
    expect(started.stdout).toContain(
      `Started the background load of ${WAIT} (workflow background-${WAIT}): waiting_for_window, 0 of`,
    );
    const twice = await runCli(['background', 'start', WAIT], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('409 background_running');
    const sync = await runCli(['sync', 'start', WAIT, '--full'], env);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('409 background_load_active');

    const show = await runCli(['background', 'show', WAIT], env);
    expect(show.stdout).toContain(`${WAIT}: background load waiting_for_window (window `);
    expect(show.stdout).toMatch(/nights\s+\[░{24}\]\s+0% 0 of 4 planned/);
    expect(show.stdout).toMatch(/window\s+closed, opens \d{4}-\d\d-\d\d \d\d:\d\d, closes/);
    expect(show.stdout).toContain('No nights yet.');
    const json = await runCli(['background', 'show', WAIT, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ entityName: WAIT, state: 'waiting_for_window', targetDays: 4 });

    const paused = await runCli(['background', 'pause', WAIT], env);
    expect(paused.stdout).toContain(`The background load of ${WAIT} is paused:`);
    const resumed = await runCli(['background', 'resume', WAIT], env);
    expect(resumed.stdout).toContain(`The background load of ${WAIT} is waiting_for_window:`);
    const stopped = await runCli(['background', 'stop', WAIT], env);
    expect(stopped.stdout).toContain(`The background load of ${WAIT} is stopped:`);
    const again = await runCli(['background', 'stop', WAIT], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 background_not_running');

    const deleted = await runCli(['background', 'delete', WAIT], env);
    expect(deleted.stdout).toContain(`Deleted the background load of ${WAIT}.`);
    expect(await t.prisma.backgroundSyncSchedule.count({ where: { entityName: WAIT } })).toBe(0);
  });

  it('a real load inside a window open now: show draws the finished progress and the per-night table', async () => {
    const set = await runCli(
      ['background', 'set', LOAD, '--start', utcTime(-1), '--end', utcTime(10), '--zone', 'UTC', '--days', '1'],
      env,
    );
    expect(set.stdout).toContain('window open, closes');
    const started = await runCli(['background', 'start', LOAD], env);
    expect(started.code).toBe(0);

    const deadline = Date.now() + 60_000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await t.prisma.backgroundSyncSchedule.findUniqueOrThrow({ where: { entityName: LOAD } })).status;
      if (['completed', 'failed', 'stopped'].includes(state)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe('completed');

    const show = await runCli(['background', 'show', LOAD], env);
    expect(show.stderr).toBe('');
    expect(show.stdout).toContain(`${LOAD}: background load completed`);
    expect(show.stdout).toMatch(new RegExp(`rows\\s+\\[█{24}\\]\\s+100% ${SOURCE_ROWS} of ~\\d+ rows`));
    expect(show.stdout).toMatch(/nights\s+\[█{24}\]\s+100% 1 of 1 planned/);
    expect(show.stdout).toMatch(/completion\s+completed \d{4}-\d\d-\d\d \d\d:\d\d/);
    expect(show.stdout).toContain('window      load complete');
    expect(show.stdout).toMatch(/#\s+BATCH\s+OPENED\s+STARTED\s+COMPLETED\s+ROWS\s+FAILED\s+STATUS/);
    expect(show.stdout).toMatch(
      new RegExp(`\\n1\\s+[0-9a-f-]{36}\\s+(\\S+ \\S+\\s+){3}${SOURCE_ROWS}\\s+0\\s+completed`),
    );
  });
});
