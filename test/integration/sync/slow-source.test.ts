import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { getSyncStatus } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';

/**
 * Issue 11, item 1: FETCH runs with a 15 s heartbeatTimeout. A source read
 * that takes longer (here 17 s in one statement) is a live activity as long
 * as it heartbeats: it must not time out, be retried, or make the workflow
 * redo the page on another worker.
 */
describe('a source slower than the heartbeat timeout', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `slowsrc_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(8)}`;
  const SLEEP_S = 17; // > the page stages' heartbeatTimeout (15 s, workflows/sync-entity.ts)

  beforeAll(async () => {
    h = await createHarness('slowsource');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(100));
    // The entity reads a view that sleeps once per page read (the keyset query's LIMIT), not for max(rowversion).
    await pool.query(`ALTER TABLE ${schema}.items RENAME TO items_raw`);
    await pool.query(`CREATE FUNCTION ${schema}.slow_read() RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        IF current_query() ILIKE '%LIMIT%' THEN PERFORM pg_sleep(${SLEEP_S}); END IF;
        RETURN true;
      END $$`);
    await pool.query(
      `CREATE VIEW ${schema}.items AS SELECT * FROM ${schema}.items_raw WHERE (SELECT ${schema}.slow_read())`,
    );
    await registerEntity(h, itemEntity(entity, schema));
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('completes without a heartbeat timeout, a retry or a redone page', async () => {
    const started = Date.now();
    const [run] = await runSync(h, [entity], 'full', true);
    expect(Date.now() - started).toBeGreaterThan(SLEEP_S * 1000); // the read really was that slow
    expect(run!.summary).toMatchObject({ status: 'completed', fetched: 100, inserted: 100, failed: 0 });

    const status = await getSyncStatus({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue }, run!.batchUid);
    const history = await h.client.workflow.getHandle(status.workflowId!).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => Boolean(name));
    expect(scheduled.filter((name) => name === 'fetchPage')).toHaveLength(1); // not redone on another worker
    expect(scheduled.filter((name) => name === 'claimPageWorker')).toHaveLength(2); // the page's, the prefetch; no re-claim
    expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toHaveLength(0);
    const fetchStarted = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        events.find((s) => s.eventId?.toString() === e.activityTaskStartedEventAttributes?.scheduledEventId?.toString())
          ?.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchPage',
    );
    expect(fetchStarted?.activityTaskStartedEventAttributes?.attempt).toBe(1); // no activity retry either
  }, 120_000);
});
