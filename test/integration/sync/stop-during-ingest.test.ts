import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync, stopSync } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 11, item 3 ("stop stops"): a stop during INGEST reaches the running
 * activities. The target is slow (a trigger sleeps in every write statement),
 * so when the stop comes, INGEST activities are in the middle of their writes.
 * They must be cancelled (the statement cancelled, the transaction rolled
 * back) and the batch must close only after they stopped: once the stop has
 * returned and the batch is `cancelled`, the target receives no more writes.
 */
describe('stop during INGEST: no target write after the batch is cancelled', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `stopw_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(6)}`;
  const target = `${schema}.${entity}_target`;
  const SLEEP_S = 4;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  /** Committed write statements on the target (the counter row is written in the writer's own transaction). */
  const writes = async () => Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.target_writes`)).rows[0].n);
  /** Target rows holding the second version of the data. */
  const updated = async () =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${target} WHERE description = 'v2'`)).rows[0].n);

  beforeAll(async () => {
    h = await createHarness('stopwrite');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(2000));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100 }));
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('cancels the running writes, ends cancelled and balanced, and the target receives nothing afterwards', async () => {
    // A first, fast sync creates the target table; then the target becomes slow and counts its writes.
    const [first] = await runSync(h, [entity], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 2000 });
    await pool.query(`CREATE TABLE ${schema}.target_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())`);
    await pool.query(`CREATE FUNCTION ${schema}.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_sleep(${SLEEP_S});
        INSERT INTO ${schema}.target_writes DEFAULT VALUES;
        RETURN NULL;
      END $$`);
    await pool.query(`CREATE TRIGGER slow_write AFTER INSERT OR UPDATE OR DELETE ON ${target}
      FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.slow_write()`);

    await pool.query(`UPDATE ${schema}.items SET descr = 'v2', row_version = nextval('${schema}.rv')`);
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'incremental', execute: true });
    // Wait until some pages have landed and the next ones are inside their (slow) writes.
    const deadline = Date.now() + 60_000;
    while ((await writes()) < 2) {
      if (Date.now() > deadline) throw new Error('the slow target never received two writes');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const inFlight = await pool.query(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO %' AND query LIKE '%${entity}_target%'`,
    );
    expect(Number(inFlight.rows[0].n)).toBeGreaterThan(0); // the stop comes during INGEST

    const stoppedAt = Date.now();
    await stopSync(deps(), started!.batchUid);
    const stopped = await waitForBatch(h, started!.batchUid);
    const cancelledAfterMs = Date.now() - stoppedAt;
    expect(stopped.status).toBe('cancelled');
    expect(balanced(stopped)).toBe(true);
    expect(stopped.fetched).toBeGreaterThan(0);
    expect(stopped.fetched).toBeLessThan(2000);
    expect(stopped.updated).toBe(stopped.fetched); // only tracked pages count, and each of them was written

    const writesAtEnd = await writes();
    const updatedAtEnd = await updated();
    // The writes in flight were cancelled, not waited out: the batch closed well before a slow write could finish.
    expect(cancelledAfterMs).toBeLessThan(SLEEP_S * 1000);
    // Nothing is still writing, and nothing lands afterwards.
    const writing = await pool.query(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO %' AND query LIKE '%${entity}_target%'`,
    );
    expect(Number(writing.rows[0].n)).toBe(0);
    await new Promise((r) => setTimeout(r, (SLEEP_S + 2) * 1000));
    expect(await writes()).toBe(writesAtEnd);
    expect(await updated()).toBe(updatedAtEnd);
    // Every tracked page was committed on the target; a page cancelled mid-write left nothing half-written.
    expect(updatedAtEnd).toBeGreaterThanOrEqual(stopped.updated);
    expect(updatedAtEnd % 100).toBe(0);
  }, 180_000);
});
