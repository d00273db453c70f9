import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedRateLimits } from '../../../activities/shared-rate-limits.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import type { SchedulehubSandbox } from '../../../sandbox/index.ts';
import { createHarness, type Harness, startSchedulehubTarget } from '../../support/harness.ts';
import { excessOverCap, observedRate } from '../../support/request-rate.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, waitForBatch } from '../../support/sync-fixtures.ts';

/**
 * `rpmCap` is one budget per target connection, shared by every worker process and every entity through
 * SyncFlow's own database (rate_limits): measured where it matters, at the ScheduleHub sandbox.
 */
describe('rpmCap shared by every worker', () => {
  let h: Harness;
  let pool: pg.Pool;
  let sandbox: SchedulehubSandbox;
  const id = randomUUID().slice(0, 8);
  const connection = `planning-${id}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  beforeAll(async () => {
    h = await createHarness('ratecap');
    pool = createPool(h.databaseUrl);
    sandbox = await startSchedulehubTarget(h, connection, { schema: `sh_${id}` });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await pool?.end();
    await h?.close();
  });

  it('two limiters on two pools (two processes) share one bucket', async () => {
    const other = createPool(h.databaseUrl);
    try {
      const key = `direct-${id}`;
      const [a, b] = [new SharedRateLimits(pool).limiter(key, 600), new SharedRateLimits(other).limiter(key, 600)];
      const start = Date.now();
      const granted: number[] = [];
      // 10/s with a burst of 10: 30 requests between the two need at least 2 s.
      await Promise.all(
        [a, b].flatMap((limiter) =>
          Array.from({ length: 15 }, async () => {
            await limiter.take();
            granted.push(Date.now());
          }),
        ),
      );
      expect(Date.now() - start).toBeGreaterThanOrEqual(1900);
      expect(excessOverCap(granted, 10, 10)).toBeLessThanOrEqual(1);
    } finally {
      await other.end();
    }
  }, 30_000);

  it('two worker processes syncing two entities into one ScheduleHub stay within the strictest cap', async () => {
    const entities: string[] = [];
    for (const [suffix, rpmCap] of [
      ['a', 240],
      ['b', 600], // the other entity's 240 applies: one connection, one budget
    ] as const) {
      const schema = `rc_${id}${suffix}`;
      const entity = `items_rc_${id}${suffix}`;
      await createItemSource(pool, schema, itemRows(300));
      await registerEntity(
        h,
        itemEntity(entity, schema, {
          pageSize: 100,
          targets: [
            {
              type: 'schedulehub',
              name: 'planning',
              role: 'primary',
              connection,
              resource: entity,
              rpmCap,
              batchSize: 30,
            },
          ],
        }),
      );
      entities.push(entity);
    }
    await Promise.all([h.startWorkerProcess(), h.startWorkerProcess()]);
    sandbox.clearRequests();
    const started = await startSync(deps(), { entities, syncType: 'full', execute: true });
    const done = await Promise.all(started.map((s) => waitForBatch(h, s.batchUid, 120_000)));
    for (const batch of done)
      expect(batch).toMatchObject({ status: 'completed', fetched: 300, inserted: 300, failed: 0 });

    const times = sandbox.requests().map((r) => r.at);
    const batchCalls = sandbox.requests().filter((r) => r.path.includes('/batch/')).length;
    expect(batchCalls).toBeGreaterThanOrEqual(20);
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    console.log(
      `ScheduleHub saw ${times.length} requests (${batchCalls} batch calls) in ${span.toFixed(2)} s: ` +
        `${observedRate(times).toFixed(2)}/s against a cap of 4/s (burst 4); worst window ${excessOverCap(times, 4, 4).toFixed(2)} over the cap`,
    );
    // At most burst + rate × elapsed in every window (one request of slack for arrival jitter).
    expect(excessOverCap(times, 4, 4)).toBeLessThanOrEqual(1);

    // Both processes wrote (the cap is shared, not merely one worker doing all the work).
    const events = await h.prisma.syncEvent.findMany({
      where: { batchUid: { in: started.map((s) => s.batchUid) }, type: 'sync.page_completed' },
    });
    const workers = new Set(events.map((e) => (e.payload as { worker?: string }).worker).filter(Boolean));
    expect(workers.size).toBe(2);
  }, 180_000);
});
