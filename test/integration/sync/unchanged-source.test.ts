import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { syncWorkflowId } from '../../../workflows/contract.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 15: a row whose source hash (the row as read, with the entity's configuration) equals the one stored
 * with its record is SKIPped before NORMALIZE. Each way the shortcut could skip a row the full path would
 * write is tried against real PostgreSQL and Temporal: a changed value, a rowversion that went backwards, a
 * record deleted from the target since, a configuration change. The stage counts show which rows NORMALIZE saw.
 */
describe('rows unchanged since the last sync are skipped before NORMALIZE', () => {
  let h: Harness;
  let pool: pg.Pool;
  const id = randomUUID().slice(0, 8);
  const schema = `uns_${id}`;
  const entity = `items_uns_${id}`;
  const target = `${schema}.${entity}_target`;
  const ROWS = 250;
  const one = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows[0];

  /** The full sync's counts, and how many rows NORMALIZE saw. */
  async function fullSync() {
    const [run] = await runSync(h, [entity], 'full', true);
    expect(run!.summary.status).toBe('completed');
    expect(balanced(run!.summary)).toBe(true);
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: run!.batchUid } });
    const stages = (batch.metrics as { stages: Record<string, { rowsIn: number; rowsOut: number }> }).stages;
    return { ...run!.summary, normalized: stages.normalize!.rowsIn };
  }

  beforeAll(async () => {
    h = await createHarness('unchanged-source');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(ROWS));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100 }));
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('skips unchanged rows, and takes the full path for each change the shortcut must not hide', async () => {
    expect(await fullSync()).toMatchObject({ inserted: ROWS, normalized: ROWS });
    // Nothing changed: every row skipped at FETCH, none normalized.
    expect(await fullSync()).toMatchObject({ skipped: ROWS, inserted: 0, updated: 0, normalized: 0 });

    // A changed value (with its rowversion): that row alone goes the full way, and is written.
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed', row_version = nextval('${schema}.rv') WHERE part_no = 'p-000007'`,
    );
    expect(await fullSync()).toMatchObject({ updated: 1, skipped: ROWS - 1, normalized: 1 });
    expect(await one(`SELECT description FROM ${target} WHERE part_no = 'P-000007'`)).toEqual({
      description: 'changed',
    });

    // A rowversion that went backwards (data changed too): the shortcut does not skip it; DELTA decides as it
    // always has (an older version never overwrites a newer one), so the target keeps the newer data.
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'older', row_version = row_version - 100000 WHERE part_no = 'p-000008'`,
    );
    expect(await fullSync()).toMatchObject({ updated: 0, skipped: ROWS, normalized: 1 });
    // DELTA's SKIP stored that row's source hash: the next sync skips it early.
    expect(await fullSync()).toMatchObject({ skipped: ROWS, normalized: 0 });

    // A record deleted from the target since (the row left the source, then came back exactly as it was):
    // its stored record says deleted, so it is inserted again, not skipped.
    const saved = await one(`SELECT * FROM ${schema}.items WHERE part_no = 'p-000009'`);
    await pool.query(`DELETE FROM ${schema}.items WHERE part_no = 'p-000009'`);
    expect(await fullSync()).toMatchObject({ deleted: 1, skipped: ROWS - 1 });
    await pool.query(
      `INSERT INTO ${schema}.items (part_no, plant, descr, price, due, row_version) VALUES ($1, $2, $3, $4, $5, $6)`,
      [saved.part_no, saved.plant, saved.descr, saved.price, saved.due, saved.row_version],
    );
    expect(await fullSync()).toMatchObject({ inserted: 1, skipped: ROWS - 1, normalized: 1 });
    expect(Number((await one(`SELECT count(*) AS n FROM ${target}`)).n)).toBe(ROWS);

    // A configuration change that changes the output: nothing is skipped early, and DELTA (comparing data
    // hashes: with `auto` and rowversions it would keep the target's rows until their rowversion moves) rewrites
    // every row.
    const uppercased = itemEntity(entity, schema).fields.map((f) =>
      f.target === 'description' ? { ...f, transformation: 'uppercase' as const } : f,
    );
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100, deltaStrategy: 'hash', fields: uppercased }));
    expect(await fullSync()).toMatchObject({ updated: ROWS, normalized: ROWS });
    expect(await one(`SELECT description FROM ${target} WHERE part_no = 'P-000007'`)).toEqual({
      description: 'CHANGED',
    });
    // A configuration change that does not change the output: every row goes the full way once (and is
    // found unchanged by DELTA, which stores the new source hashes), then is skipped early again.
    await registerEntity(
      h,
      itemEntity(entity, schema, {
        pageSize: 100,
        deltaStrategy: 'hash',
        fields: uppercased,
        childRetryBaseSeconds: 61,
      }),
    );
    expect(await fullSync()).toMatchObject({ skipped: ROWS, normalized: ROWS });
    expect(await fullSync()).toMatchObject({ skipped: ROWS, normalized: 0 });

    // A row changed by hand in the target is not seen: not by this shortcut, and not by DELTA either (both
    // compare with the identity store). Finding it is a reconcile's work.
    await pool.query(`UPDATE ${target} SET description = 'by hand' WHERE part_no = 'P-000010'`);
    expect(await fullSync()).toMatchObject({ skipped: ROWS, normalized: 0 });

    // The identity store agrees with the target throughout.
    const agree = await one(
      `SELECT count(*) AS n, count(*) FILTER (WHERE ir.data_hash = t.erp_data_hash) AS agree
         FROM identity_status ir JOIN ${target} t ON t.erp_key_hash = ir.bk_hash
        WHERE ir.entity_name = $1 AND ir.deleted_at IS NULL`,
      [entity],
    );
    expect(agree).toEqual({ n: String(ROWS), agree: String(ROWS) });
  }, 300_000);

  it('an incremental sync with nothing above the watermark runs no page stage after FETCH', async () => {
    await runSync(h, [entity], 'incremental', true); // moves the watermark past the changes made above
    const [run] = await runSync(h, [entity], 'incremental', true);
    expect(run!.summary).toMatchObject({ status: 'completed', fetched: 0, inserted: 0, updated: 0, skipped: 0 });
    const history = await h.client.workflow.getHandle(syncWorkflowId(entity)).fetchHistory();
    const activities = (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name
        ? [e.activityTaskScheduledEventAttributes.activityType.name]
        : [],
    );
    expect(activities).toContain('fetchPage');
    expect(activities.filter((a) => ['transformPage', 'ingestPage', 'trackPage'].includes(a))).toEqual([]);
  }, 120_000);
});
