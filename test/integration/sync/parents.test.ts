import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { ensureRetrySchedule, RETRY_WAITING_SCHEDULE_ID } from '../../../control/schedules.ts';
import { startSync } from '../../../control/syncs.ts';
import { retryWaitingChildren } from '../../../workflows/retry-waiting.ts';
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

describe('parent/child resolution through the real workflows', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `par_${randomUUID().slice(0, 8)}`;
  const items = `items_${schema.slice(4)}`;
  const orders = `orders_${schema.slice(4)}`;
  const count = async (sql: string, args: unknown[] = []) => Number((await pool.query(sql, args)).rows[0].n);

  const addOrders = (rows: Array<[string, string, string, number]>) =>
    pool.query(
      `INSERT INTO ${schema}.orders (order_no, part_no, plant, qty)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );

  beforeAll(async () => {
    h = await createHarness('parents');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(50));
    await pool.query(`CREATE TABLE ${schema}.orders (order_no text PRIMARY KEY, part_no text, plant text, qty int,
      row_version bigint NOT NULL DEFAULT nextval('${schema}.rv'))`);
    // 40 orders of existing items, 3 of an item that never comes.
    await addOrders([
      ...Array.from(
        { length: 40 },
        (_, i) =>
          [`o-${i}`, `p-${String(i).padStart(6, '0')}`, i % 2 === 0 ? 'DE01' : 'US02', i + 1] as [
            string,
            string,
            string,
            number,
          ],
      ),
      ['o-orphan-1', 'p-999999', 'DE01', 1],
      ['o-orphan-2', 'p-999998', 'DE01', 1],
      ['o-orphan-3', 'p-999997', 'US02', 1],
    ]);
    await registerEntity(h, itemEntity(items, schema));
    await registerEntity(h, {
      name: orders,
      source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'orders' },
      targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${orders}_target` }],
      businessKey: ['order_no'],
      rowversionField: 'rv',
      pageSize: 100,
      childRetryBaseSeconds: 0.1,
      stageActivities: 'split', // the parent entity runs fused (the default): both paths are covered here
      maxChildRetries: 3,
      fields: [
        { source: 'order_no', target: 'order_no', required: true },
        { source: 'part_no', target: 'part_no', transformation: 'uppercase' },
        { source: 'plant', target: 'plant' },
        { source: 'qty', target: 'qty', type: 'integer' },
        { source: 'row_version', target: 'rv', type: 'bigint' },
      ],
      parents: [{ entity: items, fields: { part_no: 'part_no', plant: 'plant' } }],
    });
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('a dry run of parents and children counts as pending only the children whose parent would not be there', async () => {
    const runs = await runSync(h, [orders, items], 'full', false);
    expect(runs.map((r) => r.summary)).toMatchObject([
      { entityName: items, dryRun: true, inserted: 50 },
      { entityName: orders, dryRun: true, inserted: 40, pending: 3, failed: 0 },
    ]);
    expect(await count(`SELECT count(*) AS n FROM pending_children WHERE entity_name = $1`, [orders])).toBe(0);
  });

  it('children listed with their parents run after them; orphans go to the DLQ as parent_missing after the retry limit', async () => {
    const runs = await runSync(h, [orders, items], 'full', true);
    expect(runs.map((r) => r.summary.entityName)).toEqual([items, orders]); // parents first, whatever the request order
    const [parentRun, childRun] = runs;
    expect(parentRun!.summary).toMatchObject({ status: 'completed', inserted: 50 });
    // No batch of the parent entity runs any more: the child's batch made one release pass and ended, the
    // orphans left to the background retry (which dead-letters them at the limit).
    expect(childRun!.summary).toMatchObject({ status: 'completed', fetched: 43, inserted: 40, failed: 0, pending: 3 });
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 300)); // past the orphans' backoff (childRetryBaseSeconds 0.1)
      await h.client.workflow.execute(retryWaitingChildren, {
        taskQueue: h.taskQueue,
        workflowId: `retry-${randomUUID()}`,
      });
      if ((await waitForBatch(h, childRun!.batchUid)).pending === 0) break;
    }
    childRun!.summary = await waitForBatch(h, childRun!.batchUid);
    expect(childRun!.summary).toMatchObject({ fetched: 43, inserted: 40, failed: 3, pending: 0 });
    for (const run of runs) expect(balanced(run.summary)).toBe(true);
    const dlq = await pool.query(
      `SELECT stage, error_type, retry_count FROM failed_records WHERE entity_name = $1 ORDER BY ref_str`,
      [orders],
    );
    expect(dlq.rows).toEqual(Array(3).fill({ stage: 'resolve', error_type: 'parent_missing', retry_count: 2 }));
    expect(
      await count(`SELECT count(*) AS n FROM pending_children WHERE entity_name = $1 AND status = 'dead_lettered'`, [
        orders,
      ]),
    ).toBe(3);
  });

  it('a child that arrives before its parent waits, and is released when the parent lands', async () => {
    await pool.query(`UPDATE entities SET config = jsonb_set(config, '{childRetryBaseSeconds}', '2') WHERE name = $1`, [
      orders,
    ]);
    await pool.query(`UPDATE entities SET config_version = config_version + 1 WHERE name = $1`, [orders]);
    await addOrders([['o-late', 'p-000777', 'US02', 5]]);
    const [childStart] = await startSync(
      { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue },
      {
        entities: [orders],
        syncType: 'incremental',
        execute: true,
      },
    );
    // The child is waiting for p-000777 before the parent exists in the source at all.
    for (let i = 0; i < 100; i++) {
      if (
        (await count(
          `SELECT count(*) AS n FROM pending_children WHERE entity_name = $1 AND status IN ('waiting', 'releasing')`,
          [orders],
        )) > 0
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await insertItems(pool, schema, [
      { part_no: 'p-000777', plant: 'US02', descr: 'late parent', price: '1', due: '2025-01-01' },
    ]);
    const [parentRun] = await runSync(h, [items], 'incremental', true);
    expect(parentRun!.summary).toMatchObject({ status: 'completed', inserted: 1 });
    const child = await waitForBatch(h, childStart!.batchUid);
    expect(child).toMatchObject({ status: 'completed', inserted: 1, pending: 0, failed: 0 });
    expect(balanced(child)).toBe(true);
    const released = await h.prisma.syncEvent.count({ where: { entityName: orders, type: 'child.released' } });
    expect(released).toBeGreaterThan(0);
    expect(await count(`SELECT count(*) AS n FROM ${schema}.${orders}_target WHERE order_no = 'o-late'`)).toBe(1);
  });

  it('the scheduled background retry dead-letters an orphan after the limit, without another sync', async () => {
    await ensureRetrySchedule(h.client, h.taskQueue);
    await ensureRetrySchedule(h.client, h.taskQueue); // idempotent
    const schedule = h.client.schedule.getHandle(RETRY_WAITING_SCHEDULE_ID);
    expect((await schedule.describe()).action).toMatchObject({ workflowType: 'retryWaitingChildren' });
    await schedule.delete(); // the shared test server must not start it later; this test runs the workflow itself
    await pool.query(
      `UPDATE entities SET config = config || '{"childRetryBaseSeconds": 0.05, "childWaitSeconds": 0}'::jsonb,
              config_version = config_version + 1 WHERE name = $1`,
      [orders],
    );
    await addOrders([['o-orphan-late', 'p-888888', 'DE01', 1]]);
    const [run] = await runSync(h, [orders], 'incremental', true);
    expect(run!.summary).toMatchObject({ fetched: 1, pending: 1 });
    for (let i = 0; i < 10; i++) {
      await h.client.workflow.execute(retryWaitingChildren, {
        taskQueue: h.taskQueue,
        workflowId: `retry-${randomUUID()}`,
      });
      const child = await pool.query(
        `SELECT status FROM pending_children WHERE entity_name = $1 AND child_ref_str LIKE '%o-orphan-late%'`,
        [orders],
      );
      if (child.rows[0]?.status === 'dead_lettered') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const batch = await waitForBatch(h, run!.batchUid);
    expect(batch).toMatchObject({ pending: 0, failed: 1 });
    expect(balanced(batch)).toBe(true);
    const dlq = await pool.query(`SELECT error_type FROM failed_records WHERE batch_uid = $1`, [run!.batchUid]);
    expect(dlq.rows).toEqual([{ error_type: 'parent_missing' }]);
  });
});
