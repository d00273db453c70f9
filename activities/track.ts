import { v7 as uuidv7 } from 'uuid';
import type { ApplyResult } from '../connectors/types.ts';
import { addBatchMetricCounts, claimPageCounts } from '../db/batches.ts';
import { insertEventSql } from '../db/events.ts';
import { type IdentityWrite, identityWriteOf, recordSeenKeys, writeIdentities } from '../db/identity-store.ts';
import type { RecordCounts } from '../pipeline/accounting.ts';
import { writeOrder } from '../pipeline/ingest/plan.ts';
import { countPage } from '../pipeline/page-counts.ts';
import { childRetryDelayMs } from '../pipeline/resolve/parents.ts';
import type { WorkerContext } from './deps.ts';
import type { EntityRuntime } from './entity-runtime.ts';
import type { PageState, QuarantinedRow } from './page-cache.ts';
import type { PageRef } from './page-stages.ts';

/** JSON for jsonb: PostgreSQL refuses the NUL character, so it is kept visible as the text `\u0000`. */
export const jsonb = (value: unknown): string => JSON.stringify(value ?? null).replaceAll('\\u0000', '\\\\u0000');

/** Results of one target, by record index. */
function resultsByRecord(state: PageState, results: readonly ApplyResult[] | undefined): Map<number, ApplyResult> {
  const byRecord = new Map<number, ApplyResult>();
  if (!results) return byRecord;
  const waiting = new Set((state.waiting ?? []).map((w) => w.record));
  const order = writeOrder(state.delta?.decisions ?? [], (i) => !waiting.has(i));
  [...order.inserts, ...order.updates].forEach((record, i) => {
    const result = results[i];
    if (result) byRecord.set(record, result);
  });
  return byRecord;
}

/** A DLQ row; the idempotency key makes a replayed page (or the same bad row seen again) land once. */
function dlqRow(rt: EntityRuntime, ref: PageRef, state: PageState, q: QuarantinedRow, retryBaseSeconds: number) {
  const raw = state.raw[q.index] ?? null;
  const rawKey = rt.hashers.dataHash(jsonb(raw)).slice(0, 32);
  const target = q.targetName ? `:${q.targetName}` : '';
  const key = q.identity
    ? `${ref.entityName}:${q.identity.bkHash}:${q.identity.dataHash}${target}`
    : `${ref.entityName}:raw:${rawKey}`;
  const transient = q.details !== undefined && (q.details as { permanent?: boolean }).permanent === false;
  return {
    uid: uuidv7(),
    batch_uid: ref.batchUid,
    entity_name: ref.entityName,
    bk_hash: q.identity?.bkHash ?? null,
    data_hash: q.identity?.dataHash ?? null,
    ref_str: q.identity?.reference ?? null,
    idempotency_key: key,
    target_name: q.targetName ?? null,
    stage: q.stage,
    error_type: q.errorType,
    error_message: q.message,
    error_details: q.errors ?? q.details ?? null,
    raw_data: raw,
    normalized_data: q.normalized ?? null,
    mapped_data: q.mapped ?? null,
    next_retry_at: transient ? new Date(Date.now() + childRetryDelayMs(retryBaseSeconds, 1)).toISOString() : null,
  };
}

/**
 * TRACK for one page, in one transaction, so a crash at any point either
 * leaves the page wholly untracked (the workflow redoes it: targets are
 * idempotent and the identity store unchanged, so the decisions repeat) or
 * wholly tracked (a retry finds the page claimed and changes nothing).
 */
export async function trackPage(
  ctx: WorkerContext,
  rt: EntityRuntime,
  ref: PageRef,
  state: PageState,
): Promise<RecordCounts> {
  const records = state.records ?? [];
  const identities = state.identities ?? [];
  const decisions = state.delta?.decisions ?? [];
  const waiting = state.waiting ?? [];
  const waitingSet = new Set(waiting.map((w) => w.record));
  const primaryResults = resultsByRecord(state, state.ingest?.[rt.primary.name]);
  const refused = new Set([...primaryResults].filter(([, r]) => !r.ok).map(([i]) => i));

  // Rows that failed NORMALIZE / VALIDATE / MAP are still in the source: their keys count as seen (never a
  // delete candidate) whenever the key fields normalized; a row without a computable key holds the deletes.
  const failedKeys: string[] = [];
  let unkeyedFailures = 0;
  for (const q of state.quarantined) {
    const key = rt.identity.failedRowKey(q.normalized, q.errors ?? []);
    if (key === null) unkeyedFailures++;
    else failedKeys.push(key);
  }

  const quarantined = [...state.quarantined];
  const secondaryFailures: Record<string, number> = {};
  const identityWrites = new Map<string, IdentityWrite[]>();
  for (const target of rt.config.targets) {
    const results =
      target.name === rt.primary.name ? primaryResults : resultsByRecord(state, state.ingest?.[target.name]);
    const writes: IdentityWrite[] = [];
    for (const [i, result] of results) {
      const identity = identities[i]!;
      writes.push(identityWriteOf(records[i]!, result));
      if (!result.ok) {
        if (target.name !== rt.primary.name) secondaryFailures[target.name] = (secondaryFailures[target.name] ?? 0) + 1;
        quarantined.push({
          index: state.rowIndex![i]!,
          stage: 'ingest',
          errorType: result.error?.type ?? 'target_error',
          message: result.error?.message ?? 'the target refused the record',
          details: { permanent: result.error?.permanent ?? true, operation: result.op },
          mapped: records[i]!.data,
          identity,
          targetName: target.name,
        });
      }
    }
    identityWrites.set(target.name, writes);
  }

  const counts = countPage({
    fetched: state.raw.length,
    quarantinedBeforeDelta: state.quarantined.length,
    decisions,
    isWaiting: (i) => waitingSet.has(i),
    refusedByPrimary: refused,
  });
  const advanceWatermark = ref.syncType === 'incremental' && !ref.dryRun ? state.lastRowversion : null;

  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    if (!(await claimPageCounts(client, ref.batchUid, ref.page, counts, advanceWatermark))) {
      await client.query('ROLLBACK');
      return counts; // tracked before this retry
    }
    // Seen keys feed the deletes after a full sync (nothing reads them with delete policy none), and a dry run's
    // keys tell a later dry run of child entities which parents would be there.
    const keepSeen = ref.dryRun || (ref.syncType === 'full' && rt.config.deletePolicy !== 'none');
    if (keepSeen) {
      await recordSeenKeys(client, ref.batchUid, { passed: identities.map((i) => i.bkHash), failed: failedKeys });
    }
    await addBatchMetricCounts(client, ref.batchUid, {
      unkeyedFailures: ref.syncType === 'full' ? unkeyedFailures : 0,
      secondaryFailures,
    });
    if (!ref.dryRun) {
      for (const [targetName, writes] of identityWrites) {
        await writeIdentities(client, ref.entityName, targetName, ref.batchUid, writes);
      }
      if (quarantined.length > 0) {
        const rows = quarantined.map((q) => dlqRow(rt, ref, state, q, rt.config.childRetryBaseSeconds));
        await client.query(
          `INSERT INTO failed_records
             (uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, idempotency_key, target_name, stage, error_type,
              error_message, error_details, raw_data, normalized_data, mapped_data, next_retry_at, updated_at)
           SELECT uid, batch_uid, entity_name, bk_hash, data_hash, ref_str, idempotency_key, target_name, stage, error_type,
                  error_message, error_details, raw_data, normalized_data, mapped_data, next_retry_at, now()
             FROM jsonb_to_recordset($1::jsonb) AS t(
               uid uuid, batch_uid uuid, entity_name varchar, bk_hash varchar, data_hash varchar, ref_str text,
               idempotency_key varchar, target_name varchar, stage varchar, error_type varchar, error_message text,
               error_details jsonb, raw_data jsonb, normalized_data jsonb, mapped_data jsonb, next_retry_at timestamptz)
           ON CONFLICT (idempotency_key) DO NOTHING`,
          [jsonb(rows)],
        );
        await insertEventSql(client, 'record.quarantined', ref.entityName, ref.batchUid, {
          page: ref.page,
          count: quarantined.length,
          byStage: Object.fromEntries(
            [...new Set(quarantined.map((q) => q.stage))].map((s) => [
              s,
              quarantined.filter((q) => q.stage === s).length,
            ]),
          ),
          examples: quarantined
            .slice(0, 5)
            .map((q) => ({ stage: q.stage, errorType: q.errorType, message: q.message })),
        });
      }
      if (waiting.length > 0) {
        const base = rt.config.childRetryBaseSeconds;
        const decisionOf = new Map(decisions.map((d) => [d.index, d]));
        const rows = waiting.map((w) => {
          const identity = identities[w.record]!;
          const decision = decisionOf.get(w.record)!;
          return {
            uid: uuidv7(),
            batch_uid: ref.batchUid,
            entity_name: ref.entityName,
            child_bk_hash: identity.bkHash,
            child_ref_str: identity.reference,
            parent_entity: w.parent.parentEntity,
            parent_bk_hash: w.parent.parentBkHash,
            parent_ref_str: w.parent.parentRef,
            child_payload: {
              record: records[w.record],
              operation: decision.operation,
              raw: state.raw[state.rowIndex![w.record]!],
            },
            max_retries: rt.config.maxChildRetries,
            next_retry_at: new Date(Date.now() + childRetryDelayMs(base, 1)).toISOString(),
          };
        });
        await client.query(
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
          [jsonb(rows)],
        );
      }
      const landed = [...primaryResults].filter(([, r]) => r.ok).map(([i]) => identities[i]!.bkHash);
      if (rt.parents && landed.length > 0) {
        // A child that waited and has now landed through a later read must not be released again from its old payload.
        await client.query(
          `UPDATE pending_children SET status = 'superseded', updated_at = now()
            WHERE entity_name = $1 AND child_bk_hash = ANY($2::varchar[]) AND status IN ('waiting', 'releasing')`,
          [ref.entityName, landed],
        );
      }
      if (advanceWatermark !== null) {
        await client.query(
          `INSERT INTO erp_sync_state (uid, entity_name, source_system, last_sync_rowversion, last_batch_uid, updated_at)
           VALUES ($1::uuid, $2, $3, $4, $5::uuid, now())
           ON CONFLICT (entity_name, source_system) DO UPDATE SET
             last_sync_rowversion = EXCLUDED.last_sync_rowversion, last_batch_uid = EXCLUDED.last_batch_uid, updated_at = now()`,
          [uuidv7(), ref.entityName, rt.sourceSystem, advanceWatermark, ref.batchUid],
        );
      }
    }
    await insertEventSql(client, 'sync.page_completed', ref.entityName, ref.batchUid, {
      page: ref.page,
      worker: ctx.pageQueue,
      ...counts,
    });
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
