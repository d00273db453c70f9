import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { jsonb } from './jsonb.ts';
import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/** The dead-letter queue (failed_records): writing to it, listing it and queueing records for another attempt. */

/** One record for the DLQ, whichever stage failed it (TRACK, child release, deletes). */
export interface DeadLetter {
  batchUid: string;
  entityName: string;
  /** See {@link deadLetterKey}: a replayed page, a retried release or the same bad row seen again lands once. */
  idempotencyKey: string;
  /** fetch | normalize | validate | map | identity | delta | resolve | ingest | track */
  stage: string;
  errorType: string;
  errorMessage: string;
  /** Null when the record failed before identity could be computed. */
  bkHash?: string | null;
  dataHash?: string | null;
  refStr?: string | null;
  /** The business key as read from the source (`field=value|…`, raw values): names a record without identity. */
  sourceKey?: string | null;
  /** The target that refused the record or could not take it; null for failures before any target. */
  targetName?: string | null;
  errorDetails?: unknown;
  rawData?: unknown;
  normalizedData?: unknown;
  mappedData?: unknown;
  /** Attempts already made (a child that waited for its parent); 0 otherwise. */
  retryCount?: number;
  /** When another attempt is due (transient failures); null: only on request (requeue). */
  nextRetryAt?: Date | null;
}

/**
 * The DLQ's idempotency key: the entity, the record's version (`bk_hash:data_hash`, `bk_hash:delete`, or
 * `raw:<hash>` for a row without a computable key) and, for a failure on one target, that target.
 */
export const deadLetterKey = (entityName: string, version: string, targetName?: string | null): string =>
  `${entityName}:${version}${targetName ? `:${targetName}` : ''}`;

/** Writes DLQ rows in one statement; a row whose idempotency key is already there is left as it is. */
export async function insertDeadLetters(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  rows: readonly DeadLetter[],
): Promise<void> {
  if (rows.length === 0) return;
  const records = rows.map((r) => ({
    uid: uuidv7(),
    batch_uid: r.batchUid,
    entity_name: r.entityName,
    bk_hash: r.bkHash ?? null,
    data_hash: r.dataHash ?? null,
    ref_str: r.refStr ?? null,
    source_key: r.sourceKey ?? null,
    idempotency_key: r.idempotencyKey,
    target_name: r.targetName ?? null,
    stage: r.stage,
    error_type: r.errorType,
    error_message: r.errorMessage,
    error_details: r.errorDetails ?? null,
    raw_data: r.rawData ?? null,
    normalized_data: r.normalizedData ?? null,
    mapped_data: r.mappedData ?? null,
    retry_count: r.retryCount ?? 0,
    next_retry_at: r.nextRetryAt?.toISOString() ?? null,
  }));
  await db.query(
    `INSERT INTO failed_records
       (uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, source_key, idempotency_key, target_name, stage, error_type,
        error_message, error_details, raw_data, normalized_data, mapped_data, retry_count, next_retry_at, updated_at)
     SELECT uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, source_key, idempotency_key, target_name, stage, error_type,
            error_message, error_details, raw_data, normalized_data, mapped_data, retry_count, next_retry_at, now()
       FROM jsonb_to_recordset($1::jsonb) AS t(
         uid uuid, batch_uid uuid, entity_name varchar, bk_hash varchar, data_hash varchar, ref_str text,
         source_key text, idempotency_key varchar, target_name varchar, stage varchar, error_type varchar, error_message text,
         error_details jsonb, raw_data jsonb, normalized_data jsonb, mapped_data jsonb, retry_count int,
         next_retry_at timestamptz)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [jsonb(records)],
  );
}
export interface DeadLetterFilter {
  entity?: string | undefined;
  stage?: string | undefined;
  errorType?: string | undefined;
  batchUid?: string | undefined;
  /** Exactly this source key (`field=value|…`). */
  key?: string | undefined;
  /** unresolved (default): still in the queue; resolved: replayed successfully; all. */
  status?: 'unresolved' | 'resolved' | 'all' | undefined;
}

function whereOf(filter: DeadLetterFilter) {
  const status = filter.status ?? 'unresolved';
  return {
    ...(filter.entity ? { entityName: filter.entity } : {}),
    ...(filter.stage ? { stage: filter.stage } : {}),
    ...(filter.errorType ? { errorType: filter.errorType } : {}),
    ...(filter.batchUid ? { batchUid: filter.batchUid } : {}),
    ...(filter.key ? { sourceKey: filter.key } : {}),
    ...(status === 'unresolved' ? { resolvedAt: null } : status === 'resolved' ? { resolvedAt: { not: null } } : {}),
  };
}

/** One DLQ record by its uid; null when there is none. */
export function getDeadLetter(prisma: Prisma, uid: string) {
  return prisma.failedRecord.findUnique({ where: { uid } });
}

export async function listDeadLetters(prisma: Prisma, filter: DeadLetterFilter, request: PageRequest) {
  const where = whereOf(filter);
  const [rows, total] = await Promise.all([
    prisma.failedRecord.findMany(pageQuery(request, where)),
    prisma.failedRecord.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}

/** A record a target took (TRACK): its bk_hash and its source key as read (`field=value|…`). */
export interface LandedRecord {
  bkHash: string;
  sourceKey: string | null;
}

/** Whether the entity has open (unresolved) dead letters: one index probe. */
export async function hasOpenDeadLetters(db: Pick<pg.Pool | pg.PoolClient, 'query'>, entityName: string) {
  const open = await db.query('SELECT 1 FROM failed_records WHERE entity_name = $1 AND resolved_at IS NULL LIMIT 1', [
    entityName,
  ]);
  return (open.rowCount ?? 0) > 0;
}

/**
 * Resolves the open dead letters of records a sync just landed on `targetName` (resolution `synced`, the
 * batch): the target's own failures, and the record's failures before any target (by bk_hash, or by the source
 * key for a row that failed before it had one). In the caller's transaction (TRACK's, which first asks
 * hasOpenDeadLetters). Answers how many were resolved.
 */
export async function resolveLandedDeadLetters(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  entityName: string,
  targetName: string,
  batchUid: string,
  landed: readonly LandedRecord[],
): Promise<number> {
  if (landed.length === 0) return 0;
  const keys = landed.flatMap((r) => (r.sourceKey === null ? [] : [r.sourceKey]));
  const resolved = await db.query(
    `UPDATE failed_records
        SET resolved_at = now(), resolved_batch_uid = $3::uuid, resolution = 'synced', next_retry_at = NULL,
            updated_at = now()
      WHERE entity_name = $1 AND resolved_at IS NULL AND (target_name = $2 OR target_name IS NULL)
        AND (bk_hash = ANY($4::varchar[]) OR (bk_hash IS NULL AND source_key = ANY($5::text[])))`,
    [entityName, targetName, batchUid, landed.map((r) => r.bkHash), keys],
  );
  return resolved.rowCount ?? 0;
}
