import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchActivities } from '../../../activities/batch.ts';
import type { WorkerContext } from '../../../activities/deps.ts';
import { type EntityRuntime, EntityRuntimes } from '../../../activities/entity-runtime.ts';
import { PageCache } from '../../../activities/page-cache.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import type { Target } from '../../../connectors/types.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
} from '../../support/sync-fixtures.ts';

/** Issue 10, findings 8 and 10: what a sync reports must agree with what the targets hold. */
describe('sync correctness: failed rows and deletes, secondary targets', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `corr_${randomUUID().slice(0, 8)}`;
  const count = async (sql: string, args: unknown[] = []) => Number((await pool.query(sql, args)).rows[0].n);
  const metricsOf = async (batchUid: string) =>
    (await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } })).metrics as {
      notes?: string[];
      deletesHeld?: { unkeyedFailures: number; candidates: number };
      secondaryFailures?: Record<string, number>;
    };

  beforeAll(async () => {
    h = await createHarness('correctness');
    pool = createPool(h.databaseUrl);
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('a bad update never deletes the good record; a row without a computable key holds the deletes', async () => {
    const source = `${schema}_del`;
    const entity = `items_${source.slice(5)}`;
    const target = `${source}.${entity}_target`;
    await createItemSource(pool, source, itemRows(250));
    await registerEntity(h, itemEntity(entity, source, { deletePolicy: 'hard' }));
    const [first] = await runSync(h, [entity], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', fetched: 250, inserted: 250, failed: 0 });
    const priceOf = async (partNo: string) =>
      (await pool.query(`SELECT price FROM ${target} WHERE part_no = $1`, [partNo])).rows[0]?.price ?? null;
    const goodPrice = await priceOf('P-000005');
    expect(goodPrice).not.toBeNull();

    // A: a value outside its range (the key is fine); B: a business key that no longer normalizes (blank
    // plant); C: really gone from the source.
    await pool.query(`UPDATE ${source}.items SET price = '2,000,000,000.00' WHERE part_no = 'p-000005'`);
    await pool.query(`UPDATE ${source}.items SET plant = '   ' WHERE part_no = 'p-000006'`);
    await pool.query(`DELETE FROM ${source}.items WHERE part_no = 'p-000007'`);
    const [second] = await runSync(h, [entity], 'full', true);
    expect(second!.summary).toMatchObject({ status: 'completed', fetched: 249, failed: 2, skipped: 247, deleted: 0 });
    expect(balanced(second!.summary)).toBe(true);
    // Nothing deleted: A keeps its last good version, and B's record and C stay while B's identity is unknown.
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(250);
    expect(await priceOf('P-000005')).toEqual(goodPrice);
    const held = await metricsOf(second!.batchUid);
    expect(held.deletesHeld).toMatchObject({ unkeyedFailures: 1, candidates: 2 });
    expect(held.notes?.join(' ')).toMatch(/Deletes held: 1 failed rows have no computable business key/);
    const event = await h.prisma.syncEvent.findFirst({
      where: { batchUid: second!.batchUid, type: 'sync.deletes_held' },
    });
    expect(event?.payload).toMatchObject({ count: 1, candidates: 2 });

    // B fixed, A still bad: the deletes run again and remove only C; A is still kept (its key was seen).
    await pool.query(`UPDATE ${source}.items SET plant = 'DE01' WHERE part_no = 'p-000006'`);
    const [third] = await runSync(h, [entity], 'full', true);
    expect(third!.summary).toMatchObject({ status: 'completed', fetched: 249, failed: 1, deleted: 1 });
    expect(balanced(third!.summary)).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(249);
    expect(await priceOf('P-000005')).toEqual(goodPrice);
    expect(await priceOf('P-000007')).toBeNull();
    expect((await metricsOf(third!.batchUid)).deletesHeld).toBeUndefined();
  });

  /** An item source of 120 rows and its entity with a secondary target `copy` in a schema of its own. */
  const withSecondary = async (source: string) => {
    const entity = `items_${source.slice(5)}`;
    await createItemSource(pool, source, itemRows(120));
    const base = itemEntity(entity, source);
    await registerEntity(h, {
      ...base,
      targets: [
        ...base.targets,
        {
          type: 'postgres',
          name: 'copy',
          role: 'secondary',
          connection: LOCAL_CONNECTION,
          schema: `${source}_copy`,
          table: `${entity}_copy`,
        },
      ],
    });
    return { entity, secondary: `${source}_copy.${entity}_copy` };
  };

  it('a retried beginBatch ensures every target, so a secondary is never skipped', async () => {
    const { entity, secondary } = await withSecondary(`${schema}_sec`);

    // The first attempt of beginBatch marks the batch running, then the secondary's ensure fails (a dropped
    // connection); Temporal retries the activity.
    const runtimes = new EntityRuntimes({ prisma: h.prisma, secrets: h.secrets });
    let dropNext = true;
    const flaky = (rt: EntityRuntime): EntityRuntime => ({
      ...rt,
      target(name: string): Target {
        const real = rt.target(name);
        if (name !== 'copy') return real;
        return new Proxy(real, {
          get(object, property) {
            if (property === 'ensure') {
              return async (...args: Parameters<Target['ensure']>) => {
                if (dropNext) {
                  dropNext = false;
                  throw new Error('Connection terminated unexpectedly');
                }
                return object.ensure(...args);
              };
            }
            const value = Reflect.get(object, property, object);
            return typeof value === 'function' ? value.bind(object) : value;
          },
        });
      },
    });
    const ctx = {
      prisma: h.prisma,
      databaseUrl: h.databaseUrl,
      secrets: h.secrets,
      pool,
      runtimes: {
        get: async (name: string, version?: number) => flaky(await runtimes.get(name, version)),
      } as unknown as EntityRuntimes,
      pages: new PageCache(),
      pageQueue: 'unused',
    } as WorkerContext;
    const activities = createBatchActivities(ctx);
    const input = { batchUid: randomUUID(), entityName: entity, syncType: 'full' as const, dryRun: false };
    const env = new MockActivityEnvironment();
    await expect(env.run(activities.beginBatch, { ...input, workflowId: 'test-retry' })).rejects.toThrow(
      /Connection terminated/,
    );
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: input.batchUid } });
    expect(batch.status).toBe('running');
    await env.run(activities.beginBatch, { ...input, workflowId: 'test-retry' }); // the retry
    const exists = await pool.query(`SELECT to_regclass($1) AS t`, [secondary]);
    expect(exists.rows[0].t).not.toBeNull();
    expect(await h.prisma.syncEvent.count({ where: { batchUid: input.batchUid, type: 'sync.started' } })).toBe(1);
    await runtimes.closeAll();
  });

  it('records a secondary refused are counted in the batch notes and metrics, not hidden behind failed 0', async () => {
    const source = `${schema}_ref`;
    const { entity, secondary } = await withSecondary(source);
    const [first] = await runSync(h, [entity], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 120, failed: 0 });
    expect(await count(`SELECT count(*) AS n FROM ${secondary}`)).toBe(120);

    await pool.query(`CREATE FUNCTION ${source}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the secondary refuses this record'; END $$`);
    await pool.query(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${secondary} FOR EACH ROW EXECUTE FUNCTION ${source}.refuse()`,
    );
    await pool.query(
      `UPDATE ${source}.items SET descr = 'changed', row_version = nextval('${source}.rv') WHERE part_no IN ('p-000001', 'p-000002', 'p-000003')`,
    );
    const [second] = await runSync(h, [entity], 'full', true);
    // The primary took all three: the counts follow it, and the secondary's failures are said beside them.
    expect(second!.summary).toMatchObject({ status: 'completed', updated: 3, failed: 0 });
    expect(balanced(second!.summary)).toBe(true);
    const dlq = await count(
      `SELECT count(*) AS n FROM failed_records WHERE batch_uid = $1::uuid AND target_name = 'copy'`,
      [second!.batchUid],
    );
    expect(dlq).toBe(3);
    const metrics = await metricsOf(second!.batchUid);
    expect(metrics.secondaryFailures).toEqual({ copy: 3 });
    expect(metrics.notes).toContain('3 records failed on the secondary target copy (in the DLQ for copy).');
  });
});
