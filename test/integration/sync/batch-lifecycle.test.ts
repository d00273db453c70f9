import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBatchActivities } from '../../../activities/batch.ts';
import { createPrisma, type Prisma } from '../../../db/prisma.ts';
import { zeroCounts } from '../../../pipeline/accounting.ts';
import '../../support/provided.ts';

describe('batch lifecycle activities (real PostgreSQL)', () => {
  let prisma: Prisma;
  let activities: ReturnType<typeof createBatchActivities>;
  const env = new MockActivityEnvironment();
  beforeAll(() => {
    const databaseUrl = inject('databaseUrl');
    prisma = createPrisma(databaseUrl);
    activities = createBatchActivities({ prisma, databaseUrl });
  });
  afterAll(() => prisma.$disconnect());

  const start = (batchUid: string) =>
    env.run(activities.markBatchRunning, {
      batchUid,
      entityName: 'lifecycle_items',
      syncType: 'full' as const,
      dryRun: false,
      workflowId: `wf-${batchUid}`,
    });

  it('moves running → completed, counts each page once even when retried, and logs events', async () => {
    const batchUid = randomUUID();
    await start(batchUid);
    await start(batchUid); // a retried start changes nothing
    const page = { ...zeroCounts(), fetched: 10, inserted: 6, updated: 1, skipped: 2, failed: 1 };
    await env.run(activities.recordPageCounts, batchUid, 0, page);
    await env.run(activities.recordPageCounts, batchUid, 0, page); // retried activity
    await env.run(activities.recordPageCounts, batchUid, 1, { ...zeroCounts(), fetched: 5, skipped: 4, pending: 1 });
    await env.run(activities.finishBatch, batchUid, 'completed' as const);

    const batch = await prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
    expect(batch.status).toBe('completed');
    expect(Number(batch.totalFetched)).toBe(15);
    expect(Number(batch.skipped)).toBe(6);
    expect(batch.pagesCompleted).toBe(2);
    const events = await prisma.syncEvent.findMany({ where: { batchUid }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.type)).toEqual([
      'sync.started',
      'sync.page_completed',
      'sync.page_completed',
      'sync.completed',
    ]);
  });

  it('refuses a page whose counts do not balance', async () => {
    const batchUid = randomUUID();
    await start(batchUid);
    const unbalanced = { ...zeroCounts(), fetched: 10, inserted: 9 };
    await expect(env.run(activities.recordPageCounts, batchUid, 0, unbalanced)).rejects.toThrow(/does not balance/);
  });
});
