import type pg from 'pg';
import { copyLine, encoderFor } from '../connectors/postgres/copy-text.ts';
import { copyIntoTable } from '../connectors/postgres/staging.ts';
import type { ApplyResult } from '../connectors/types.ts';
import type { StoredIdentity } from '../pipeline/delta/delta.ts';
import type { TargetRecord } from '../pipeline/target-record.ts';

/**
 * The identity store: what each target holds per bk_hash. Bulk reads and writes go through `pg` (one statement
 * per page), not Prisma: this is the hot table of DELTA and TRACK.
 *
 * Narrow on disk (issue 15, docs/performance.md step 2): a row of identity_records names its entity and target
 * by an integer (identity_streams), and its hashes as bytes; the functions here take and give the hashes as the
 * hex text the rest of SyncFlow uses (`decode` / `encode` in SQL). The view identity_status shows the store with
 * names and hex hashes, for people and tests.
 */
type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** The stream id of ($1 entity, $2 target) inside a statement; null (so nothing matches) when it has none yet. */
const STREAM = '(SELECT id FROM identity_streams WHERE entity_name = $1 AND target_name = $2)';

/**
 * The rows whose target holds a version the store knows of: `synced`, or `pending` (sent, not yet acknowledged)
 * after an earlier acknowledged write (synced_at set, no error since). A pending row keeps the last
 * acknowledged data_hash; DELTA sends it again (reason `unacknowledged`), since which version the target holds
 * is unknown until an acknowledgement. A pending record never acknowledged, like a failed one, is not stored.
 */
const HOLDS_A_VERSION = `(sync_status = 'synced' OR (sync_status = 'pending' AND synced_at IS NOT NULL AND sync_error IS NULL))`;

export async function readStoredIdentities(
  db: Queryable,
  entityName: string,
  targetName: string,
  bkHashes: readonly string[],
): Promise<Map<string, StoredIdentity>> {
  const stored = new Map<string, StoredIdentity>();
  if (bkHashes.length === 0) return stored;
  const { rows } = await db.query<{
    bk_hash: string;
    data_hash: string;
    source_hash: string | null;
    rowversion: string | null;
    deleted_at: Date | null;
    synced_at: Date | null;
    sync_status: string;
  }>(
    // `bk_hash = ANY(…)` is one primary-key index scan (14 ms for 10,000 keys among 300,000, measured); a join
    // on the unnested array planned as a hash join over every record of the entity (165 ms, growing). There is
    // deliberately no index on (stream, status) over synced rows: the planner scanned it instead.
    `SELECT encode(bk_hash, 'hex') AS bk_hash, encode(data_hash, 'hex') AS data_hash,
            encode(source_hash, 'hex') AS source_hash, rowversion, deleted_at, synced_at, sync_status
       FROM identity_records
      WHERE stream_id = ${STREAM} AND bk_hash = ANY($3::bytea[]) AND ${HOLDS_A_VERSION}`,
    [entityName, targetName, hexBytes(bkHashes)],
  );
  for (const row of rows) {
    const unacknowledged = row.sync_status === 'pending';
    stored.set(row.bk_hash, {
      dataHash: row.data_hash,
      rowversion: row.rowversion,
      deletedAt: row.deleted_at,
      // A record sent but not acknowledged: the target holds the version before it or the one sent.
      sourceHash: unacknowledged ? null : row.source_hash,
      syncedAt: row.synced_at,
      ...(unacknowledged ? { unacknowledged } : {}),
    });
  }
  return stored;
}

/** The bk_hashes among `bkHashes` that the entity's target holds (a known version, not deleted). */
export async function presentIn(
  db: Queryable,
  entityName: string,
  targetName: string,
  bkHashes: readonly string[],
): Promise<Set<string>> {
  if (bkHashes.length === 0) return new Set();
  const { rows } = await db.query<{ bk_hash: string }>(
    `SELECT encode(bk_hash, 'hex') AS bk_hash FROM identity_records
      WHERE stream_id = ${STREAM} AND bk_hash = ANY($3::bytea[]) AND ${HOLDS_A_VERSION} AND deleted_at IS NULL`,
    [entityName, targetName, hexBytes([...new Set(bkHashes)])],
  );
  return new Set(rows.map((r) => r.bk_hash));
}

/**
 * The bk_hashes among `bkHashes` that the entity's latest completed dry run would have written (its seen keys,
 * kept until its next dry run): what a dry run of children counts as a parent that will be there.
 */
export async function wouldBePresent(
  db: Queryable,
  entityName: string,
  bkHashes: readonly string[],
): Promise<Set<string>> {
  if (bkHashes.length === 0) return new Set();
  const { rows } = await db.query<{ bk_hash: string }>(
    `SELECT bk_hash FROM sync_seen_keys
      WHERE batch_uid = (SELECT uid FROM sync_batches WHERE entity_name = $1 AND dry_run AND status = 'completed'
                          ORDER BY completed_at DESC LIMIT 1)
        AND bk_hash = ANY($2::varchar[]) AND NOT failed`,
    [entityName, [...new Set(bkHashes)]],
  );
  return new Set(rows.map((r) => r.bk_hash));
}

/** Hex hashes as the byte strings the store keeps (a `bytea[]` parameter). */
const hexBytes = (hashes: readonly string[]): Buffer[] => hashes.map((h) => Buffer.from(h, 'hex'));

export interface IdentityWrite {
  bkHash: string;
  dataHash: string;
  /** The source row's hash (pipeline/delta/unchanged-source.ts); null when the write did not come from one. */
  sourceHash: string | null;
  rowversion: string | null;
  refStr: string;
  targetUid: string | null;
  /** pending: sent, not yet acknowledged (INGEST, before the call); synced / failed: the target's answer (TRACK). */
  status: 'pending' | 'synced' | 'failed';
  error: string | null;
}

/** How the identity store (sync_error) and the DLQ say why a target did not take a record: `type: message`. */
export const failureText = (result: Pick<ApplyResult, 'error'>): string =>
  `${result.error?.type ?? 'target_error'}: ${result.error?.message ?? 'the target refused the record'}`;

/** What the identity store records for a record a target answered (its failure keeps what it last acknowledged). */
export function identityWriteOf(
  record: Pick<TargetRecord, 'bkHash' | 'dataHash' | 'rowversion' | 'refStr'>,
  result: ApplyResult,
  sourceHash: string | null = null,
): IdentityWrite {
  return {
    bkHash: record.bkHash,
    dataHash: record.dataHash,
    sourceHash,
    rowversion: record.rowversion,
    refStr: record.refStr,
    targetUid: result.targetUid ?? null,
    status: result.ok ? 'synced' : 'failed',
    error: result.ok ? null : failureText(result),
  };
}

/** The per-transaction table writeIdentities COPYs a page's rows into (dropped at commit or rollback). */
const IDENTITY_STAGE = 'sf_identity_write';
const IDENTITY_STAGE_COLUMNS = [
  'bk_hash',
  'data_hash',
  'source_hash',
  'rowversion',
  'ref_str',
  'target_uid',
  'status',
  'error',
];
/** Each row as a COPY line of the stage's columns. */
function identityCopyLines(rows: readonly IdentityWrite[]): string[] {
  const encoders = IDENTITY_STAGE_COLUMNS.map(() => encoderFor('string'));
  return rows.map((r) =>
    copyLine([r.bkHash, r.dataHash, r.sourceHash, r.rowversion, r.refStr, r.targetUid, r.status, r.error], encoders),
  );
}

/**
 * Marks the records about to be sent to a target `pending` (INGEST and the release of children, just before the
 * call): a crash between the send and the acknowledgement leaves them visible as pending (per-target state,
 * trace), and the next sync sends them again (see {@link HOLDS_A_VERSION}). What the target last acknowledged
 * (hashes, rowversion, error, attempts, synced_at, deleted_at) is kept; TRACK's write of the answer replaces it.
 */
export async function markSent(
  db: pg.Pool | pg.PoolClient,
  entityName: string,
  targetName: string,
  batchUid: string,
  records: ReadonlyArray<Pick<TargetRecord, 'bkHash' | 'dataHash' | 'rowversion' | 'refStr'>>,
): Promise<void> {
  const rows = records.map(
    (r): IdentityWrite => ({
      bkHash: r.bkHash,
      dataHash: r.dataHash,
      sourceHash: null,
      rowversion: r.rowversion,
      refStr: r.refStr,
      targetUid: null,
      status: 'pending',
      error: null,
    }),
  );
  await writeIdentities(db, entityName, targetName, batchUid, rows);
}

/**
 * Upserts one target's identity rows for a page (pending before the send, the answer after it): the rows are COPYed into a
 * temporary table (ON COMMIT DROP) and applied by one `INSERT … SELECT … ON CONFLICT` (issue 15: the former
 * upsert through seven unnested text[] parameters was the largest SQL cost of a sync; docs/performance.md).
 * Given a client inside a transaction (TRACK), it writes in that transaction; given a pool or an idle client,
 * in a transaction of its own.
 */
export async function writeIdentities(
  db: pg.Pool | pg.PoolClient,
  entityName: string,
  targetName: string,
  batchUid: string,
  rows: readonly IdentityWrite[],
): Promise<void> {
  if (rows.length === 0) return;
  const isClient = typeof (db as pg.PoolClient).release === 'function';
  const client = isClient ? (db as pg.PoolClient) : await (db as pg.Pool).connect();
  // 'T' (in a transaction) and 'E' (in a failed one, where the INSERT then fails as any statement would): the caller's.
  const status = client.getTransactionStatus();
  const ownTransaction = status !== 'T' && status !== 'E';
  let failed = false;
  try {
    if (ownTransaction) await client.query('BEGIN');
    await client.query(
      'INSERT INTO identity_streams (entity_name, target_name) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [entityName, targetName],
    );
    // IF NOT EXISTS + TRUNCATE: TRACK writes one target after another in one transaction.
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${IDENTITY_STAGE} (bk_hash text, data_hash text, source_hash text,
         rowversion text, ref_str text, target_uid text, status text, error text) ON COMMIT DROP;
       TRUNCATE ${IDENTITY_STAGE}`,
    );
    await copyIntoTable(
      client,
      IDENTITY_STAGE,
      IDENTITY_STAGE_COLUMNS.join(', '),
      identityCopyLines(rows),
      0,
      rows.length - 1,
    );
    await client.query(
      `INSERT INTO identity_records AS ir
         (stream_id, bk_hash, data_hash, source_hash, rowversion, ref_str, target_uid, sync_status, sync_error,
          attempts, last_attempt_at, last_batch_uid, synced_at, deleted_at)
       SELECT ${STREAM}, decode(t.bk_hash, 'hex'), decode(t.data_hash, 'hex'), decode(t.source_hash, 'hex'),
              t.rowversion, t.ref_str, t.target_uid, t.status, t.error,
              CASE WHEN t.status = 'pending' THEN 0 ELSE 1 END, now(), $3::uuid,
              CASE WHEN t.status = 'synced' THEN now() END, NULL
         FROM ${IDENTITY_STAGE} AS t
       ON CONFLICT (stream_id, bk_hash) DO UPDATE SET
         -- A failed or pending write keeps what the target last acknowledged: delta still compares against it.
         data_hash = CASE WHEN EXCLUDED.sync_status = 'synced' THEN EXCLUDED.data_hash ELSE ir.data_hash END,
         source_hash = CASE WHEN EXCLUDED.sync_status = 'synced' THEN EXCLUDED.source_hash ELSE ir.source_hash END,
         rowversion = CASE WHEN EXCLUDED.sync_status = 'synced' THEN EXCLUDED.rowversion ELSE ir.rowversion END,
         ref_str = EXCLUDED.ref_str,
         target_uid = COALESCE(EXCLUDED.target_uid, ir.target_uid),
         sync_status = EXCLUDED.sync_status,
         sync_error = CASE WHEN EXCLUDED.sync_status = 'pending' THEN ir.sync_error ELSE EXCLUDED.sync_error END,
         attempts = CASE EXCLUDED.sync_status WHEN 'synced' THEN 1 WHEN 'pending' THEN ir.attempts
                         ELSE ir.attempts + 1 END,
         last_attempt_at = now(),
         last_batch_uid = EXCLUDED.last_batch_uid,
         synced_at = COALESCE(EXCLUDED.synced_at, ir.synced_at),
         deleted_at = CASE WHEN EXCLUDED.sync_status = 'synced' THEN NULL ELSE ir.deleted_at END`,
      [entityName, targetName, batchUid],
    );
    if (ownTransaction) await client.query('COMMIT');
  } catch (error) {
    failed = true;
    if (ownTransaction) await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    if (!isClient) client.release(failed ? true : undefined);
  }
}

export async function markDeleted(
  db: Queryable,
  entityName: string,
  targetName: string,
  batchUid: string,
  bkHashes: readonly string[],
): Promise<void> {
  if (bkHashes.length === 0) return;
  await db.query(
    // The target acknowledged the delete: whatever failed on it before is settled.
    `UPDATE identity_records SET deleted_at = now(), last_batch_uid = $3::uuid, last_attempt_at = now(),
            sync_status = 'synced', sync_error = NULL
      WHERE stream_id = ${STREAM} AND bk_hash = ANY($4::bytea[])`,
    [entityName, targetName, batchUid, hexBytes(bkHashes)],
  );
}

/**
 * Stores the source hash of records DELTA found unchanged whose stored one differs (it was stored under an
 * earlier configuration, or before source hashes existed), so the next sync skips them before NORMALIZE.
 */
export async function storeSourceHashes(
  db: Queryable,
  entityName: string,
  targetName: string,
  rows: ReadonlyArray<{ bkHash: string; sourceHash: string }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE identity_records ir SET source_hash = t.source_hash
       FROM unnest($3::bytea[], $4::bytea[]) AS t(bk_hash, source_hash)
      WHERE ir.stream_id = ${STREAM} AND ir.bk_hash = t.bk_hash`,
    [entityName, targetName, hexBytes(rows.map((r) => r.bkHash)), hexBytes(rows.map((r) => r.sourceHash))],
  );
}

/**
 * Records the business keys a full sync (or a dry run) saw on one page (sync_seen_keys). `failed` keys come
 * from rows that failed NORMALIZE / VALIDATE / MAP: their records are still in the source, so they are never
 * delete candidates, but nothing was written for them. A key seen in a row that passed wins over a failed one.
 */
export async function recordSeenKeys(
  db: Queryable,
  batchUid: string,
  seen: { passed: readonly string[]; failed: readonly string[] },
): Promise<void> {
  if (seen.passed.length > 0) {
    await db.query(
      `INSERT INTO sync_seen_keys (batch_uid, bk_hash, failed) SELECT $1::uuid, unnest($2::varchar[]), false
       ON CONFLICT (batch_uid, bk_hash) DO UPDATE SET failed = false WHERE sync_seen_keys.failed`,
      [batchUid, [...new Set(seen.passed)]],
    );
  }
  if (seen.failed.length > 0) {
    await db.query(
      `INSERT INTO sync_seen_keys (batch_uid, bk_hash, failed) SELECT $1::uuid, unnest($2::varchar[]), true
       ON CONFLICT DO NOTHING`,
      [batchUid, [...new Set(seen.failed)]],
    );
  }
}

/**
 * Drops seen keys no longer needed once a batch ends: its own, unless it was a dry run; a dry run's stay until
 * the entity's next dry run (see {@link wouldBePresent}), which drops the older ones.
 */
export async function dropSeenKeys(
  db: Queryable,
  batch: { batchUid: string; entityName: string; dryRun: boolean },
): Promise<void> {
  await db.query(
    `DELETE FROM sync_seen_keys
      WHERE (batch_uid = $1::uuid AND NOT $2::boolean)
         OR ($2::boolean AND batch_uid IN (SELECT uid FROM sync_batches
                                            WHERE entity_name = $3 AND dry_run AND uid <> $1::uuid))`,
    [batch.batchUid, batch.dryRun, batch.entityName],
  );
}

/**
 * What a target holds (not deleted) that the full sync `batchUid` did not see: DELETE candidates. A record sent
 * and never acknowledged (pending: its batch died) is one. A record whose
 * last write or delete on the target failed in an earlier batch is one too (deletes are idempotent: a target
 * that never got it counts it done), so a target that missed a delete gets it at the next full sync; one that
 * failed in this batch is not, so the delete loop ends.
 */
const unseenSql = `FROM identity_records ir
  WHERE ir.stream_id = ${STREAM} AND ir.deleted_at IS NULL
    AND (ir.sync_status IN ('synced', 'pending')
         OR (ir.sync_status = 'failed' AND ir.last_batch_uid IS DISTINCT FROM $3::uuid))
    AND NOT EXISTS (SELECT 1 FROM sync_seen_keys s
                     WHERE s.batch_uid = $3::uuid AND s.bk_hash = encode(ir.bk_hash, 'hex'))`;

export async function countDeleteCandidates(
  db: Queryable,
  entityName: string,
  targetName: string,
  batchUid: string,
): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n ${unseenSql}`, [
    entityName,
    targetName,
    batchUid,
  ]);
  return Number(rows[0]!.n);
}

/** The next `limit` delete candidates, in bk_hash order. */
export async function nextDeleteCandidates(
  db: Queryable,
  entityName: string,
  targetName: string,
  batchUid: string,
  limit: number,
): Promise<{ bkHash: string; refStr: string }[]> {
  const { rows } = await db.query<{ bk_hash: string; ref_str: string | null }>(
    // Bytes sort as their lower-case hex does: the same order as before the store was narrowed.
    `SELECT encode(ir.bk_hash, 'hex') AS bk_hash, ir.ref_str ${unseenSql} ORDER BY ir.bk_hash LIMIT ${Math.trunc(limit)}`,
    [entityName, targetName, batchUid],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, refStr: r.ref_str ?? r.bk_hash }));
}

/**
 * Deletes a target refused or could not take: the record's row for that target says `failed` with the reason
 * (sync_error) and keeps deleted_at null, since the target still holds the record. On the primary that takes
 * the record out of the candidate set (candidates are synced rows), so a delete loop ends; on a secondary it
 * is the per-record trace of the failure next to its DLQ row. A later write of the record (it came back in
 * the source) makes the row synced again.
 */
export async function markDeleteFailed(
  db: Queryable,
  entityName: string,
  targetName: string,
  batchUid: string,
  failures: ReadonlyArray<{ bkHash: string; error: string }>,
): Promise<void> {
  if (failures.length === 0) return;
  await db.query(
    `UPDATE identity_records ir
        SET sync_status = 'failed', sync_error = t.error, attempts = ir.attempts + 1, last_attempt_at = now(),
            last_batch_uid = $3::uuid
       FROM unnest($4::bytea[], $5::text[]) AS t(bk_hash, error)
      WHERE ir.stream_id = ${STREAM} AND ir.bk_hash = t.bk_hash`,
    [entityName, targetName, batchUid, hexBytes(failures.map((f) => f.bkHash)), failures.map((f) => f.error)],
  );
}
