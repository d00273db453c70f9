import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  insertItems,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 15, inserts by COPY, crash safety: a worker that dies between INGEST and TRACK leaves rows in the
 * target that the identity store never heard of, so the redone page's DELTA says INSERT for them again. The
 * PostgreSQL target COPYs inserts straight into the table; a row already there is a unique violation, and the
 * batch must fall back to the staged upsert: the sync completes, counts as the source, no row twice.
 *
 * The state is made as the crash leaves it: a sync writes the first 50 rows (target and identity store), then
 * their identity rows are removed (TRACK never committed). The next full sync's first page (100 rows) holds
 * those 50 and 50 new ones; one of the 50 changed in the source meanwhile.
 */
describe('inserts the target already holds (a crash between INGEST and TRACK)', () => {
  let h: Harness;
  let pool: pg.Pool;
  const id = randomUUID().slice(0, 8);
  const schema = `iat_${id}`;
  const entity = `items_iat_${id}`;
  const target = `${schema}.${entity}_target`;
  const ROWS = 350;
  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);

  beforeAll(async () => {
    h = await createHarness('inserts-already-in-target');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(50));
    await registerEntity(h, itemEntity(entity, schema, { pageSize: 100 }));
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.query('DELETE FROM identity_streams WHERE entity_name = $1', [entity]); // and its records
    await pool?.end();
  });

  it('the sync completes, counts right, no duplicate, and the target equals the source', async () => {
    const [first] = await runSync(h, [entity], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 50, failed: 0 });
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(50);

    // TRACK of that page never committed: the target holds the rows, the identity store does not.
    await pool.query('DELETE FROM identity_streams WHERE entity_name = $1', [entity]); // and its records
    await insertItems(pool, schema, itemRows(ROWS - 50, 50));
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed meanwhile', row_version = nextval('${schema}.rv')
        WHERE part_no = 'p-000007'`,
    );

    const [redone] = await runSync(h, [entity], 'full', true);
    expect(redone!.summary).toMatchObject({
      status: 'completed',
      fetched: ROWS,
      inserted: ROWS,
      updated: 0,
      skipped: 0,
      failed: 0,
      pending: 0,
      deleted: 0,
    });
    expect(balanced(redone!.summary)).toBe(true);
    expect(await count('SELECT count(*) AS n FROM failed_records WHERE entity_name = $1', [entity])).toBe(0);

    // Every row once, with the source's current values.
    const keys = await pool.query(`SELECT count(*) AS n, count(DISTINCT erp_key_hash) AS keys FROM ${target}`);
    expect(keys.rows[0]).toEqual({ n: String(ROWS), keys: String(ROWS) });
    const differing = await count(
      `SELECT count(*) AS n FROM ${schema}.items s FULL JOIN ${target} t
           ON t.part_no = upper(s.part_no) AND t.plant = s.plant
        WHERE s.part_no IS NULL OR t.part_no IS NULL OR t.rv IS DISTINCT FROM s.row_version`,
    );
    expect(differing).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM ${target} WHERE description = 'changed meanwhile'`)).toBe(1);

    // The identity store knows every record again, synced, and agrees with the target's hashes.
    const identities = await pool.query(
      `SELECT count(*) AS n, count(*) FILTER (WHERE ir.sync_status = 'synced' AND ir.data_hash = t.erp_data_hash) AS agree
         FROM identity_status ir JOIN ${target} t ON t.erp_key_hash = ir.bk_hash
        WHERE ir.entity_name = $1`,
      [entity],
    );
    expect(identities.rows[0]).toEqual({ n: String(ROWS), agree: String(ROWS) });

    // And a resync finds nothing to do.
    const [resync] = await runSync(h, [entity], 'full', true);
    expect(resync!.summary).toMatchObject({ status: 'completed', skipped: ROWS, inserted: 0, updated: 0, failed: 0 });
  }, 180_000);
});
