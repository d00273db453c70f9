import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 11, fault cases: a worker process SIGKILLed while TRACK is running. TRACK is one transaction
 * (activities/track.ts) whose first statement claims the page in the ledger (sync_batch_pages,
 * db/batches.ts claimPageCounts). A trigger on the ledger, created by this test and only for its batch's
 * page 2, sleeps inside that statement, so TRACK is observably running (pg_stat_activity) when the worker
 * is killed. The transaction never commits; once TRACK stops heartbeating the workflow redoes the page on a
 * new worker, and every page is counted once: counts equal the source, the target equals the source, and
 * no identity, ledger, event or DLQ row is duplicated. Meanwhile the records page 2 sent and never saw
 * acknowledged are `pending` in the identity store (issue 13), and the redone page sends them again.
 */
describe('a worker SIGKILLed in TRACK', () => {
  let h: Harness;
  let pool: pg.Pool;
  const id = randomUUID().slice(0, 8);
  const schema = `kit_${id}`;
  const entity = `items_kit_${id}`;
  const ROWS = 600;
  const SLOW_PAGE = 2;
  const SLEEP_S = 4;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);
  /** TRACK's claim statement, asleep in the trigger. */
  const sleepingTrack = () =>
    count(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO sync_batch_pages%' AND pid <> pg_backend_pid()`,
    );

  beforeAll(async () => {
    h = await createHarness('kill-in-track');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(ROWS));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100 }));
    await pool.query(`CREATE FUNCTION ${schema}.slow_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.page = ${SLOW_PAGE}
           AND EXISTS (SELECT 1 FROM sync_batches b WHERE b.uid = NEW.batch_uid AND b.entity_name = '${entity}') THEN
          PERFORM pg_sleep(${SLEEP_S});
        END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER slow_claim_${id} BEFORE INSERT ON sync_batch_pages
      FOR EACH ROW EXECUTE FUNCTION ${schema}.slow_claim()`);
  });
  afterAll(async () => {
    await pool?.query(`DROP TRIGGER IF EXISTS slow_claim_${id} ON sync_batch_pages`);
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('the page is redone on a new worker and counted once; the target equals the source', async () => {
    const t0 = Date.now();
    const first = await h.startWorkerProcess();
    console.log(`worker ready after ${Date.now() - t0} ms`);
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    const batchUid = started!.batchUid;

    // Wait until page 2's TRACK sleeps inside its transaction, then kill the worker running it.
    const deadline = Date.now() + 60_000;
    while ((await sleepingTrack()) === 0) {
      if (Date.now() > deadline) throw new Error(`page ${SLOW_PAGE}'s TRACK was never seen running`);
      await new Promise((r) => setTimeout(r, 25));
    }
    console.log(`TRACK of page ${SLOW_PAGE} seen sleeping after ${Date.now() - t0} ms`);
    const exited = new Promise((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const killedAt = Date.now();

    // The killed TRACK's transaction ends with its connection, uncommitted: pages 0 and 1 tracked, page 2 not.
    while ((await sleepingTrack()) > 0) await new Promise((r) => setTimeout(r, 50));
    await pool.query(`DROP TRIGGER slow_claim_${id} ON sync_batch_pages`); // waits for the dying transaction's lock
    const ledger = await pool.query<{ page: number }>(
      'SELECT page FROM sync_batch_pages WHERE batch_uid = $1 ORDER BY page',
      [batchUid],
    );
    expect(ledger.rows.map((r) => r.page)).toEqual([0, 1]);
    const midway = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
    expect(midway).toMatchObject({ status: 'running', pagesCompleted: 2, totalFetched: 200n, inserted: 200n });
    // Issue 13: what was sent and not acknowledged is visible: page 2's records (and any later page's INGEST
    // that ran before the kill) are pending in the identity store, the tracked pages' synced.
    const statuses = await pool.query<{ sync_status: string; n: number }>(
      `SELECT sync_status, count(*)::int AS n FROM identity_status WHERE entity_name = $1 GROUP BY 1 ORDER BY 1`,
      [entity],
    );
    const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.sync_status, r.n]));
    expect(byStatus.synced).toBe(200);
    expect(byStatus.pending).toBeGreaterThanOrEqual(100);
    expect((byStatus.pending ?? 1) % 100).toBe(0);
    expect(Object.keys(byStatus).sort()).toEqual(['pending', 'synced']);

    await h.startWorkerProcess();
    const done = await waitForBatch(h, batchUid, 180_000);
    console.log(`completed ${Date.now() - killedAt} ms after the kill`);
    expect(done).toMatchObject({
      status: 'completed',
      fetched: ROWS,
      inserted: ROWS,
      updated: 0,
      skipped: 0,
      failed: 0,
      pending: 0,
      deleted: 0,
    });
    expect(balanced(done)).toBe(true);

    // The history: page 2's TRACK timed out on its heartbeat (its worker was gone) and the page was redone.
    const events = (await h.client.workflow.getHandle(`sync-${entity}`).fetchHistory()).events ?? [];
    const pageOf = (eventId: string | undefined) => {
      const scheduled = events.find((e) => e.eventId?.toString() === eventId);
      const input = scheduled?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
      return {
        activity: scheduled?.activityTaskScheduledEventAttributes?.activityType?.name,
        page: input ? (defaultPayloadConverter.fromPayload(input) as { page?: number }).page : undefined,
      };
    };
    const timedOut = events
      .filter((e) => e.activityTaskTimedOutEventAttributes)
      .map((e) => pageOf(e.activityTaskTimedOutEventAttributes!.scheduledEventId?.toString()));
    expect(timedOut).toContainEqual({ activity: 'trackPage', page: SLOW_PAGE });
    const tracks = events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trackPage')
      .map((e) => pageOf(e.eventId?.toString()).page);
    expect(tracks.filter((p) => p === SLOW_PAGE)).toHaveLength(2); // killed, then redone

    // Each page counted once: one ledger row and one page_completed event per page, and they add up to the source.
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
    const pages = await pool.query<{ page: number }>('SELECT page FROM sync_batch_pages WHERE batch_uid = $1', [
      batchUid,
    ]);
    expect(pages.rows).toHaveLength(batch.pagesCompleted);
    const completedEvents = await h.prisma.syncEvent.findMany({ where: { batchUid, type: 'sync.page_completed' } });
    const eventPages = completedEvents.map((e) => (e.payload as { page: number }).page).sort((a, b) => a - b);
    expect(eventPages).toEqual(pages.rows.map((r) => r.page).sort((a, b) => a - b));
    const fetchedByEvents = completedEvents.reduce((sum, e) => sum + (e.payload as { fetched: number }).fetched, 0);
    expect(fetchedByEvents).toBe(ROWS);

    // The identity store: each key once, synced; no DLQ rows.
    const identities = await pool.query(
      `SELECT count(*) AS n, count(DISTINCT bk_hash) AS keys, count(*) FILTER (WHERE sync_status = 'synced') AS synced
         FROM identity_status WHERE entity_name = $1`,
      [entity],
    );
    expect(identities.rows[0]).toEqual({ n: String(ROWS), keys: String(ROWS), synced: String(ROWS) });
    expect(await count('SELECT count(*) AS n FROM failed_records WHERE entity_name = $1', [entity])).toBe(0);

    // The target equals the source: every row once, with the source's current row version.
    const target = `${schema}.${entity}_target`;
    const rows = await pool.query(`SELECT count(*) AS n, count(DISTINCT erp_key_hash) AS keys FROM ${target}`);
    expect(rows.rows[0]).toEqual({ n: String(ROWS), keys: String(ROWS) });
    const differing = await count(
      `SELECT count(*) AS n FROM ${schema}.items s FULL JOIN ${target} t
           ON t.part_no = upper(s.part_no) AND t.plant = s.plant
        WHERE s.part_no IS NULL OR t.part_no IS NULL OR t.rv IS DISTINCT FROM s.row_version`,
    );
    expect(differing).toBe(0);
  }, 240_000);
});
