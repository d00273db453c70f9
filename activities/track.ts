import type { ApplyResult } from '../connectors/types.ts';
import { advanceBackgroundOffset } from '../db/background.ts';
import { addBatchMetricCounts, claimPageCounts } from '../db/batches.ts';
import {
  type DeadLetter,
  deadLetterKey,
  hasOpenDeadLetters,
  insertDeadLetters,
  resolveLandedDeadLetters,
} from '../db/dead-letters.ts';
import { type DryRunCandidateInput, insertDryRunCandidates } from '../db/dry-run-candidates.ts';
import { insertEventSql } from '../db/events.ts';
import {
  type IdentityWrite,
  identityWriteOf,
  recordSeenKeys,
  storeSourceHashes,
  writeIdentities,
} from '../db/identity-store.ts';
import { jsonb } from '../db/jsonb.ts';
import { addWaitingChildren, supersedeWaitingChildren } from '../db/pending-children.ts';
import { addReplayPreview, addReplayTally, type ReplayOutcome, recordReplayOutcomes } from '../db/replay.ts';
import { advanceWatermark as saveWatermark } from '../db/sync-state.ts';
import { inTransaction } from '../db/transaction.ts';
import type { RecordCounts } from '../pipeline/accounting.ts';
import type { Decision } from '../pipeline/delta/delta.ts';
import { writeOrder } from '../pipeline/ingest/plan.ts';
import { countPage } from '../pipeline/page-counts.ts';
import { childRetryDelayMs } from '../pipeline/resolve/parents.ts';
import { retryAtOf, targetFailure } from './apply-to-targets.ts';
import type { PageRef } from './contract.ts';
import type { WorkerContext } from './deps.ts';
import type { EntityRuntime } from './entity-runtime.ts';
import { decisionsFor, type PageState, type QuarantinedRow } from './page-cache.ts';

/** Results of one target, by record index (the target's results follow its own decisions' write order). */
function resultsByRecord(
  state: PageState,
  decisions: readonly Decision[],
  results: readonly ApplyResult[] | undefined,
): Map<number, ApplyResult> {
  const byRecord = new Map<number, ApplyResult>();
  if (!results) return byRecord;
  const waiting = new Set((state.waiting ?? []).map((w) => w.record));
  const order = writeOrder(decisions, (i) => !waiting.has(i));
  [...order.inserts, ...order.updates].forEach((record, i) => {
    const result = results[i];
    if (result) byRecord.set(record, result);
  });
  return byRecord;
}

/** A DLQ row; the idempotency key makes a replayed page (or the same bad row seen again) land once. */
function deadLetterOf(rt: EntityRuntime, ref: PageRef, state: PageState, q: QuarantinedRow): DeadLetter {
  const raw = state.raw[q.index] ?? null;
  const version = q.identity
    ? `${q.identity.bkHash}:${q.identity.dataHash}`
    : `raw:${rt.hashers.dataHash(jsonb(raw)).slice(0, 32)}`;
  return {
    batchUid: ref.batchUid,
    entityName: ref.entityName,
    bkHash: q.identity?.bkHash ?? null,
    dataHash: q.identity?.dataHash ?? null,
    refStr: q.identity?.reference ?? null,
    sourceKey: rt.sourceKey(raw),
    idempotencyKey: deadLetterKey(ref.entityName, version, q.targetName),
    targetName: q.targetName ?? null,
    stage: q.stage,
    errorType: q.errorType,
    errorMessage: q.message,
    errorDetails: q.errors ?? q.details ?? null,
    rawData: raw,
    normalizedData: q.normalized ?? null,
    mappedData: q.mapped ?? null,
    nextRetryAt: retryAtOf(q.details, rt.config.childRetryBaseSeconds),
  };
}

/** A dry run's candidate: what the dead letter of `q` would say (its record named by key and reference). */
function dryRunCandidateOf(rt: EntityRuntime, ref: PageRef, state: PageState, q: QuarantinedRow): DryRunCandidateInput {
  const letter = deadLetterOf(rt, ref, state, q);
  return {
    batchUid: ref.batchUid,
    entityName: ref.entityName,
    page: ref.page,
    stage: letter.stage,
    targetName: letter.targetName ?? null,
    errorType: letter.errorType,
    errorMessage: letter.errorMessage,
    errorDetails: letter.errorDetails ?? null,
    sourceKey: letter.sourceKey ?? null,
    refStr: letter.refStr ?? null,
    deadLetterUid: state.replayOf?.[q.index]?.uid ?? null,
  };
}

/**
 * What a replay page did with each dead letter it re-ran (raw row i came from `state.replayOf[i]`): failed again
 * (any stage, any target: every error of the record, transient when every one is a target's transient
 * failure), waiting for its parent, or resolved: landed (a target took it), unchanged (every target already
 * held it) or superseded (a target holds a version synced after the failure). Occurrences of one record share
 * its outcome.
 */
export function replayOutcomesOf(
  rt: Pick<EntityRuntime, 'primary' | 'config'>,
  state: PageState,
  quarantined: readonly QuarantinedRow[],
): ReplayOutcome[] {
  const replayOf = state.replayOf ?? [];
  const errorsOf = new Map<number, QuarantinedRow[]>();
  for (const q of quarantined) errorsOf.set(q.index, [...(errorsOf.get(q.index) ?? []), q]);
  // raw index → record index
  const recordOf = new Map<number, number>((state.rowIndex ?? []).map((raw, record) => [raw, record]));
  const bkOf = (raw: number) => {
    const record = recordOf.get(raw);
    return record === undefined ? null : (state.identities?.[record]?.bkHash ?? null);
  };
  // A record failed in one occurrence failed in all (DELTA wrote only its last occurrence).
  const failedBk = new Map<string, QuarantinedRow[]>();
  for (const [raw, errors] of errorsOf) {
    const bk = bkOf(raw);
    if (bk !== null) failedBk.set(bk, [...(failedBk.get(bk) ?? []), ...errors]);
  }
  const waitingOf = new Map((state.waiting ?? []).map((w) => [w.record, w.parent]));
  const written = new Set<string>(); // bk_hashes a target took
  for (const target of rt.config.targets) {
    for (const result of state.ingest?.[target.name] ?? []) if (result.ok) written.add(result.bkHash);
  }
  return replayOf.map(({ uid }, raw): ReplayOutcome => {
    const bk = bkOf(raw);
    const errors = errorsOf.get(raw) ?? (bk !== null ? failedBk.get(bk) : undefined);
    if (errors?.length) {
      return {
        uid,
        outcome: 'failed',
        errors: errors.map((q) => ({
          stage: q.stage,
          target: q.targetName ?? null,
          errorType: q.errorType,
          message: q.message,
        })),
        transient: errors.every((q) => (q.details as { permanent?: boolean } | undefined)?.permanent === false),
      };
    }
    const record = recordOf.get(raw)!;
    const parent = waitingOf.get(record);
    if (parent) return { uid, outcome: 'waiting', parent: parent.parentRef ?? parent.parentBkHash };
    const decision = state.delta?.decisions[record];
    if (decision?.reason === 'stale_replay') return { uid, outcome: 'resolved', resolution: 'superseded' };
    return { uid, outcome: 'resolved', resolution: bk !== null && written.has(bk) ? 'landed' : 'unchanged' };
  });
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
  // Each target's results by record index, once for the page (identity writes, DLQ, resolved dead letters).
  const resultsOf = new Map(
    rt.config.targets.map((t) => [
      t.name,
      resultsByRecord(state, decisionsFor(rt, state, t.name), state.ingest?.[t.name]),
    ]),
  );
  const primaryResults = resultsOf.get(rt.primary.name) ?? new Map<number, ApplyResult>();
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

  const sourceHashOf = (record: number): string | null => state.sourceHashes?.[state.rowIndex![record]!] ?? null;
  // Records DELTA found unchanged on a target whose stored source hash is not this row's (stored before a
  // configuration change, or before source hashes existed): storing it lets the next sync skip them before NORMALIZE.
  const refreshed = new Map<string, Array<{ bkHash: string; sourceHash: string }>>();
  for (const target of rt.config.targets) {
    const rows: Array<{ bkHash: string; sourceHash: string }> = [];
    for (const d of decisionsFor(rt, state, target.name)) {
      if (d.index === undefined || (d.reason !== 'data_unchanged' && d.reason !== 'rowversion_not_newer')) continue;
      const sourceHash = sourceHashOf(d.index);
      if (sourceHash !== null && state.stored?.get(target.name)?.get(d.bkHash)?.sourceHash !== sourceHash) {
        rows.push({ bkHash: d.bkHash, sourceHash });
      }
    }
    refreshed.set(target.name, rows);
  }

  const quarantined = [...state.quarantined];
  const secondaryFailures: Record<string, number> = {};
  const identityWrites = new Map<string, IdentityWrite[]>();
  for (const target of rt.config.targets) {
    const results = resultsOf.get(target.name)!;
    const writes: IdentityWrite[] = [];
    for (const [i, result] of results) {
      const identity = identities[i]!;
      writes.push(identityWriteOf(records[i]!, result, sourceHashOf(i)));
      if (!result.ok) {
        if (target.name !== rt.primary.name) secondaryFailures[target.name] = (secondaryFailures[target.name] ?? 0) + 1;
        quarantined.push({
          index: state.rowIndex![i]!,
          stage: 'ingest',
          ...targetFailure(result),
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
    unchanged: state.unchanged?.size ?? 0,
    decisions,
    isWaiting: (i) => waitingSet.has(i),
    refusedByPrimary: refused,
  });
  const advanceWatermark = ref.syncType === 'incremental' && !ref.dryRun ? state.lastRowversion : null;

  return inTransaction(ctx.pool, async (client) => {
    // Tracked before this retry: the claim wrote nothing, and the transaction holds nothing else.
    if (!(await claimPageCounts(client, ref.batchUid, ref.page, counts, advanceWatermark))) return counts;
    // Seen keys feed the deletes after a full sync (nothing reads them with delete policy none), and a dry run's
    // keys tell a later dry run of child entities which parents would be there.
    const keepSeen = ref.dryRun || (ref.syncType === 'full' && rt.config.deletePolicy !== 'none');
    if (keepSeen) {
      const passed = identities.map((i) => i.bkHash);
      for (const bkHash of state.unchanged?.values() ?? []) passed.push(bkHash);
      await recordSeenKeys(client, ref.batchUid, { passed, failed: failedKeys });
    }
    await addBatchMetricCounts(client, ref.batchUid, {
      unkeyedFailures: ref.syncType === 'full' ? unkeyedFailures : 0,
      secondaryFailures,
    });
    if (!ref.dryRun) {
      for (const [targetName, writes] of identityWrites) {
        await writeIdentities(client, ref.entityName, targetName, ref.batchUid, writes);
      }
      if (!state.replayOf && (await hasOpenDeadLetters(client, ref.entityName))) {
        // What a target took now no longer waits in the DLQ for it (a replay records its own outcomes).
        for (const target of rt.config.targets) {
          const landed = [...resultsOf.get(target.name)!]
            .filter(([, r]) => r.ok)
            .map(([i]) => ({ bkHash: identities[i]!.bkHash, sourceKey: rt.sourceKey(state.raw[state.rowIndex![i]!]) }));
          await resolveLandedDeadLetters(client, ref.entityName, target.name, ref.batchUid, landed);
        }
      }
      for (const [targetName, rows] of refreshed) await storeSourceHashes(client, ref.entityName, targetName, rows);
      if (state.replayOf) {
        // A replay page: every failure belongs to a dead letter being replayed, recorded on it (no new row).
        const tally = await recordReplayOutcomes(
          client,
          ref.batchUid,
          replayOutcomesOf(rt, state, quarantined),
          rt.config.childRetryBaseSeconds,
        );
        await addReplayTally(client, ref.batchUid, tally);
      } else if (quarantined.length > 0) {
        await insertDeadLetters(
          client,
          quarantined.map((q) => deadLetterOf(rt, ref, state, q)),
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
        const due = new Date(Date.now() + childRetryDelayMs(rt.config.childRetryBaseSeconds, 1));
        const decisionOf = new Map(decisions.map((d) => [d.index, d]));
        await addWaitingChildren(
          client,
          waiting.map((w) => {
            const identity = identities[w.record]!;
            return {
              batchUid: ref.batchUid,
              entityName: ref.entityName,
              childBkHash: identity.bkHash,
              childRefStr: identity.reference,
              parentEntity: w.parent.parentEntity,
              parentBkHash: w.parent.parentBkHash,
              parentRefStr: w.parent.parentRef,
              childPayload: {
                record: records[w.record]!,
                operation: decisionOf.get(w.record)!.operation as 'INSERT' | 'UPDATE',
                raw: state.raw[state.rowIndex![w.record]!],
              },
              maxRetries: rt.config.maxChildRetries,
              nextRetryAt: due,
            };
          }),
        );
      }
      if (rt.parents) {
        // A child that waited and has now landed through a later read must not be released again from its old payload.
        const landed = [...primaryResults].filter(([, r]) => r.ok).map(([i]) => identities[i]!.bkHash);
        await supersedeWaitingChildren(client, ref.entityName, landed);
      }
      if (ref.syncType === 'background') {
        // The load's offset moves with the page's counts: a restart resumes after the last accounted page.
        await advanceBackgroundOffset(client, {
          entityName: ref.entityName,
          cursor: state.nextCursor ?? null,
          rows: counts.fetched,
        });
      }
      if (advanceWatermark !== null) {
        await saveWatermark(client, {
          entityName: ref.entityName,
          sourceSystem: rt.sourceSystem,
          watermark: advanceWatermark,
          batchUid: ref.batchUid,
        });
      }
    }
    if (ref.dryRun) {
      // A dry run's plan, readable page by page (GET /sync/status/{batchUid}/candidates): every record it would
      // have dead-lettered, with the reason; a replay's dry run also counts what would land, wait or fail.
      await insertDryRunCandidates(
        client,
        quarantined.map((q) => dryRunCandidateOf(rt, ref, state, q)),
      );
      if (state.replayOf) await addReplayPreview(client, ref.batchUid, replayOutcomesOf(rt, state, quarantined));
    }
    await insertEventSql(client, 'sync.page_completed', ref.entityName, ref.batchUid, {
      page: ref.page,
      worker: ctx.pageQueue,
      ...counts,
    });
    return counts;
  });
}
