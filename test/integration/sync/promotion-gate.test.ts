import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { promoteEntity } from '../../../control/promotion.ts';
import { startReconcile } from '../../../control/reconciles.ts';
import { getEntity, saveEntity, setEntityMode } from '../../../db/entities.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';

/**
 * Issue 14, gate on parity: an entity configured with `promoteRequiresCleanReconcile` stays in dry run until a
 * clean reconcile of its targets, finished after its configuration last changed, proves the target (filled by
 * another system, here an earlier live run) holds what the source says. The refusal names the counts.
 */
describe('promotion gated on a clean reconcile', () => {
  let h: Harness;
  let pool: pg.Pool;
  const id = randomUUID().slice(0, 8);
  const schema = `pgate_${id}`;
  const items = `items_pgate_${id}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  const reconcile = async (repair = false) => {
    const started = await startReconcile(deps(), { entity: items, repair });
    await h.client.workflow.getHandle(started.workflowId).result();
    return started.reportUid;
  };

  beforeAll(async () => {
    h = await createHarness('promotion-gate');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(150));
    await registerEntity(h, itemEntity(items, schema, { promoteRequiresCleanReconcile: true }));
    await h.startWorker();
    // The target filled by a live run (as another system would have), then the entity back in dry run.
    await setEntityMode(h.prisma, items, 'live');
    await runSync(h, [items], 'full', true);
    await setEntityMode(h.prisma, items, 'dry_run');
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  it('refuses without a reconcile, with an unclean one naming its counts, after a config change; then promotes', async () => {
    await expect(promoteEntity(deps(), items)).rejects.toMatchObject({
      status: 409,
      code: 'parity_not_proven',
      message: expect.stringContaining('no completed reconcile'),
    });

    await pool.query(`DELETE FROM ${schema}.${items}_target WHERE part_no IN ('P-000001', 'P-000002')`);
    const dirty = await reconcile();
    await expect(promoteEntity(deps(), items)).rejects.toMatchObject({
      status: 409,
      code: 'parity_not_proven',
      message: expect.stringContaining(`${dirty}) is not clean: main: missing 2, identityMismatch 2`),
      details: { entity: items, reportUid: dirty },
    });
    expect((await getEntity(h.prisma, items))!.mode).toBe('dry_run');

    // The rows put back by a repair (a full sync would not see them missing: the identity store says synced), a
    // clean reconcile, then a configuration change: the reconcile is older than it, not enough.
    await reconcile(true);
    const entity = (await getEntity(h.prisma, items))!;
    await new Promise((r) => setTimeout(r, 20));
    await saveEntity(h.prisma, { ...entity.config, description: 'changed after the reconcile' });
    await expect(promoteEntity(deps(), items)).rejects.toMatchObject({
      message: expect.stringContaining("older than its configuration's last change"),
    });

    await reconcile();
    expect((await promoteEntity(deps(), items)).mode).toBe('live');
  }, 180_000);
});
