import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { controlBackground, getBackground, setBackground, startBackground } from '../../../control/background.ts';
import { startSync } from '../../../control/syncs.ts';
import { countsOfBatch } from '../../../db/batches.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { unaccounted } from '../../../pipeline/accounting.ts';
import { backgroundWorkflowId } from '../../../workflows/contract.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity } from '../../support/sync-fixtures.ts';

/**
 * Issue 12: a multi-day background load on the dev server, with a real source and target, in windows of
 * seconds (HH:MM:SS, UTC) so that they open and close within the test. TRACK of each page of these entities
 * sleeps in a trigger, so a night is slow enough to be cut by its window's close and a worker can be killed in
 * the middle of one.
 */
describe('a background load', () => {
  let h: Harness;
  let pool: pg.Pool;
  let worker: ChildProcess;
  const id = randomUUID().slice(0, 8);
  const schema = `bgl_${id}`;
  const ROWS = 1500;
  const PAGE_SLEEP_S = 0.25;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** HH:MM:SS in UTC, `ms` from now. */
  const clockIn = (ms: number) => new Date(Date.now() + ms).toISOString().slice(11, 19);

  const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 90_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(value)}`);
      await sleep(200);
    }
  };

  const newEntity = async (name: string) => {
    await registerEntity(h, itemEntity(name, schema, { pageSize: 100 }));
    await setEntityMode(h.prisma, name, 'live');
  };

  /** The target equals the source: every row once, with the source's current row version. */
  const expectTargetEqualsSource = async (entity: string) => {
    const target = `${schema}.${entity}_target`;
    const rows = await pool.query(`SELECT count(*) AS n, count(DISTINCT erp_key_hash) AS keys FROM ${target}`);
    expect(rows.rows[0]).toEqual({ n: String(ROWS), keys: String(ROWS) });
    const differing = await count(
      `SELECT count(*) AS n FROM ${schema}.items s FULL JOIN ${target} t
           ON t.part_no = upper(s.part_no) AND t.plant = s.plant
        WHERE s.part_no IS NULL OR t.part_no IS NULL OR t.rv IS DISTINCT FROM s.row_version`,
    );
    expect(differing).toBe(0);
  };

  /** Every batch of the load balances, and together they read each source row once. */
  const expectBatchesAccountEveryRow = async (entity: string) => {
    const batches = await h.prisma.syncBatch.findMany({ where: { entityName: entity } });
    expect(batches.every((b) => b.syncType === 'background')).toBe(true);
    const finished = batches.filter((b) => b.status !== 'pending');
    for (const b of finished) expect(unaccounted(countsOfBatch(b)), b.uid).toBe(0);
    const fetched = finished.reduce((sum, b) => sum + Number(b.totalFetched), 0);
    expect(fetched).toBe(ROWS);
    const pages = await count(
      `SELECT count(*) AS n FROM sync_batch_pages p JOIN sync_batches b ON b.uid = p.batch_uid WHERE b.entity_name = $1`,
      [entity],
    );
    expect(pages).toBe(finished.reduce((sum, b) => sum + b.pagesCompleted, 0));
  };

  beforeAll(async () => {
    h = await createHarness('background-load');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(ROWS));
    await pool.query(`CREATE FUNCTION ${schema}.slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM sync_batches b WHERE b.uid = NEW.batch_uid AND b.entity_name LIKE 'items_bgl_${id}%') THEN
          PERFORM pg_sleep(${PAGE_SLEEP_S});
        END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER slow_claim_${id} BEFORE INSERT ON sync_batch_pages
      FOR EACH ROW EXECUTE FUNCTION ${schema}.slow_claim()`);
    worker = await h.startWorkerProcess();
  });
  afterAll(async () => {
    await pool?.query(`DROP TRIGGER IF EXISTS slow_claim_${id} ON sync_batch_pages`);
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('waits for its window, stops starting pages at the close, resumes at its offset in the next window and completes', async () => {
    const entity = `items_bgl_${id}_a`;
    await newEntity(entity);
    const opensInMs = 4_000;
    const openMs = 4_000;
    await setBackground(deps(), entity, {
      windowStart: clockIn(opensInMs),
      windowEnd: clockIn(opensInMs + openMs),
      timeZone: 'UTC',
      targetDays: 1,
    });
    const started = await startBackground(deps(), entity);
    expect(started.state).toBe('waiting_for_window');
    const opensAt = Date.parse(started.nextWindowOpensAt);
    const closesAt = Date.parse(started.windowClosesAt);
    expect(closesAt - opensAt).toBe(openMs);

    // While the load is under way, the entity's other syncs are refused.
    await expect(startSync(deps(), { entities: [entity], syncType: 'full', execute: true })).rejects.toMatchObject({
      status: 409,
      code: 'background_load_active',
    });

    // Nothing is read before the window opens.
    const waiting = await until(
      () => getBackground(deps(), entity),
      (v) => v.nextWindowOpensAt === started.nextWindowOpensAt && v.state === 'waiting_for_window',
      'the load waits for its window',
    );
    expect(waiting.rowsDone).toBe(0);
    expect(await h.prisma.syncBatch.count({ where: { entityName: entity, status: { not: 'pending' } } })).toBe(0);

    // The window opens and closes: the load reads part of the source, then waits for the next opening (tomorrow).
    const afterNight = await until(
      () => getBackground(deps(), entity),
      (v) => v.rowsDone > 0 && v.state === 'waiting_for_window' && Date.parse(v.nextWindowOpensAt) > closesAt,
      'the first window closed',
      60_000,
    );
    expect(afterNight.rowsDone).toBeGreaterThan(0);
    expect(afterNight.rowsDone).toBeLessThan(ROWS);
    expect(afterNight.nightsUsed).toBe(1);
    expect(afterNight.currentOffset).not.toBeNull();

    // No page started after the close; the last one ended within about one page's time of it.
    // The night's batches: one, or (on a loaded machine, when a batch ends a moment before the close) a second one
    // that finds the window closing and reads nothing.
    const night = await h.prisma.syncBatch.findMany({ where: { entityName: entity, status: 'completed' } });
    expect(night.length).toBeGreaterThan(0);
    for (const b of night) expect(b.startedAt!.getTime()).toBeGreaterThanOrEqual(opensAt - 1_000);
    const pageEvents = await h.prisma.syncEvent.findMany({
      where: { batchUid: { in: night.map((b) => b.uid) }, type: 'sync.page_completed' },
      orderBy: { id: 'asc' },
    });
    expect(pageEvents.length).toBe(night.reduce((sum, b) => sum + b.pagesCompleted, 0));
    const times = pageEvents.map((e) => e.createdAt.getTime());
    const pageMs = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    expect(times[times.length - 1]!).toBeLessThanOrEqual(closesAt + 2 * pageMs + 1_000);
    // The offset is the cursor after the last tracked page, and the rows done are what the night read.
    expect(afterNight.rowsDone).toBe(night.reduce((sum, b) => sum + Number(b.totalFetched), 0));
    // The night closes when the load's timer at the close fires and it plans again (a moment after the close).
    const events = await until(
      () =>
        h.prisma.syncEvent.findMany({
          where: { entityName: entity, type: { in: ['background.window_opened', 'background.window_closed'] } },
          orderBy: { id: 'asc' },
        }),
      (found) => found.length >= 2,
      'the night closed',
      30_000,
    );
    expect(events.map((e) => e.type)).toEqual(['background.window_opened', 'background.window_closed']);
    expect(events[1]!.payload).toMatchObject({ rows: afterNight.rowsDone });

    // The operator moves the window to now: the load takes it at once and finishes from its offset.
    await setBackground(deps(), entity, {
      windowStart: clockIn(-1_000),
      windowEnd: clockIn(10 * 60_000),
      timeZone: 'UTC',
      targetDays: 1,
    });
    const done = await until(
      () => getBackground(deps(), entity),
      (v) => v.state === 'completed',
      'the load completed',
    );
    expect(done.rowsDone).toBe(ROWS);
    await expectTargetEqualsSource(entity);
    await expectBatchesAccountEveryRow(entity);

    // Completed: the watermark is the source's highest rowversion read when the load began, and the entity's
    // incremental syncs take over from it.
    const top = await count(`SELECT max(row_version) AS n FROM ${schema}.items`);
    const state = await h.prisma.erpSyncState.findFirstOrThrow({ where: { entityName: entity } });
    expect(state.lastSyncRowversion).toBe(String(top));
    const completedEvent = await h.prisma.syncEvent.findFirst({
      where: { entityName: entity, type: 'background.completed' },
    });
    expect(completedEvent?.payload).toMatchObject({ rowsDone: ROWS });
    const [incremental] = await startSync(deps(), { entities: [entity], syncType: 'incremental', execute: true });
    const summary = await h.client.workflow.getHandle(incremental!.workflowId).result();
    expect(summary).toMatchObject({ status: 'completed', fetched: 0 });
  }, 180_000);

  it('a worker SIGKILLed in the middle of a night: a new worker carries the load on from its offset; every row once', async () => {
    const entity = `items_bgl_${id}_b`;
    await newEntity(entity);
    await setBackground(deps(), entity, {
      windowStart: clockIn(-1_000),
      windowEnd: clockIn(10 * 60_000),
      timeZone: 'UTC',
      targetDays: 1,
    });
    const first = worker; // the one worker: its death stops the load until another starts
    await startBackground(deps(), entity);
    await until(
      () => getBackground(deps(), entity),
      (v) => v.rowsDone >= 300,
      'a few pages tracked',
      60_000,
    );
    const exited = new Promise((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    worker = await h.startWorkerProcess();
    const done = await until(
      () => getBackground(deps(), entity),
      (v) => v.state === 'completed',
      'the load completed after the kill',
      150_000,
    );
    expect(done.rowsDone).toBe(ROWS);
    await expectTargetEqualsSource(entity);
    await expectBatchesAccountEveryRow(entity);
    expect(await count('SELECT count(*) AS n FROM failed_records WHERE entity_name = $1', [entity])).toBe(0);
    const description = await h.client.workflow.getHandle(backgroundWorkflowId(entity)).describe();
    expect(description.status.name).toBe('COMPLETED');
  }, 240_000);

  it('a load whose workflow was terminated by hand no longer holds the entity; start begins it again', async () => {
    const entity = `items_bgl_${id}_c`;
    await newEntity(entity);
    await setBackground(deps(), entity, {
      windowStart: clockIn(3 * 3_600_000),
      windowEnd: clockIn(4 * 3_600_000),
      timeZone: 'UTC',
      targetDays: 7,
    });
    await startBackground(deps(), entity);
    await expect(startSync(deps(), { entities: [entity], syncType: 'full', execute: true })).rejects.toMatchObject({
      code: 'background_load_active',
    });
    await expect(startBackground(deps(), entity)).rejects.toMatchObject({ code: 'background_running' });

    await h.client.workflow.getHandle(backgroundWorkflowId(entity)).terminate('by hand');
    // The row still says under way until SyncFlow is told: a stop through SyncFlow says stopped, offset kept.
    expect((await getBackground(deps(), entity)).state).toBe('waiting_for_window');
    expect((await controlBackground(deps(), entity, 'stop')).state).toBe('stopped');
    const [sync] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    expect(await h.client.workflow.getHandle(sync!.workflowId).result()).toMatchObject({
      status: 'completed',
      fetched: ROWS,
    });
    const again = await startBackground(deps(), entity);
    expect(again.state).toBe('waiting_for_window');
    expect((await controlBackground(deps(), entity, 'stop')).state).toBe('stopped');
  }, 120_000);
});
