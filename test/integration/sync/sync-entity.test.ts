import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { SyncBatchId } from '../../../workflows/search-attributes.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
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

describe('syncEntity: PostgreSQL → PostgreSQL through the real workflow', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `sync_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(5)}`;
  const target = `${schema}.${entity}_target`;
  const count = async (sql: string) => Number((await pool.query(sql)).rows[0].n);

  beforeAll(async () => {
    h = await createHarness('sync');
    pool = createPool(h.databaseUrl);
    const rows = itemRows(450);
    rows[7]!.due = '2025-02-30'; // no such day: rejected, not rolled over
    rows[8]!.price = 'ten euros'; // not a number
    rows[9]!.due = null; // required
    await createItemSource(pool, schema, rows);
    await registerEntity(h, itemEntity(entity, schema));
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('a dry run reads and decides everything but writes nothing to any target', async () => {
    const [run] = await runSync(h, [entity], 'full', false);
    expect(run!.summary).toMatchObject({ status: 'completed', dryRun: true, fetched: 450, inserted: 447, failed: 3 });
    expect(balanced(run!.summary)).toBe(true);
    const exists = await pool.query(`SELECT to_regclass('${target}') AS t`);
    expect(exists.rows[0].t).toBeNull();
    expect(await count(`SELECT count(*) AS n FROM identity_status WHERE entity_name = '${entity}'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM failed_records WHERE entity_name = '${entity}'`)).toBe(0);
  });

  it('a full executed sync writes every valid row once and quarantines the invalid ones with their stage', async () => {
    const [run] = await runSync(h, [entity], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', dryRun: false, fetched: 450, inserted: 447, failed: 3 });
    expect(balanced(run!.summary)).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(447);
    const row = (await pool.query(`SELECT * FROM ${target} WHERE part_no = 'P-000003'`)).rows[0];
    expect(row.description).toBe('item\nnumber 3');
    expect(String(row.price)).toBe('-3.5');
    const dlq = await pool.query(
      `SELECT stage, error_type FROM failed_records WHERE entity_name = $1 ORDER BY error_type`,
      [entity],
    );
    expect(dlq.rows).toHaveLength(3);
    // A missing required field is the mapping layer's verdict: counted under MAP.
    expect(dlq.rows.map((r) => r.stage).sort()).toEqual(['map', 'normalize', 'normalize']);
  });

  it('a resync with nothing changed is all SKIP', async () => {
    const [run] = await runSync(h, [entity], 'full', true);
    expect(run!.summary).toMatchObject({ fetched: 450, inserted: 0, updated: 0, skipped: 447, failed: 3, deleted: 0 });
  });

  it('incremental reads above the watermark; a full sync then deletes what the source no longer has', async () => {
    await pool.query(
      `UPDATE ${schema}.items SET price = '1.00', row_version = nextval('${schema}.rv') WHERE part_no IN ('p-000010', 'p-000011')`,
    );
    await insertItems(pool, schema, itemRows(2, 1000));
    const [inc] = await runSync(h, [entity], 'incremental', true);
    // The full sync left the watermark at the source's highest rowversion: only the changed rows are read.
    expect(inc!.summary).toMatchObject({ status: 'completed', fetched: 4, inserted: 2, updated: 2, skipped: 0 });
    expect(balanced(inc!.summary)).toBe(true);
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed', row_version = nextval('${schema}.rv') WHERE part_no = 'p-000012'`,
    );
    const [inc2] = await runSync(h, [entity], 'incremental', true);
    expect(inc2!.summary).toMatchObject({ fetched: 1, updated: 1, inserted: 0 });

    await pool.query(`DELETE FROM ${schema}.items WHERE part_no IN ('p-000020', 'p-000021', 'p-000022')`);
    const [full] = await runSync(h, [entity], 'full', true);
    expect(full!.summary).toMatchObject({ status: 'completed', deleted: 3, inserted: 0 });
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(447 + 2 - 3);
  });

  it('continues as new to keep history bounded, and the batch carries on across runs', async () => {
    const batchUid = randomUUID();
    await h.client.workflow.start('syncEntity', {
      taskQueue: h.taskQueue,
      workflowId: `sync-${entity}`,
      args: [{ batchUid, entityName: entity, syncType: 'full', dryRun: true, pagesPerRun: 2 }],
      typedSearchAttributes: [{ key: SyncBatchId, value: batchUid }],
    });
    const done = await waitForBatch(h, batchUid);
    expect(done).toMatchObject({ status: 'completed', fetched: 449, skipped: 446, failed: 3 });
    expect(balanced(done)).toBe(true);
    let runs = 0;
    for await (const _ of h.client.workflow.list({ query: `SyncBatchId = "${batchUid}"` })) runs++;
    expect(runs).toBeGreaterThanOrEqual(3); // 5 pages, 2 per run
  });
});
