import { randomUUID } from 'node:crypto';
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
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/** A bounded trial run (POST /sync/start's maxItems): reads at most maxItems rows, completes, deletes nothing. */
describe('maxItems: a bounded trial run', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `mi_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(3)}`;
  const targetRows = async () =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.${entity}_target`)).rows[0].n);
  const bounded = async (syncType: 'full' | 'incremental', maxItems: number) => {
    const [started] = await startSync(
      { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue },
      { entities: [entity], syncType, execute: true, maxItems },
    );
    const summary = await waitForBatch(h, started!.batchUid);
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: started!.batchUid } });
    return { summary, notes: ((batch.metrics as { notes?: string[] }).notes ?? []).join('\n') };
  };
  const watermark = async () =>
    (await h.prisma.erpSyncState.findFirst({ where: { entityName: entity } }))?.lastSyncRowversion ?? null;

  beforeAll(async () => {
    h = await createHarness('max-items');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(1000));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100 })); // the smallest page size an entity takes
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('a full sync bounded by maxItems 250 over 1,000 rows reads 250 (pages of 100, 100, 50), completes and says so', async () => {
    const { summary, notes } = await bounded('full', 250);
    expect(summary).toMatchObject({ status: 'completed', fetched: 250, inserted: 250, deleted: 0 });
    expect(balanced(summary)).toBe(true);
    expect(notes).toMatch(/Stopped at maxItems: 250 rows read/);
    expect(await targetRows()).toBe(250);
    expect(await watermark()).toBeNull(); // the full-sync watermark did not move
  });

  it('reads the pages it was bounded to: 250 rows as pages of 100, 100 and 50', async () => {
    const { summary } = await bounded('full', 250);
    expect(summary).toMatchObject({ status: 'completed', fetched: 250 });
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: summary.batchUid } });
    expect(batch.pagesCompleted).toBe(3);
  });

  it('deletes nothing it did not see and leaves the full-sync watermark', async () => {
    const [full] = await runSync(h, [entity], 'full', true);
    expect(full!.summary).toMatchObject({ status: 'completed', fetched: 1000, deleted: 0 });
    const before = await watermark();
    expect(before).not.toBeNull();
    const { summary, notes } = await bounded('full', 250);
    // Unbounded, this full sync would have deleted the 750 records it did not read (deletePolicy hard).
    expect(summary).toMatchObject({ status: 'completed', fetched: 250, skipped: 250, deleted: 0 });
    expect(notes).toMatch(/no deletes applied and the full-sync watermark not moved/);
    expect(await targetRows()).toBe(1000);
    expect(await watermark()).toBe(before);
  });
});
