import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { TargetRecord } from '../pipeline/target-record.ts';
import { jsonb } from './jsonb.ts';
import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/**
 * Children waiting for their parent (pending_children): written by TRACK, released or dead-lettered by the
 * child release (activities/children.ts), listed by the monitoring endpoint.
 */
type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface PendingChildFilter {
  entity?: string | undefined;
  parentEntity?: string | undefined;
  status?: 'waiting' | 'released' | 'dead_lettered' | undefined;
  batchUid?: string | undefined;
}

export async function listPendingChildren(prisma: Prisma, filter: PendingChildFilter, request: PageRequest) {
  const where = {
    ...(filter.entity ? { entityName: filter.entity } : {}),
    ...(filter.parentEntity ? { parentEntity: filter.parentEntity } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.batchUid ? { batchUid: filter.batchUid } : {}),
  };
  const [rows, total] = await Promise.all([
    prisma.pendingChild.findMany(pageQuery(request, where)),
    prisma.pendingChild.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}

/** The child as it left the pipeline: ready to ingest once its parent has landed. */
export interface ChildPayload {
  record: TargetRecord;
  operation: 'INSERT' | 'UPDATE';
  raw?: unknown;
}

/** A child that starts (or starts again) to wait. */
export interface WaitingChildRow {
  batchUid: string;
  entityName: string;
  childBkHash: string;
  childRefStr: string;
  parentEntity: string;
  parentBkHash: string;
  parentRefStr: string;
  childPayload: ChildPayload;
  maxRetries: number;
  nextRetryAt: Date;
}

/** Children of a page that wait; the newest version of a child replaces an older one still waiting. */
export async function addWaitingChildren(db: Queryable, rows: readonly WaitingChildRow[]): Promise<void> {
  if (rows.length === 0) return;
  const records = rows.map((r) => ({
    uid: uuidv7(),
    batch_uid: r.batchUid,
    entity_name: r.entityName,
    child_bk_hash: r.childBkHash,
    child_ref_str: r.childRefStr,
    parent_entity: r.parentEntity,
    parent_bk_hash: r.parentBkHash,
    parent_ref_str: r.parentRefStr,
    child_payload: r.childPayload,
    max_retries: r.maxRetries,
    next_retry_at: r.nextRetryAt.toISOString(),
  }));
  await db.query(
    `INSERT INTO pending_children
       (uid, batch_uid, entity_name, child_bk_hash, child_ref_str, parent_entity, parent_bk_hash, parent_ref_str,
        child_payload, max_retries, next_retry_at, status, retry_count, updated_at)
     SELECT uid, batch_uid, entity_name, child_bk_hash, child_ref_str, parent_entity, parent_bk_hash, parent_ref_str,
            child_payload, max_retries, next_retry_at, 'waiting', 0, now()
       FROM jsonb_to_recordset($1::jsonb) AS t(
         uid uuid, batch_uid uuid, entity_name varchar, child_bk_hash varchar, child_ref_str text, parent_entity varchar,
         parent_bk_hash varchar, parent_ref_str text, child_payload jsonb, max_retries int, next_retry_at timestamptz)
     ON CONFLICT (entity_name, child_bk_hash, parent_entity) DO UPDATE SET
       -- The newest version of the child waits (its old batch no longer counts it as pending).
       batch_uid = EXCLUDED.batch_uid, parent_bk_hash = EXCLUDED.parent_bk_hash, parent_ref_str = EXCLUDED.parent_ref_str,
       child_payload = EXCLUDED.child_payload, status = 'waiting', retry_count = 0,
       next_retry_at = EXCLUDED.next_retry_at, updated_at = now()`,
    [jsonb(records)],
  );
}

/** Children that have landed through a later read: they must not be released again from their old payload. */
export async function supersedeWaitingChildren(
  db: Queryable,
  entityName: string,
  bkHashes: readonly string[],
): Promise<void> {
  if (bkHashes.length === 0) return;
  await db.query(
    `UPDATE pending_children SET status = 'superseded', updated_at = now()
      WHERE entity_name = $1 AND child_bk_hash = ANY($2::varchar[]) AND status IN ('waiting', 'releasing')`,
    [entityName, bkHashes],
  );
}

/** Configured entities that have children waiting. */
export async function entitiesWithWaitingChildren(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ entity_name: string }>(
    `SELECT DISTINCT p.entity_name FROM pending_children p JOIN entities e ON e.name = p.entity_name
      WHERE p.status = 'waiting' ORDER BY 1`,
  );
  return rows.map((r) => r.entity_name);
}

/** A claimed child (status releasing), as the release reads it. */
export interface PendingChildRow {
  uid: string;
  batch_uid: string;
  child_bk_hash: string;
  child_ref_str: string | null;
  parent_entity: string;
  parent_ref_str: string | null;
  child_payload: ChildPayload;
  retry_count: number;
  max_retries: number;
}

/**
 * Claims up to `limit` waiting children of the entity for a release (status releasing), oldest first, skipping
 * those another release holds and those in `exclude` (already handled by this one). `dueOnly`: only children
 * whose retry is due. A claim older than five minutes was left by a release that died: it is taken again.
 */
export async function claimWaitingChildren(
  db: Queryable,
  entityName: string,
  options: { dueOnly: boolean; exclude: readonly string[]; limit: number },
): Promise<PendingChildRow[]> {
  const { rows } = await db.query<PendingChildRow>(
    `UPDATE pending_children SET status = 'releasing', updated_at = now()
      WHERE uid IN (
        SELECT uid FROM pending_children
         WHERE entity_name = $1 AND NOT (uid = ANY($3::uuid[]))
           AND ((status = 'waiting' AND ($2 = false OR next_retry_at IS NULL OR next_retry_at <= now()))
                OR (status = 'releasing' AND updated_at < now() - interval '5 minutes'))
         ORDER BY created_at LIMIT ${Math.trunc(options.limit)} FOR UPDATE SKIP LOCKED)
     RETURNING uid, batch_uid, child_bk_hash, child_ref_str, parent_entity, parent_ref_str, child_payload,
               retry_count, max_retries`,
    [entityName, options.dueOnly, [...options.exclude]],
  );
  return rows;
}

/** How many children of the entity still wait, and when the next one is due. */
export async function waitingChildren(
  db: Queryable,
  entityName: string,
): Promise<{ waiting: number; nextRetryAt: Date | null }> {
  const { rows } = await db.query<{ n: string; next: Date | null }>(
    `SELECT count(*) AS n, min(next_retry_at) AS next FROM pending_children WHERE entity_name = $1 AND status = 'waiting'`,
    [entityName],
  );
  return { waiting: Number(rows[0]!.n), nextRetryAt: rows[0]!.next ? new Date(rows[0]!.next) : null };
}

/** A claimed child whose parent is still missing waits again, until `due`. */
export async function postponeChild(
  db: Queryable,
  uid: string,
  retry: { attempts: number; due: Date; lastError: string },
): Promise<void> {
  await db.query(
    `UPDATE pending_children SET status = 'waiting', retry_count = $2, next_retry_at = $3, last_error = $4, updated_at = now()
      WHERE uid = $1::uuid`,
    [uid, retry.attempts, retry.due, retry.lastError],
  );
}

export async function markChildrenReleased(db: Queryable, uids: readonly string[]): Promise<void> {
  if (uids.length === 0) return;
  await db.query(
    `UPDATE pending_children SET status = 'released', released_at = now(), updated_at = now() WHERE uid = ANY($1::uuid[])`,
    [uids],
  );
}

export async function markChildrenDeadLettered(
  db: Queryable,
  children: ReadonlyArray<{ uid: string; message: string }>,
): Promise<void> {
  if (children.length === 0) return;
  await db.query(
    `UPDATE pending_children SET status = 'dead_lettered', updated_at = now(), last_error = t.message
       FROM unnest($1::uuid[], $2::text[]) AS t(uid, message) WHERE pending_children.uid = t.uid`,
    [children.map((c) => c.uid), children.map((c) => c.message)],
  );
}
