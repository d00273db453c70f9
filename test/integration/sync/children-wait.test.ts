import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
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
 * Issue 13 part 7: a child entity's batch waits for its waiting children (up to childWaitSeconds) only while a
 * batch of a parent entity is open, the one that releases them when it lands; otherwise one release pass, and
 * the rest is the background retry's.
 */
describe('a batch waits for its children only while a parent batch runs', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `cw_${randomUUID().slice(0, 8)}`;
  const items = `items_${schema.slice(3)}`;
  const orders = `orders_${schema.slice(3)}`;
  const addOrder = (orderNo: string, partNo: string) =>
    pool.query(`INSERT INTO ${schema}.orders (order_no, part_no, plant, qty) VALUES ($1, $2, 'DE01', 1)`, [
      orderNo,
      partNo,
    ]);
  const notesOf = async (batchUid: string) =>
    ((await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } })).metrics as { notes?: string[] })
      .notes ?? [];
  const startOrders = async () => {
    const [started] = await startSync(
      { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue },
      { entities: [orders], syncType: 'incremental', execute: true },
    );
    return started!.batchUid;
  };

  beforeAll(async () => {
    h = await createHarness('children-wait');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(10));
    await pool.query(`CREATE TABLE ${schema}.orders (order_no text PRIMARY KEY, part_no text, plant text, qty int,
      row_version bigint NOT NULL DEFAULT nextval('${schema}.rv'))`);
    await registerEntity(h, itemEntity(items, schema));
    await registerEntity(h, {
      name: orders,
      source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'orders' },
      targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${orders}_target` }],
      businessKey: ['order_no'],
      rowversionField: 'rv',
      pageSize: 100,
      childRetryBaseSeconds: 1,
      childWaitSeconds: 30,
      maxChildRetries: 50,
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
    const [parent] = await runSync(h, [items], 'full', true);
    expect(parent!.summary).toMatchObject({ status: 'completed', inserted: 10 });
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('no parent batch open: an incremental with a waiting child ends at once, not after childWaitSeconds (30 s)', async () => {
    await addOrder('o-1', 'p-000000');
    await addOrder('o-orphan', 'p-999999');
    const startedMs = Date.now();
    const batch = await waitForBatch(h, await startOrders());
    expect(batch).toMatchObject({ status: 'completed', fetched: 2, inserted: 1, pending: 1 });
    expect(balanced(batch)).toBe(true);
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    expect((await notesOf(batch.batchUid)).join('\n')).toMatch(
      /1 children still wait for their parents; no batch of a parent entity is running/,
    );
  });

  it('a parent batch open: the incremental waits, releasing with backoff, until that batch ends', async () => {
    await addOrder('o-late', 'p-777777');
    // An open batch of the parent entity (as a running sync has): the child's batch keeps retrying its children.
    const parentBatch = randomUUID();
    await h.prisma.syncBatch.create({
      data: { uid: parentBatch, entityName: items, syncType: 'incremental', dryRun: false, status: 'running' },
    });
    const startedMs = Date.now();
    const uid = await startOrders();
    // The child waits (pending) while the parent batch runs; its parent then lands in the parent's target.
    for (let i = 0; i < 100; i++) {
      const waiting = await pool.query(
        `SELECT 1 FROM pending_children WHERE entity_name = $1 AND child_ref_str LIKE '%o-late%' AND status = 'waiting'`,
        [orders],
      );
      if (waiting.rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pool.query(
      `INSERT INTO ${schema}.items (part_no, plant, descr, price, due) VALUES ('p-777777', 'DE01', 'late', '1', '2025-01-01')`,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid } })).status).toBe('running');
    // The parent's rows land as its batch would write them (a real sync of items, then its batch closes).
    await h.prisma.syncBatch.update({ where: { uid: parentBatch }, data: { status: 'completed' } });
    const [parent] = await runSync(h, [items], 'incremental', true);
    expect(parent!.summary).toMatchObject({ status: 'completed', inserted: 1 });
    const batch = await waitForBatch(h, uid);
    expect(batch).toMatchObject({ status: 'completed', fetched: 1, inserted: 1, pending: 0 });
    expect(balanced(batch)).toBe(true);
    expect(Date.now() - startedMs).toBeGreaterThan(3_000);
  });
});
