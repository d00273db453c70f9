import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  insertItems,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 11, item 7: one way to write to targets. A secondary target that fails during the release of waiting
 * children or during the deletes is recorded per record (the identity store's row for that target says
 * failed, the DLQ holds a row with its name, the batch counts it), as INGEST's failures are, and the primary
 * is still written. Before, both paths swallowed the failure (`return []`): no trace at all.
 */
describe('a failing secondary target, through the real workflows', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `sec_${randomUUID().slice(0, 8)}`;
  const items = `items_${schema.slice(4)}`;
  const orders = `orders_${schema.slice(4)}`;
  const main = `${schema}.${orders}_main`;
  const copy = `${schema}.${orders}_copy`;
  const count = async (sql: string, args: unknown[] = []) => Number((await pool.query(sql, args)).rows[0].n);
  const metricsOf = async (batchUid: string) =>
    (await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } })).metrics as {
      notes?: string[];
      secondaryFailures?: Record<string, number>;
    };
  /** Order i refers to item i. */
  const addOrders = (from: number, to: number) =>
    pool.query(
      `INSERT INTO ${schema}.orders (order_no, part_no, plant)
       SELECT 'o-' || lpad(i::text, 3, '0'), 'p-' || lpad(i::text, 6, '0'), CASE WHEN i % 2 = 0 THEN 'DE01' ELSE 'US02' END
         FROM generate_series($1::int, $2::int) AS i`,
      [from, to],
    );
  let firstOrdersBatch: string;

  beforeAll(async () => {
    h = await createHarness('secondary');
    pool = createPool(h.databaseUrl);
    // Items 0-19 exist; orders 0-29 refer to items 0-29, so orders 20-29 wait for their parents.
    await createItemSource(pool, schema, itemRows(20));
    await pool.query(`CREATE TABLE ${schema}.orders (order_no text PRIMARY KEY, part_no text, plant text)`);
    await addOrders(0, 29);
    await registerEntity(h, itemEntity(items, schema));
    await registerEntity(h, {
      name: orders,
      source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'orders' },
      targets: [
        { type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${orders}_main` },
        {
          type: 'postgres',
          name: 'copy',
          role: 'secondary',
          connection: LOCAL_CONNECTION,
          schema,
          table: `${orders}_copy`,
        },
      ],
      businessKey: ['order_no'],
      deletePolicy: 'hard',
      // Waiting children are not retried on their own during the test: only a landing parent releases them.
      childRetryBaseSeconds: 600,
      childWaitSeconds: 0,
      fields: [
        { source: 'order_no', target: 'order_no', required: true },
        // The item an order is for: its parent (items uppercase their part numbers).
        { source: 'part_no', target: 'part_no', transformation: 'uppercase' },
        { source: 'plant', target: 'plant' },
      ],
      parents: [{ entity: items, fields: { part_no: 'part_no', plant: 'plant' } }],
    });
    await h.startWorker();

    // Both targets healthy: orders 0-19 land on both, orders 20-29 wait.
    const [, ordersRun] = await runSync(h, [items, orders], 'full', true);
    expect(ordersRun!.summary).toMatchObject({ status: 'completed', inserted: 20, pending: 10, failed: 0 });
    firstOrdersBatch = ordersRun!.batchUid;
    expect(await count(`SELECT count(*) AS n FROM ${copy}`)).toBe(20);

    // From now on the secondary refuses every write (not a per-record refusal: its whole call fails).
    await pool.query(`CREATE FUNCTION ${schema}.copy_down() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the copy is down'; END $$`);
    await pool.query(
      `CREATE TRIGGER copy_down BEFORE INSERT OR UPDATE OR DELETE ON ${copy} FOR EACH ROW EXECUTE FUNCTION ${schema}.copy_down()`,
    );
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('child release: the children land on the primary; each one the secondary could not take is recorded', async () => {
    await insertItems(pool, schema, itemRows(10, 20));
    const [itemsRun] = await runSync(h, [items], 'incremental', true);
    expect(itemsRun!.summary).toMatchObject({ status: 'completed', inserted: 10 });

    // The parents' batch released the ten waiting orders: the primary has them, the children are released.
    expect(await count(`SELECT count(*) AS n FROM ${main}`)).toBe(30);
    expect(
      await count(`SELECT count(*) AS n FROM pending_children WHERE entity_name = $1 AND status = 'released'`, [
        orders,
      ]),
    ).toBe(10);
    const ordersBatch = await waitForBatch(h, firstOrdersBatch);
    expect(ordersBatch).toMatchObject({ inserted: 30, pending: 0, failed: 0 });
    expect(balanced(ordersBatch)).toBe(true);

    // The secondary took none of them, and each is recorded: its identity row says failed, with the reason …
    expect(await count(`SELECT count(*) AS n FROM ${copy}`)).toBe(20);
    const copyRows = await pool.query(
      `SELECT sync_status, sync_error FROM identity_status
        WHERE entity_name = $1 AND target_name = 'copy' AND sync_status <> 'synced'`,
      [orders],
    );
    expect(copyRows.rows).toHaveLength(10);
    for (const row of copyRows.rows) {
      expect(row.sync_status).toBe('failed');
      expect(row.sync_error).toMatch(/^target_unavailable: .*the copy is down/);
    }
    // … the DLQ has a row per record with the target's name, on the batch that read the child …
    const dlq = await pool.query(
      `SELECT batch_uid, target_name, stage, error_type, error_details->>'operation' AS operation, mapped_data IS NOT NULL AS mapped
         FROM failed_records WHERE entity_name = $1`,
      [orders],
    );
    expect(dlq.rows).toEqual(
      Array(10).fill({
        batch_uid: firstOrdersBatch,
        target_name: 'copy',
        stage: 'ingest',
        error_type: 'target_unavailable',
        operation: 'insert',
        mapped: true,
      }),
    );
    // … and that batch counts them as the secondary's failures.
    expect((await metricsOf(firstOrdersBatch)).secondaryFailures).toEqual({ copy: 10 });
  });

  it('deletes: the primary deletes; each delete the secondary could not take is recorded', async () => {
    await pool.query(`DELETE FROM ${schema}.orders WHERE order_no IN ('o-000', 'o-001', 'o-002', 'o-003', 'o-004')`);
    const [run] = await runSync(h, [orders], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', fetched: 25, deleted: 5, failed: 0 });
    expect(balanced(run!.summary)).toBe(true);

    // The primary no longer holds them; the secondary still does.
    expect(await count(`SELECT count(*) AS n FROM ${main}`)).toBe(25);
    expect(await count(`SELECT count(*) AS n FROM ${copy}`)).toBe(20);
    // Per record: the secondary's identity row (synced until now) says failed, not deleted, with the reason.
    const rows = await pool.query(
      `SELECT c.sync_status, c.sync_error, c.deleted_at IS NULL AS still_held, c.last_batch_uid
         FROM identity_status m JOIN identity_status c ON c.entity_name = m.entity_name AND c.bk_hash = m.bk_hash
        WHERE m.entity_name = $1 AND m.target_name = 'main' AND m.deleted_at IS NOT NULL AND c.target_name = 'copy'`,
      [orders],
    );
    expect(rows.rows).toHaveLength(5);
    for (const row of rows.rows) {
      expect(row).toMatchObject({ sync_status: 'failed', still_held: true, last_batch_uid: run!.batchUid });
      expect(row.sync_error).toMatch(/^target_unavailable: .*the copy is down/);
    }
    // A DLQ row per record with the target's name, and the batch says so.
    const dlq = await pool.query(
      `SELECT target_name, stage, error_type, error_details->>'operation' AS operation
         FROM failed_records WHERE batch_uid = $1::uuid`,
      [run!.batchUid],
    );
    expect(dlq.rows).toEqual(
      Array(5).fill({ target_name: 'copy', stage: 'ingest', error_type: 'target_unavailable', operation: 'delete' }),
    );
    // The full sync also sent the copy the ten children it failed before (DELTA decides per target), and the
    // copy, still down, failed them again: 10 + 5 failures on it (their dead letters are the earlier ones).
    const metrics = await metricsOf(run!.batchUid);
    expect(metrics.secondaryFailures).toEqual({ copy: 15 });
    expect(metrics.notes).toContain('15 records failed on the secondary target copy (in the DLQ for copy).');
  });

  it('the copy back up, the next full sync deletes what it missed and sends it what it lacks; its dead letters resolve', async () => {
    await pool.query(`DROP TRIGGER copy_down ON ${copy}`);
    const [run] = await runSync(h, [orders], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', fetched: 25, deleted: 0, failed: 0 });
    // The five deletes it missed, and the ten children it never got: the copy now equals the primary.
    expect(await count(`SELECT count(*) AS n FROM ${copy}`)).toBe(25);
    expect(
      await count(
        `SELECT count(*) AS n FROM (SELECT erp_key_hash FROM ${main} EXCEPT SELECT erp_key_hash FROM ${copy}) AS d`,
      ),
    ).toBe(0);
    expect(
      await count(
        `SELECT count(*) AS n FROM identity_status WHERE entity_name = $1 AND target_name = 'copy' AND sync_status <> 'synced'`,
        [orders],
      ),
    ).toBe(0);
    expect(
      await count('SELECT count(*) AS n FROM failed_records WHERE entity_name = $1 AND resolved_at IS NULL', [orders]),
    ).toBe(0);
  });
});
