import type { SyncBatch } from '@prisma/client';
import type pg from 'pg';
import { type RecordCounts, unaccounted } from '../pipeline/accounting.ts';

/** A batch row's counts (BigInt columns) as numbers. */
export function countsOfBatch(batch: SyncBatch): RecordCounts {
  return {
    fetched: Number(batch.totalFetched),
    inserted: Number(batch.inserted),
    updated: Number(batch.updated),
    skipped: Number(batch.skipped),
    failed: Number(batch.failed),
    pending: Number(batch.pending),
    deleted: Number(batch.deleted),
  };
}

type Queryable = Pick<pg.PoolClient, 'query'>;

export class AccountingError extends Error {
  override readonly name = 'AccountingError';
}

/**
 * Adds one page's counts to its batch, once: the page number is recorded in
 * the batch's metrics in the same statement, so a retried TRACK finds it
 * claimed and changes nothing. Refuses counts that do not balance.
 * Returns false when the page was already counted.
 */
export async function claimPageCounts(
  db: Queryable,
  batchUid: string,
  page: number,
  counts: RecordCounts,
  watermark: string | null = null,
): Promise<boolean> {
  if (unaccounted(counts) !== 0) {
    throw new AccountingError(
      `Page ${page} of batch ${batchUid} does not balance: fetched ${counts.fetched} ≠ inserted + updated + skipped + failed + pending (${JSON.stringify(counts)}).`,
    );
  }
  const claimed = await db.query(
    `UPDATE sync_batches
        SET metrics = jsonb_set(metrics, '{pagesCounted}', COALESCE(metrics->'pagesCounted', '[]'::jsonb) || to_jsonb($2::int)),
            total_fetched = total_fetched + $3, total_processed = total_processed + $3,
            inserted = inserted + $4, updated = updated + $5, skipped = skipped + $6,
            failed = failed + $7, pending = pending + $8, deleted = deleted + $9,
            pages_completed = pages_completed + 1,
            watermark_to = COALESCE($10, watermark_to),
            updated_at = now()
      WHERE uid = $1::uuid
        AND NOT (COALESCE(metrics->'pagesCounted', '[]'::jsonb) @> to_jsonb($2::int))`,
    [
      batchUid,
      page,
      counts.fetched,
      counts.inserted,
      counts.updated,
      counts.skipped,
      counts.failed,
      counts.pending,
      counts.deleted,
      watermark,
    ],
  );
  return (claimed.rowCount ?? 0) > 0;
}

/** Moves records between buckets of a batch after its pages were counted (children released or dead-lettered). */
export async function moveCounts(
  db: Queryable,
  batchUid: string,
  from: 'pending',
  to: 'inserted' | 'updated' | 'failed',
  n: number,
): Promise<void> {
  if (n === 0) return;
  await db.query(
    `UPDATE sync_batches SET ${from} = ${from} - $2, ${to} = ${to} + $2, updated_at = now() WHERE uid = $1::uuid`,
    [batchUid, n],
  );
}
