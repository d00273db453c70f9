import type pg from 'pg';
import type { Prisma } from './prisma.ts';

/**
 * The stored side of the trace of one record (control/trace.ts, GET /entities/:name/records/:key): what each
 * target holds according to the identity store, the record's dead letters and its waiting rows. Reads only,
 * one record per call, each statement bounded and served by an index (the identity store's primary key,
 * pending_children's unique key); the DLQ has no index on bk_hash / source_key, so its read scans the entity's
 * dead letters (the index on entity_name, stage) and stops at `limit`.
 */

/** One target's row of the identity store for the record (identity_records with its stream's names). */
export interface StoredRecordState {
  targetName: string;
  bkHash: string;
  dataHash: string;
  sourceHash: string | null;
  rowversion: string | null;
  refStr: string | null;
  targetUid: string | null;
  syncStatus: string;
  syncError: string | null;
  attempts: number;
  lastAttemptAt: Date | null;
  lastBatchUid: string | null;
  syncedAt: Date | null;
  deletedAt: Date | null;
}

/**
 * Every target's identity-store row for one bk_hash of the entity (targets with no row are absent). The
 * columns of the view identity_status, read from its tables so the bk_hash is matched by the primary key.
 */
export async function storedStatesOf(prisma: Prisma, entityName: string, bkHash: string): Promise<StoredRecordState[]> {
  const rows = await prisma.$queryRaw<Array<Omit<StoredRecordState, 'attempts'> & { attempts: number | bigint }>>`
    SELECT s.target_name AS "targetName", encode(r.bk_hash, 'hex') AS "bkHash",
           encode(r.data_hash, 'hex') AS "dataHash", encode(r.source_hash, 'hex') AS "sourceHash", r.rowversion,
           r.ref_str AS "refStr", r.target_uid AS "targetUid", r.sync_status AS "syncStatus",
           r.sync_error AS "syncError", r.attempts, r.last_attempt_at AS "lastAttemptAt",
           r.last_batch_uid::text AS "lastBatchUid", r.synced_at AS "syncedAt", r.deleted_at AS "deletedAt"
      FROM identity_streams s
      JOIN identity_records r ON r.stream_id = s.id AND r.bk_hash = decode(${bkHash}, 'hex')
     WHERE s.entity_name = ${entityName}
     ORDER BY s.target_name`;
  return rows.map((row): StoredRecordState => ({ ...row, attempts: Number(row.attempts) }));
}

/** The record's dead letters, newest first: those with its bk_hash or its source key; at most `limit`. */
export async function deadLettersOf(
  prisma: Prisma,
  entityName: string,
  record: { bkHash: string | null; sourceKey: string | null },
  limit: number,
) {
  const which = [
    ...(record.bkHash ? [{ bkHash: record.bkHash }] : []),
    ...(record.sourceKey ? [{ sourceKey: record.sourceKey }] : []),
  ];
  if (which.length === 0) return [];
  return prisma.failedRecord.findMany({
    where: { entityName, OR: which },
    orderBy: [{ createdAt: 'desc' }, { uid: 'desc' }],
    take: limit,
  });
}

/** The record's rows in pending_children (one per parent entity it waits, or waited, for), newest first. */
export function waitingRowsOf(prisma: Prisma, entityName: string, bkHash: string) {
  return prisma.pendingChild.findMany({
    where: { entityName, childBkHash: bkHash },
    orderBy: [{ createdAt: 'desc' }, { uid: 'desc' }],
  });
}

/**
 * The identity store's own reads (db/identity-store.ts, written for a `pg` pool) through Prisma's connection,
 * for the API, which holds no `pg` pool: one parameterised statement per call, the same text and values.
 */
export function storeReaderOf(prisma: Prisma): Pick<pg.Pool, 'query'> {
  const query = async (text: string, values: unknown[] = []) => ({
    rows: await prisma.$queryRawUnsafe<unknown[]>(text, ...values),
  });
  return { query } as unknown as Pick<pg.Pool, 'query'>;
}
