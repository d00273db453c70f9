import { randomUUID } from 'node:crypto';
import { decodeTimeoutType } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { getReconcileReport, startReconcile } from '../../../control/reconciles.ts';
import { startSync } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, waitForBatch } from '../../support/sync-fixtures.ts';

/**
 * A worker process SIGKILLed while a reconcile reads its source. reconcileSource (activities/reconcile.ts) stores
 * each normalized page in the work table reconcile_source_records together with the read's resume state (cursor,
 * rows so far) in reconcile_reports.progress, in one transaction (db/reconcile.ts storeSourcePage); a retried
 * attempt continues after the last stored page (readSourceState). A trigger created by this test sleeps inside
 * the INSERT of the third page (the report has stored 200 rows), so the store is observably running when the
 * worker is killed. That transaction never commits; once reconcileSource stops heartbeating (1 minute) Temporal
 * retries it on a new worker, which reads pages 3-6 only: the work table and the report count every row once.
 *
 * Two counters, kept by a second trigger (AFTER INSERT, per statement, this entity's running report only):
 * - a sequence (not transactional): INSERTs of the work table that ran to their end, committed or not;
 * - a log table (transactional): the stores that committed, each with the rows the report had stored before it.
 */
describe('a worker SIGKILLed while a reconcile reads its source', () => {
  let h: Harness;
  let pool: pg.Pool;
  const id = randomUUID().slice(0, 8);
  const schema = `rkl_${id}`;
  const entity = `items_rkl_${id}`;
  const ROWS = 600;
  const PAGE = 100;
  const SLOW_AT = 200; // rows stored when the slow store (the third page) runs
  const SLEEP_S = 4;
  const sleepTrigger = `rkl_sleep_${id}`;
  const countTrigger = `rkl_count_${id}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);
  /** The third page's store, asleep in the trigger. */
  const sleepingStore = () =>
    count(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO reconcile_source_records%'
          AND pid <> pg_backend_pid()`,
    );
  /** INSERTs of the work table that ran to their end (the sequence: not rolled back with its transaction). */
  const storesRun = () => count(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${schema}.stores_run`);
  /** Committed stores, in order, each as the rows the report had stored before it. */
  const storesCommitted = async () =>
    (await pool.query<{ before: number }>(`SELECT before FROM ${schema}.stores ORDER BY n`)).rows.map((r) => r.before);
  const workRows = (uid: string) =>
    count('SELECT count(*) AS n FROM reconcile_source_records WHERE report_uid = $1::uuid', [uid]);

  beforeAll(async () => {
    h = await createHarness('reconcile-kill');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(ROWS));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: PAGE }));
    const running = `FROM reconcile_reports WHERE entity_name = '${entity}' AND status = 'running'`;
    await pool.query(`CREATE SEQUENCE ${schema}.stores_run`);
    await pool.query(`CREATE TABLE ${schema}.stores (n bigint GENERATED ALWAYS AS IDENTITY, before int)`);
    await pool.query(`CREATE FUNCTION ${schema}.slow_store() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 ${running} AND (progress->>'sourceRows')::int = ${SLOW_AT}) THEN
          PERFORM pg_sleep(${SLEEP_S});
        END IF;
        RETURN NULL;
      END $$`);
    await pool.query(`CREATE FUNCTION ${schema}.count_store() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 ${running}) THEN
          PERFORM nextval('${schema}.stores_run');
          INSERT INTO ${schema}.stores (before) SELECT (progress->>'sourceRows')::int ${running};
        END IF;
        RETURN NULL;
      END $$`);
    await pool.query(`CREATE TRIGGER ${sleepTrigger} BEFORE INSERT ON reconcile_source_records
      FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.slow_store()`);
    await pool.query(`CREATE TRIGGER ${countTrigger} AFTER INSERT ON reconcile_source_records
      FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.count_store()`);
  });
  afterAll(async () => {
    await pool?.query(`DROP TRIGGER IF EXISTS ${sleepTrigger} ON reconcile_source_records`);
    await pool?.query(`DROP TRIGGER IF EXISTS ${countTrigger} ON reconcile_source_records`);
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('the retry resumes the source read after the last stored page; every row is counted once', async () => {
    const t0 = Date.now();
    const first = await h.startWorkerProcess();
    console.log(`worker ready after ${Date.now() - t0} ms`);

    // The target matches the source: a full sync, executed.
    const [sync] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    const synced = await waitForBatch(h, sync!.batchUid);
    expect(synced).toMatchObject({ status: 'completed', fetched: ROWS, inserted: ROWS, failed: 0 });
    expect(await storesRun()).toBe(0); // the sync stores nothing in the work table

    const started = await startReconcile(deps(), { entity });
    const uid = started.reportUid;

    // Wait until the third page's store sleeps inside its transaction, then kill the worker running it.
    const deadline = Date.now() + 60_000;
    while ((await sleepingStore()) === 0) {
      if (Date.now() > deadline) throw new Error('the third page of the source was never seen being stored');
      await new Promise((r) => setTimeout(r, 25));
    }
    console.log(`the third page's store seen sleeping after ${Date.now() - t0} ms`);
    const exited = new Promise((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const killedAt = Date.now();

    // The killed store's backend does not notice its client is gone while it sleeps: it ends its INSERT (the
    // sequence counts it), then finds the connection closed and ends without committing.
    while ((await sleepingStore()) > 0) await new Promise((r) => setTimeout(r, 50));
    await pool.query(`DROP TRIGGER ${sleepTrigger} ON reconcile_source_records`); // waits for the dying transaction
    expect(await storesCommitted()).toEqual([0, PAGE]);
    expect(await storesRun()).toBe(3);
    const midway = await getReconcileReport(deps(), uid);
    expect(midway).toMatchObject({ status: 'running', progress: { phase: 'source', sourceRows: SLOW_AT } });
    const state = (await pool.query('SELECT progress FROM reconcile_reports WHERE uid = $1::uuid', [uid])).rows[0]
      .progress as { sourceCursor: unknown; sourceDone: unknown };
    expect(state.sourceCursor).not.toBeNull();
    expect(state.sourceDone).toBe(false);
    expect(await workRows(uid)).toBe(SLOW_AT);

    // A new worker: reconcileSource is retried once its heartbeat times out, and continues at the cursor.
    await h.startWorkerProcess();
    const handle = h.client.workflow.getHandle(started.workflowId);
    const outcome = await Promise.race([
      handle.result(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`reconcile ${uid} did not end within 180 s of the kill`)), 180_000),
      ),
    ]);
    console.log(`completed ${Date.now() - killedAt} ms after the kill`);
    expect(outcome).toMatchObject({ reportUid: uid, clean: true });

    const report = await getReconcileReport(deps(), uid);
    expect(report).toMatchObject({
      status: 'completed',
      clean: true,
      error: null,
      source: { rows: ROWS, records: ROWS, unsyncable: 0 },
    });
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]).toMatchObject({
      target: 'main',
      missing: 0,
      extra: 0,
      different: 0,
      orphans: 0,
      unverifiedSegments: [],
      clean: true,
    });

    // Six pages stored and committed in all, each once: two before the kill, four by the retry, which began
    // where the report stood (200 rows). A read started over would commit pages 1-6 again (eight stores).
    expect(await storesCommitted()).toEqual([0, 100, 200, 300, 400, 500]);
    expect(await storesRun()).toBe(3 + 4);
    // The finished report leaves nothing in the work table.
    expect(await workRows(uid)).toBe(0);

    // The history: reconcileSource was scheduled once; its second attempt completed after the first one's
    // heartbeat timed out (Temporal retries an activity without recording each attempt's failure as an event).
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'reconcileSource',
    );
    expect(scheduled).toHaveLength(1);
    const scheduledId = scheduled[0]!.eventId?.toString();
    const startedEvents = events.filter(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduledId,
    );
    expect(startedEvents).toHaveLength(1);
    const attempt = startedEvents[0]!.activityTaskStartedEventAttributes!;
    expect(attempt.attempt).toBe(2);
    expect(decodeTimeoutType(attempt.lastFailure?.timeoutFailureInfo?.timeoutType)).toBe('HEARTBEAT');
    expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toEqual([]);
    expect(
      events.some((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduledId),
    ).toBe(true);
  }, 240_000);
});
