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
 * Adds one page's counts to its batch, once: the page is claimed in the page
 * ledger (sync_batch_pages) with INSERT … ON CONFLICT DO NOTHING in the same
 * statement, so a retried or redone TRACK finds it claimed and changes nothing.
 * Run it inside TRACK's transaction: a rollback releases the claim with the rest.
 * Refuses counts that do not balance. Returns false when the page was already counted.
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
    `WITH claim AS (
       INSERT INTO sync_batch_pages (batch_uid, page) VALUES ($1::uuid, $2::int)
       ON CONFLICT (batch_uid, page) DO NOTHING
       RETURNING batch_uid
     )
     UPDATE sync_batches
        SET total_fetched = total_fetched + $3, total_processed = total_processed + $3,
            inserted = inserted + $4, updated = updated + $5, skipped = skipped + $6,
            failed = failed + $7, pending = pending + $8, deleted = deleted + $9,
            pages_completed = pages_completed + 1,
            watermark_to = COALESCE($10, watermark_to),
            updated_at = now()
      WHERE uid = (SELECT batch_uid FROM claim)`,
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

/**
 * Per-batch facts beyond the counts, kept in `metrics` (added to, once per page, inside TRACK's transaction
 * after the page was claimed):
 * - `unkeyedFailures`: rows of a full sync that failed before DELTA and whose business key could not be
 *   computed; while there are any, the batch's deletes are held (a missing record may be one of them);
 * - `secondaryFailures`: per secondary target, records it refused or could not take (dead-lettered there; the
 *   batch's counts follow the primary).
 */
export interface BatchMetricCounts {
  unkeyedFailures?: number;
  secondaryFailures?: Record<string, number>;
}

export async function addBatchMetricCounts(db: Queryable, batchUid: string, add: BatchMetricCounts): Promise<void> {
  if (add.unkeyedFailures) {
    await db.query(
      `UPDATE sync_batches
          SET metrics = jsonb_set(metrics, '{unkeyedFailures}',
                                  to_jsonb(COALESCE((metrics->>'unkeyedFailures')::bigint, 0) + $2::bigint))
        WHERE uid = $1::uuid`,
      [batchUid, add.unkeyedFailures],
    );
  }
  const secondary = Object.entries(add.secondaryFailures ?? {}).filter(([, n]) => n > 0);
  if (secondary.length > 0) {
    await db.query(
      `UPDATE sync_batches
          SET metrics = jsonb_set(metrics, '{secondaryFailures}',
                COALESCE(metrics->'secondaryFailures', '{}'::jsonb) ||
                (SELECT jsonb_object_agg(t.name, COALESCE((metrics->'secondaryFailures'->>t.name)::bigint, 0) + t.n)
                   FROM unnest($2::text[], $3::bigint[]) AS t(name, n)))
        WHERE uid = $1::uuid`,
      [batchUid, secondary.map(([name]) => name), secondary.map(([, n]) => n)],
    );
  }
}

/** The batch's metrics counts (zero when none were recorded). */
export async function readBatchMetricCounts(
  db: Queryable,
  batchUid: string,
): Promise<{ unkeyedFailures: number; secondaryFailures: Record<string, number> }> {
  const { rows } = await db.query<{ unkeyed: string | null; secondary: Record<string, number> | null }>(
    `SELECT metrics->>'unkeyedFailures' AS unkeyed, metrics->'secondaryFailures' AS secondary
       FROM sync_batches WHERE uid = $1::uuid`,
    [batchUid],
  );
  const secondary = rows[0]?.secondary ?? {};
  return {
    unkeyedFailures: Number(rows[0]?.unkeyed ?? 0),
    secondaryFailures: Object.fromEntries(Object.entries(secondary).map(([name, n]) => [name, Number(n)])),
  };
}

/** Adds to a batch's metrics under `key` (a JSON object merged in: deletes held, and the like). */
export async function mergeBatchMetrics(
  db: Queryable,
  batchUid: string,
  patch: Record<string, unknown>,
): Promise<void> {
  await db.query(`UPDATE sync_batches SET metrics = metrics || $2::jsonb, updated_at = now() WHERE uid = $1::uuid`, [
    batchUid,
    JSON.stringify(patch),
  ]);
}

/** Deletes applied after the pages were counted. */
export async function addDeleted(db: Queryable, batchUid: string, n: number): Promise<void> {
  if (n === 0) return;
  await db.query('UPDATE sync_batches SET deleted = deleted + $2, updated_at = now() WHERE uid = $1::uuid', [
    batchUid,
    n,
  ]);
}

/**
 * Whether a batch of any of these entities is open (pending, running or paused): a child entity's batch waits
 * for its children only while a parent entity's batch that can still release them is open.
 */
export async function anyBatchOpen(db: Queryable, entityNames: readonly string[]): Promise<boolean> {
  if (entityNames.length === 0) return false;
  const { rows } = await db.query<{ open: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM sync_batches
                     WHERE entity_name = ANY($1::varchar[]) AND status IN ('pending', 'running', 'paused')) AS open`,
    [[...entityNames]],
  );
  return rows[0]!.open;
}
