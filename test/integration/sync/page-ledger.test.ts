import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchActivities } from '../../../activities/batch.ts';
import type { PageRef } from '../../../activities/contract.ts';
import type { WorkerContext } from '../../../activities/deps.ts';
import { EntityRuntimes } from '../../../activities/entity-runtime.ts';
import { PageCache, type PageState } from '../../../activities/page-cache.ts';
import { createPageStageActivities } from '../../../activities/page-stages.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { getSyncStatus } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';

/** Issue 11, item 8: the "count each page once" ledger is the table sync_batch_pages, not a JSON array. */
describe('page ledger (sync_batch_pages)', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `ledger_${randomUUID().slice(0, 8)}`;
  const ledger = async (batchUid: string) =>
    (
      await pool.query<{ page: number }>('SELECT page FROM sync_batch_pages WHERE batch_uid = $1::uuid ORDER BY page', [
        batchUid,
      ])
    ).rows.map((r) => r.page);

  beforeAll(async () => {
    h = await createHarness('ledger');
    pool = createPool(h.databaseUrl);
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('TRACK run twice for the same page (a retried activity, a redone page) counts it once', async () => {
    const source = `${schema}_retry`;
    const entity = `items_${source}`;
    await createItemSource(pool, source, itemRows(30));
    await registerEntity(h, itemEntity(entity, source));
    const runtimes = new EntityRuntimes({ prisma: h.prisma, secrets: h.secrets });
    const ctx = {
      prisma: h.prisma,
      databaseUrl: h.databaseUrl,
      secrets: h.secrets,
      pool,
      runtimes,
      pages: new PageCache(),
      pageQueue: 'ledger-test',
    } as WorkerContext;
    const batch = createBatchActivities(ctx);
    const stages = createPageStageActivities(ctx);
    const mock = new MockActivityEnvironment();
    const env = {
      run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => mock.run(fn, ...args) as Promise<R>,
    };
    try {
      const batchUid = randomUUID();
      const plan = await env.run(batch.beginBatch, {
        batchUid,
        entityName: entity,
        syncType: 'full' as const,
        dryRun: false,
        workflowId: `ledger-${batchUid}`,
      });
      const ref: PageRef = {
        batchUid,
        entityName: entity,
        configVersion: plan.configVersion,
        page: 0,
        syncType: 'full',
        dryRun: false,
      };
      const request = { mode: plan.readMode, cursor: null, watermark: plan.watermark, pageSize: plan.pageSize };
      const upToIngest = async () => {
        await env.run(stages.fetchPage, ref, request);
        await env.run(stages.transformPage, ref);
        await env.run(stages.ingestPage, ref);
      };

      await upToIngest();
      const kept: PageState = structuredClone(ctx.pages.get(batchUid, 0));
      const first = await env.run(stages.trackPage, ref);
      expect(first.counts).toMatchObject({ fetched: 30, inserted: 30 });

      // The same TRACK again, as Temporal retries an activity whose completion was lost: same page state.
      ctx.pages.put(structuredClone(kept));
      await env.run(stages.trackPage, ref);
      // The page redone from FETCH (a lost worker): DELTA now says SKIP, and those counts must not be added.
      await upToIngest();
      const redone = await env.run(stages.trackPage, ref);
      expect(redone.counts).toMatchObject({ fetched: 30, skipped: 30 });

      const row = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
      expect(row.pagesCompleted).toBe(1);
      expect(Number(row.totalFetched)).toBe(30);
      expect(Number(row.inserted)).toBe(30);
      expect(Number(row.skipped)).toBe(0);
      expect(row.metrics).not.toHaveProperty('pagesCounted');
      expect(await ledger(batchUid)).toEqual([0]);
      expect(await h.prisma.syncEvent.count({ where: { batchUid, type: 'sync.page_completed' } })).toBe(1);

      // The ledger goes with its batch.
      await h.prisma.syncBatch.delete({ where: { uid: batchUid } });
      expect(await ledger(batchUid)).toEqual([]);
    } finally {
      await runtimes.closeAll();
    }
  });

  it('a real sync claims one ledger row per page, and the status API returns no page list', async () => {
    await h.startWorker();
    const source = `${schema}_sync`;
    const entity = `items_${source}`;
    await createItemSource(pool, source, itemRows(250));
    await registerEntity(h, itemEntity(entity, source));
    const [run] = await runSync(h, [entity], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', fetched: 250, inserted: 250 });
    const status = await getSyncStatus({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue }, run!.batchUid);
    expect(status.pagesCompleted).toBeGreaterThanOrEqual(3);
    expect(await ledger(run!.batchUid)).toEqual(Array.from({ length: status.pagesCompleted }, (_, i) => i));
    expect(JSON.stringify(status.metrics)).not.toMatch(/pagesCounted/);
  });
});
