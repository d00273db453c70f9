import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { TargetRecord } from '../connectors/types.ts';
import { moveCounts } from '../db/batches.ts';
import { insertEventSql } from '../db/events.ts';
import { type IdentityWrite, identityWriteOf, presentIn, writeIdentities } from '../db/identity-store.ts';
import { childRetryDelayMs } from '../pipeline/resolve/parents.ts';
import type { WorkerContext } from './deps.ts';
import { jsonb } from './track.ts';

export interface ReleaseInput {
  entityName: string;
  /**
   * true: the child's own retry (due children only; a still-missing parent
   * counts an attempt and, past the limit, sends the child to the DLQ);
   * false: a parent just landed (every waiting child is checked, no attempt counted).
   */
  countAttempt: boolean;
}

export interface ReleaseReport {
  released: number;
  deadLettered: number;
  refused: number;
  /** Still waiting after this call. */
  waiting: number;
  /** When the next waiting child is due, ISO 8601; null when none waits. */
  nextRetryAt: string | null;
}

interface PendingRow {
  uid: string;
  batch_uid: string;
  child_bk_hash: string;
  child_ref_str: string | null;
  parent_entity: string;
  parent_ref_str: string | null;
  child_payload: { record: TargetRecord; operation: 'INSERT' | 'UPDATE'; raw?: unknown };
  retry_count: number;
  max_retries: number;
}

const CHUNK = 500;

/** RESOLVE, the waiting side: children whose parents have landed are ingested; the others back off, then go to the DLQ. */
export function createChildActivities(ctx: WorkerContext) {
  return {
    /** Configured entities that have children waiting (the background retry's worklist). */
    async entitiesWithWaitingChildren(): Promise<string[]> {
      const { rows } = await ctx.pool.query<{ entity_name: string }>(
        `SELECT DISTINCT p.entity_name FROM pending_children p JOIN entities e ON e.name = p.entity_name
          WHERE p.status = 'waiting' ORDER BY 1`,
      );
      return rows.map((r) => r.entity_name);
    },

    async releasePendingChildren(input: ReleaseInput): Promise<ReleaseReport> {
      const rt = await ctx.runtimes.get(input.entityName);
      const report: ReleaseReport = { released: 0, deadLettered: 0, refused: 0, waiting: 0, nextRetryAt: null };
      const seen = new Set<string>();
      for (;;) {
        Context.current().heartbeat(report);
        const { rows } = await ctx.pool.query<PendingRow>(
          `UPDATE pending_children SET status = 'releasing', updated_at = now()
            WHERE uid IN (
              SELECT uid FROM pending_children
               WHERE entity_name = $1 AND NOT (uid = ANY($3::uuid[]))
                 AND ((status = 'waiting' AND ($2 = false OR next_retry_at IS NULL OR next_retry_at <= now()))
                      OR (status = 'releasing' AND updated_at < now() - interval '5 minutes'))
               ORDER BY created_at LIMIT ${CHUNK} FOR UPDATE SKIP LOCKED)
           RETURNING uid, batch_uid, child_bk_hash, child_ref_str, parent_entity, parent_ref_str, child_payload,
                     retry_count, max_retries`,
          [input.entityName, input.countAttempt, [...seen]],
        );
        if (rows.length === 0) break;
        for (const row of rows) seen.add(row.uid);
        await releaseChunk(ctx, rt, input, rows, report);
      }
      const { rows } = await ctx.pool.query<{ n: string; next: Date | null }>(
        `SELECT count(*) AS n, min(next_retry_at) AS next FROM pending_children WHERE entity_name = $1 AND status = 'waiting'`,
        [input.entityName],
      );
      report.waiting = Number(rows[0]!.n);
      report.nextRetryAt = rows[0]!.next ? new Date(rows[0]!.next).toISOString() : null;
      return report;
    },
  };
}
export type ChildActivities = ReturnType<typeof createChildActivities>;

type Runtime = Awaited<ReturnType<WorkerContext['runtimes']['get']>>;

async function releaseChunk(
  ctx: WorkerContext,
  rt: Runtime,
  input: ReleaseInput,
  rows: PendingRow[],
  report: ReleaseReport,
): Promise<void> {
  const refs = rows.map((row) => ({ row, parents: rt.parents ? rt.parents(row.child_payload.record.data) : [] }));
  const present = new Map<string, Set<string>>();
  for (const [parentEntity, parentTarget] of rt.parentPrimary) {
    const wanted = refs.flatMap((r) =>
      r.parents.filter((p) => p.parentEntity === parentEntity).map((p) => p.parentBkHash),
    );
    present.set(parentEntity, await presentIn(ctx.pool, parentEntity, parentTarget, wanted));
  }
  const ready = refs
    .filter((r) => r.parents.every((p) => present.get(p.parentEntity)?.has(p.parentBkHash)))
    .map((r) => r.row);
  const missing = refs.filter((r) => !ready.includes(r.row)).map((r) => r.row);

  // Ingest the ready ones: every target, primary first (targets are idempotent by bk_hash).
  const okOnPrimary = new Map<string, boolean>();
  const refusals = new Map<string, string>();
  if (ready.length > 0) {
    const inserts = ready.filter((r) => r.child_payload.operation === 'INSERT').map((r) => r.child_payload.record);
    const updates = ready.filter((r) => r.child_payload.operation === 'UPDATE').map((r) => r.child_payload.record);
    for (const target of [rt.primary, ...rt.config.targets.filter((t) => t.name !== rt.primary.name)]) {
      const results = await rt
        .target(target.name)
        .apply({ inserts, updates, deletes: [] }, { signal: Context.current().cancellationSignal })
        .catch((error) => {
          if (Context.current().cancellationSignal.aborted) throw error; // stopped: nothing more is written
          if (target.name === rt.primary.name) throw error;
          return [];
        });
      const writes: IdentityWrite[] = results.map((result, i) => {
        const record = i < inserts.length ? inserts[i]! : updates[i - inserts.length]!;
        if (target.name === rt.primary.name) {
          okOnPrimary.set(record.bkHash, result.ok);
          if (!result.ok) refusals.set(record.bkHash, `${result.error?.type}: ${result.error?.message}`);
        }
        return identityWriteOf(record, result);
      });
      await writeIdentities(ctx.pool, input.entityName, target.name, ready[0]!.batch_uid, writes);
    }
  }

  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    const released: PendingRow[] = [];
    const dead: Array<{ row: PendingRow; type: string; message: string }> = [];
    for (const row of ready) {
      if (okOnPrimary.get(row.child_bk_hash)) released.push(row);
      else
        dead.push({
          row,
          type: 'target_refused',
          message: refusals.get(row.child_bk_hash) ?? 'the target refused the record',
        });
    }
    for (const row of missing) {
      const attempts = row.retry_count + (input.countAttempt ? 1 : 0);
      if (input.countAttempt && attempts >= row.max_retries) {
        dead.push({
          row,
          type: 'parent_missing',
          message: `parent ${row.parent_ref_str ?? row.parent_entity} never arrived (${attempts} attempts)`,
        });
      } else {
        const due = new Date(Date.now() + childRetryDelayMs(rt.config.childRetryBaseSeconds, attempts + 1));
        await client.query(
          `UPDATE pending_children SET status = 'waiting', retry_count = $2, next_retry_at = $3, last_error = $4, updated_at = now()
            WHERE uid = $1::uuid`,
          [row.uid, attempts, due, `parent ${row.parent_ref_str ?? row.parent_entity} not in its target yet`],
        );
      }
    }
    if (released.length > 0) {
      await client.query(
        `UPDATE pending_children SET status = 'released', released_at = now(), updated_at = now() WHERE uid = ANY($1::uuid[])`,
        [released.map((r) => r.uid)],
      );
      await moveCountsOf(client, released, (row) =>
        row.child_payload.operation === 'INSERT' ? 'inserted' : 'updated',
      );
      await insertEventSql(client, 'child.released', input.entityName, released[0]!.batch_uid, {
        count: released.length,
        children: released.slice(0, 20).map((r) => r.child_ref_str),
      });
    }
    if (dead.length > 0) {
      await client.query(
        `UPDATE pending_children SET status = 'dead_lettered', updated_at = now(), last_error = t.message
           FROM unnest($1::uuid[], $2::text[]) AS t(uid, message) WHERE pending_children.uid = t.uid`,
        [dead.map((d) => d.row.uid), dead.map((d) => d.message)],
      );
      const dlq = dead.map(({ row, type, message }) => ({
        uid: uuidv7(),
        batch_uid: row.batch_uid,
        entity_name: input.entityName,
        bk_hash: row.child_bk_hash,
        data_hash: row.child_payload.record.dataHash,
        ref_str: row.child_ref_str,
        idempotency_key: `${input.entityName}:${row.child_bk_hash}:${row.child_payload.record.dataHash}`,
        stage: type === 'parent_missing' ? 'resolve' : 'ingest',
        error_type: type,
        error_message: message,
        raw_data: row.child_payload.raw ?? null,
        mapped_data: row.child_payload.record.data,
        retry_count: row.retry_count,
      }));
      await client.query(
        `INSERT INTO failed_records (uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, idempotency_key, stage,
                                     error_type, error_message, raw_data, mapped_data, retry_count, updated_at)
         SELECT uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, idempotency_key, stage, error_type, error_message,
                raw_data, mapped_data, retry_count, now()
           FROM jsonb_to_recordset($1::jsonb) AS t(uid uuid, batch_uid uuid, entity_name varchar, bk_hash varchar,
                data_hash varchar, ref_str text, idempotency_key varchar, stage varchar, error_type varchar,
                error_message text, raw_data jsonb, mapped_data jsonb, retry_count int)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [jsonb(dlq)],
      );
      await moveCountsOf(
        client,
        dead.map((d) => d.row),
        () => 'failed',
      );
      await insertEventSql(client, 'record.quarantined', input.entityName, dead[0]!.row.batch_uid, {
        count: dead.length,
        stage: 'resolve',
        examples: dead.slice(0, 5).map((d) => ({ ref: d.row.child_ref_str, errorType: d.type, message: d.message })),
      });
    }
    await client.query('COMMIT');
    report.released += released.length;
    report.deadLettered += dead.filter((d) => d.type === 'parent_missing').length;
    report.refused += dead.filter((d) => d.type !== 'parent_missing').length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Moves each child from `pending` to its bucket on the batch that read it: one update per batch and bucket. */
async function moveCountsOf(
  client: Pick<pg.PoolClient, 'query'>,
  rows: readonly PendingRow[],
  bucketOf: (row: PendingRow) => 'inserted' | 'updated' | 'failed',
): Promise<void> {
  const moves = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.batch_uid} ${bucketOf(row)}`;
    moves.set(key, (moves.get(key) ?? 0) + 1);
  }
  for (const [key, n] of moves) {
    const [batchUid, bucket] = key.split(' ') as [string, 'inserted' | 'updated' | 'failed'];
    await moveCounts(client, batchUid, 'pending', bucket, n);
  }
}
