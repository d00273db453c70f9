import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { claimPageCounts } from '../../../db/batches.ts';
import { createPrisma, type Prisma } from '../../../db/prisma.ts';
import { zeroCounts } from '../../../pipeline/accounting.ts';
import '../../support/provided.ts';

describe('page accounting (real PostgreSQL)', () => {
  let prisma: Prisma;
  let pool: pg.Pool;
  beforeAll(() => {
    const databaseUrl = inject('databaseUrl');
    prisma = createPrisma(databaseUrl);
    pool = createPool(databaseUrl);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await pool.end();
  });

  const newBatch = async () => {
    const uid = randomUUID();
    await prisma.syncBatch.create({
      data: { uid, entityName: 'lifecycle_items', syncType: 'full', status: 'running' },
    });
    return uid;
  };

  it('counts each page once even when its TRACK is retried', async () => {
    const batchUid = await newBatch();
    const page = { ...zeroCounts(), fetched: 10, inserted: 6, updated: 1, skipped: 2, failed: 1 };
    expect(await claimPageCounts(pool, batchUid, 0, page)).toBe(true);
    expect(await claimPageCounts(pool, batchUid, 0, page)).toBe(false); // a retried activity
    expect(
      await claimPageCounts(pool, batchUid, 1, { ...zeroCounts(), fetched: 5, skipped: 4, pending: 1 }, '42'),
    ).toBe(true);
    const batch = await prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
    expect(Number(batch.totalFetched)).toBe(15);
    expect(Number(batch.skipped)).toBe(6);
    expect(Number(batch.pending)).toBe(1);
    expect(batch.pagesCompleted).toBe(2);
    expect(batch.watermarkTo).toBe('42');
  });

  it('refuses a page whose counts do not balance', async () => {
    const batchUid = await newBatch();
    const unbalanced = { ...zeroCounts(), fetched: 10, inserted: 9 };
    await expect(claimPageCounts(pool, batchUid, 0, unbalanced)).rejects.toThrow(/does not balance/);
  });
});
