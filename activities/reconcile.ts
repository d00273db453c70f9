import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Target } from '../connectors/types.ts';
import { getEntity } from '../db/entities.ts';
import { insertEventSql } from '../db/events.ts';
import {
  analyzeSourceRecords,
  clearSourceRecords,
  countAllSourceRecords,
  countDifferences,
  countSourceRecords,
  differencesAfter,
  dropWorkRows,
  holdDifferencesForDelete,
  keepDifferences,
  keepSourceSegments,
  keptSourceSegments,
  markDifferencesForResend,
  openReport,
  readReport,
  readSourceState,
  type SourceReadState,
  type SourceRecord,
  type StoreAgainstSource,
  sampleSourceRecords,
  saveTargetReport,
  setReportStatus,
  setSegmentProgress,
  sourceParents,
  sourceRecordsAfter,
  sourceSegmentChecksums,
  sourceSegmentRows,
  storeAgainstSource,
  storeSourcePage,
  updateReport,
} from '../db/reconcile.ts';
import {
  allClean,
  differingSegments,
  diffKeys,
  emptyFirstKeys,
  firstKeys,
  isClean,
  type KeyDiff,
  type KeyedRecord,
  MAX_ROWS_PER_READ,
  prefixLengthFor,
  type SegmentSummary,
  shouldBisect,
  UNSYNCABLE,
} from '../pipeline/reconcile/compare.ts';
import { sampleConfidence } from '../pipeline/reconcile/confidence.ts';
import type {
  ReconcileInput,
  ReconcileOutcome,
  ReconcileReportView,
  ReconcileSourceSummary,
  ReconcileTargetReport,
} from '../pipeline/reconcile/types.ts';
import type {
  OpenedReconcile,
  ReconcileActivities,
  ReconcileTargetInput,
  ReconcileTargetPlan,
  RepairPlan,
} from './contract.ts';
import type { WorkerContext } from './deps.ts';
import type { EntityRuntime } from './entity-runtime.ts';
import { connectorCall } from './failures.ts';

/** Keys looked up per call on a lookup target (the connector splits them under its own limit and rate cap). */
const LOOKUP_BATCH = 500;

const beat = (details: unknown) => Context.current().heartbeat(details);
const signal = () => Context.current().cancellationSignal;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * NORMALIZE → VALIDATE → MAP → IDENTITY over raw rows, with the entity's compiled pipeline (the functions the
 * sync's page stages call): the records the targets should hold, and how many rows cannot be synced.
 */
export function normalizedRecords(rt: EntityRuntime, rows: readonly Record<string, unknown>[]) {
  const normalized = rt.normalizer.normalizeRows(rows);
  const validated = rt.validator.validateRows(normalized.valid);
  const fields = rt.targetFields.map((f) => f.name);
  const records: SourceRecord[] = validated.valid.map((row) => {
    const data: Record<string, unknown> = {};
    for (const field of fields) data[field] = row.values[field] ?? null;
    const identity = rt.identity.identify(data);
    const parents = rt.parents?.(data).map((p) => `${p.parentEntity}:${p.parentBkHash}`) ?? null;
    return { bkHash: identity.bkHash, dataHash: identity.dataHash, refStr: identity.reference, parents };
  });
  // Failed rows whose key computes are kept as UNSYNCABLE: a target holding them is no extra.
  const failed = [...normalized.failed, ...validated.failed];
  if (failed.length > 0) {
    const valid = new Set(records.map((r) => r.bkHash));
    for (const bkHash of rt.screen.keys(failed.map((f) => rows[f.index]!))) {
      if (bkHash && !valid.has(bkHash)) records.push({ bkHash, dataHash: UNSYNCABLE, refStr: null, parents: null });
    }
  }
  return { records, unsyncable: failed.length };
}

export function createReconcileActivities(ctx: WorkerContext): ReconcileActivities {
  const { pool } = ctx;
  const runtime = (name: string) => ctx.runtimes.get(name);

  async function reportOrFail(uid: string): Promise<ReconcileReportView> {
    const report = await readReport(pool, uid);
    if (!report) throw ApplicationFailure.nonRetryable(`No reconcile report ${uid}.`, 'ReconcileReportNotFound');
    return report;
  }

  const outcomeOf = (report: ReconcileReportView): ReconcileOutcome => ({
    reportUid: report.uid,
    clean: report.clean === true,
    targets: report.targets.map((t) => ({
      target: t.target,
      clean: t.clean,
      missing: t.missing,
      extra: t.extra,
      different: t.different,
      orphans: t.orphans,
      unverifiedSegments: t.unverifiedSegments,
    })),
  });

  /** Segments: checksums on both sides, bisected where they differ, then the differing segments key by key. */
  async function compareSegments(uid: string, targetName: string, target: Target, sourceCount: number) {
    let length = prefixLengthFor(sourceCount);
    const unverified: string[] = [];
    // Both sides' checksums at once: two scans in two databases (or two backends of one), each on its own core.
    const [sourceSide, targetSide] = await Promise.allSettled([
      keptSourceSegments(pool, uid, length),
      target.segmentChecksums!({ prefixLength: length, signal: signal() }),
    ]);
    if (sourceSide.status === 'rejected') throw sourceSide.reason;
    let source = sourceSide.value;
    let held: Map<string, SegmentSummary>;
    if (targetSide.status === 'rejected') {
      const error = targetSide.reason;
      if (signal().aborted) throw error;
      // The target is down: nothing of it was verified.
      return { diff: null, targetCount: 0, unverified: [...source.keys()].sort(), segments: source.size, error };
    }
    held = targetSide.value;
    const targetCount = [...held.values()].reduce((n, s) => n + s.count, 0);
    const segments = Math.max(source.size, held.size);
    let differ = differingSegments(source, held);
    // The segments that agree are verified now; the differing ones once read (below).
    await setSegmentProgress(pool, uid, targetName, { total: segments, checked: segments - differ.length });
    // Bisect: differing segments too large to read are split into 256 finer ones, inside both databases.
    while (shouldBisect(differ, source, held, length)) {
      length += 2;
      beat({ phase: 'bisect', prefixLength: length, segments: differ.length });
      source = await sourceSegmentChecksums(pool, uid, length, differ);
      try {
        held = await target.segmentChecksums!({ prefixLength: length, within: differ, signal: signal() });
      } catch (error) {
        if (signal().aborted) throw error;
        return { diff: null, targetCount, unverified: differ, segments, error };
      }
      differ = differingSegments(source, held);
    }
    const diff: KeyDiff = { missing: [], extra: [], different: [], matching: 0 };
    let lastError: unknown = null;
    // Read the differing segments in groups of at most MAX_ROWS_PER_READ records a side.
    for (let i = 0; i < differ.length; ) {
      const group: string[] = [];
      let rows = 0;
      while (i < differ.length && (group.length === 0 || rows < MAX_ROWS_PER_READ)) {
        const prefix = differ[i++]!;
        rows += Math.max(source.get(prefix)?.count ?? 0, held.get(prefix)?.count ?? 0);
        group.push(prefix);
      }
      beat({ phase: 'segments', read: i, of: differ.length });
      const sourceRows = await sourceSegmentRows(pool, uid, group);
      let targetRows: KeyedRecord[];
      try {
        targetRows = await target.segmentRows!(group, { signal: signal() });
      } catch (error) {
        if (signal().aborted) throw error;
        unverified.push(...group);
        lastError = error;
        continue;
      }
      const part = diffKeys(sourceRows, targetRows);
      diff.missing.push(...part.missing);
      diff.extra.push(...part.extra);
      diff.different.push(...part.different);
      diff.matching += part.matching;
    }
    await setSegmentProgress(pool, uid, targetName, { total: segments, checked: segments });
    return { diff, targetCount, unverified, segments, error: lastError };
  }

  /** Lookups by bk_hash: every source key (or a sample), then the keys only the identity store names. */
  async function compareLookups(
    uid: string,
    targetName: string,
    target: Target,
    sample: number | undefined,
    extraCandidates: KeyedRecord[],
  ) {
    const diff: KeyDiff = { missing: [], extra: [], different: [], matching: 0 };
    const unverified: string[] = [];
    const unverifiedKeys = new Set<string>();
    let lastError: unknown = null;
    const batchCount = { total: 0, checked: 0 };
    const check = async (batch: KeyedRecord[], label: string) => {
      try {
        const found = await connectorCall(() => target.fetchByBkHash(batch.map((r) => r.bkHash)));
        return found.filter((r) => r.deletedAt === null);
      } catch (error) {
        if (signal().aborted) throw error;
        unverified.push(label);
        for (const r of batch) unverifiedKeys.add(r.bkHash);
        lastError = error;
        return null;
      }
    };
    const lookUp = async (batch: KeyedRecord[]) => {
      const label = `keys ${batch[0]!.bkHash}..${batch.at(-1)!.bkHash}`;
      const found = await check(batch, label);
      batchCount.checked++;
      await setSegmentProgress(pool, uid, targetName, batchCount);
      if (!found) return;
      const part = diffKeys(
        batch,
        found.map((r) => ({ bkHash: r.bkHash, dataHash: r.dataHash, refStr: r.refStr })),
      );
      diff.missing.push(...part.missing);
      diff.different.push(...part.different);
      diff.matching += part.matching;
    };
    let looked = 0;
    const sampledKeys = new Set<string>();
    const batches = (n: number) => Math.ceil(n / LOOKUP_BATCH);
    if (sample !== undefined) {
      const sampled = await sampleSourceRecords(pool, uid, sample);
      batchCount.total = batches(sampled.length);
      await setSegmentProgress(pool, uid, targetName, batchCount);
      for (const r of sampled) sampledKeys.add(r.bkHash);
      for (let i = 0; i < sampled.length; i += LOOKUP_BATCH) {
        await lookUp(sampled.slice(i, i + LOOKUP_BATCH));
        looked += Math.min(LOOKUP_BATCH, sampled.length - i);
        beat({ phase: 'sample', looked });
      }
      looked = sampled.length;
    } else {
      batchCount.total = batches(await countAllSourceRecords(pool, uid));
      await setSegmentProgress(pool, uid, targetName, batchCount);
      let after: string | null = null;
      for (;;) {
        const batch = await sourceRecordsAfter(pool, uid, after, LOOKUP_BATCH);
        if (batch.length === 0) break;
        await lookUp(batch);
        looked += batch.length;
        after = batch.at(-1)!.bkHash;
        beat({ phase: 'lookup', looked });
      }
    }
    // Extras: a target that cannot list is asked for the keys the identity store says it holds beyond the source.
    const lacking: KeyedRecord[] = [];
    for (let i = 0; i < extraCandidates.length; i += LOOKUP_BATCH) {
      const batch = extraCandidates.slice(i, i + LOOKUP_BATCH);
      const found = await check(batch, `store keys ${batch[0]!.bkHash}..${batch.at(-1)!.bkHash}`);
      if (!found) continue;
      const present = new Map(found.map((r) => [r.bkHash, r]));
      for (const candidate of batch) {
        const record = present.get(candidate.bkHash);
        if (record)
          diff.extra.push({
            bkHash: record.bkHash,
            dataHash: record.dataHash,
            refStr: record.refStr ?? candidate.refStr,
          });
        else lacking.push(candidate);
      }
    }
    return { diff, looked, sampledKeys, unverified, unverifiedKeys, lacking, error: lastError };
  }

  /** Children present on the target whose parent is absent from the parent entity's target of the same name. */
  async function findOrphans(
    uid: string,
    rt: EntityRuntime,
    targetName: string,
    present: (bkHash: string) => boolean,
    unverified: string[],
  ): Promise<KeyedRecord[]> {
    if (!rt.parents) return [];
    const children = (await sourceParents(pool, uid)).filter((c) => present(c.bkHash));
    if (children.length === 0) return [];
    const absent = new Set<string>();
    for (const relation of rt.config.parents) {
      const parent = await runtime(relation.entity);
      if (!parent.config.targets.some((t) => t.name === targetName)) continue;
      const wanted = [
        ...new Set(
          children.flatMap((c) =>
            c.parents
              .filter((p) => p.startsWith(`${relation.entity}:`))
              .map((p) => p.slice(relation.entity.length + 1)),
          ),
        ),
      ];
      const target = parent.target(targetName);
      for (let i = 0; i < wanted.length; i += LOOKUP_BATCH) {
        const batch = wanted.slice(i, i + LOOKUP_BATCH);
        try {
          const found = await connectorCall(() => target.fetchByBkHash(batch));
          const live = new Set(found.filter((r) => r.deletedAt === null).map((r) => r.bkHash));
          for (const bk of batch) if (!live.has(bk)) absent.add(`${relation.entity}:${bk}`);
        } catch (error) {
          if (signal().aborted) throw error;
          unverified.push(`parents ${relation.entity} ${batch[0]}..${batch.at(-1)}`);
        }
        beat({ phase: 'orphans', parent: relation.entity, looked: i + batch.length });
      }
    }
    return children
      .filter((c) => c.parents.some((p) => absent.has(p)))
      .map((c) => ({ bkHash: c.bkHash, dataHash: null, refStr: c.refStr }));
  }

  async function compareTarget(input: ReconcileTargetInput): Promise<ReconcileTargetReport> {
    const uid = input.reportUid;
    const rt = await runtime(input.entityName);
    const config = rt.config.targets.find((t) => t.name === input.target);
    if (!config) {
      throw ApplicationFailure.nonRetryable(
        `Entity "${input.entityName}" has no target "${input.target}".`,
        'ReconcileTargetNotFound',
      );
    }
    const target = rt.target(input.target);
    const sourceCount = (await reportOrFail(uid)).source.records;
    const segments = typeof target.segmentChecksums === 'function' && typeof target.segmentRows === 'function';
    let diff: KeyDiff;
    let unverified: string[];
    let targetCount: number;
    let confidence: number | null = null;
    let confidenceNote: string | null = null;
    let identityMismatch = 0;
    let checked: (bkHash: string) => boolean;
    let failure: unknown = null;
    const method: ReconcileTargetReport['method'] = segments ? 'segments' : input.sample ? 'sample' : 'lookup';
    let store: StoreAgainstSource;
    if (segments) {
      // The identity store's check runs in SyncFlow's database while the target scans its table.
      const [result, storeSide] = await Promise.all([
        compareSegments(uid, input.target, target, sourceCount),
        storeAgainstSource(pool, uid, input.entityName, input.target),
      ]);
      store = storeSide;
      const storeExtras = store.heldNotInSource;
      unverified = result.unverified;
      failure = result.error;
      targetCount = result.targetCount;
      diff = result.diff ?? { missing: [], extra: [], different: [], matching: 0 };
      const unverifiedPrefixes = new Set(unverified);
      const lengths = [...new Set(unverified.map((p) => p.length))];
      checked = (bk) => result.diff !== null && !lengths.some((n) => unverifiedPrefixes.has(bk.slice(0, n)));
      // The store says held, the source lacks it, and the (verified) target lacks it too.
      const extraKeys = new Set(diff.extra.map((r) => r.bkHash));
      identityMismatch += storeExtras.filter((r) => checked(r.bkHash) && !extraKeys.has(r.bkHash)).length;
      const storeExtraKeys = new Set(storeExtras.map((r) => r.bkHash));
      identityMismatch += diff.extra.filter((r) => !storeExtraKeys.has(r.bkHash)).length;
    } else {
      store = await storeAgainstSource(pool, uid, input.entityName, input.target);
      const result = await compareLookups(uid, input.target, target, input.sample, store.heldNotInSource);
      unverified = result.unverified;
      failure = result.error;
      diff = result.diff;
      identityMismatch += result.lacking.length;
      if (input.sample !== undefined) {
        const found = diff.missing.length + diff.different.length;
        const c = sampleConfidence(result.looked, sourceCount, found);
        confidence = c.upperBound;
        confidenceNote = c.note;
        targetCount = result.looked - diff.missing.length + diff.extra.length;
      } else {
        targetCount = sourceCount - diff.missing.length + diff.extra.length;
      }
      // Only keys actually looked up (the sample, the batches that answered) are judged against the store.
      const sampled = result.sampledKeys;
      const notVerified = result.unverifiedKeys;
      checked = (bk) => (input.sample === undefined || sampled.has(bk)) && !notVerified.has(bk);
    }
    // The store says the target does not hold it, and the target does.
    const missingKeys = new Set(diff.missing.map((r) => r.bkHash));
    const notHeld = store.sourceNotHeld;
    for (const bk of notHeld) if (checked(bk) && !missingKeys.has(bk)) identityMismatch++;
    // The store says the target holds it, and the target lacks it.
    for (const bk of missingKeys) if (!notHeld.has(bk)) identityMismatch++;
    const orphans = await findOrphans(uid, rt, input.target, (bk) => checked(bk) && !missingKeys.has(bk), unverified);
    const report: ReconcileTargetReport = {
      target: input.target,
      type: config.type,
      method,
      sourceCount,
      targetCount,
      missing: diff.missing.length,
      extra: diff.extra.length,
      different: diff.different.length,
      orphans: orphans.length,
      identityMismatch,
      unverifiedSegments: unverified,
      confidence,
      confidenceNote,
      clean: false,
      note: unverified.length ? `not verified: ${failure ? messageOf(failure) : 'target unavailable'}` : null,
      firstKeys: {
        ...emptyFirstKeys(),
        missing: firstKeys(diff.missing),
        extra: firstKeys(diff.extra),
        different: firstKeys(diff.different),
        orphans: firstKeys(orphans),
      },
      repaired: null,
    };
    report.clean = isClean(report);
    await saveTargetReport(pool, uid, report);
    if (input.repair) {
      await keepDifferences(pool, uid, input.target, diff);
    }
    return report;
  }

  return {
    async openReconcile(input: ReconcileInput): Promise<OpenedReconcile> {
      const entity = await getEntity(ctx.prisma, input.entityName);
      if (!entity) throw ApplicationFailure.nonRetryable(`No entity named "${input.entityName}".`, 'EntityNotFound');
      const report = await openReport(pool, {
        uid: input.reportUid,
        entityName: input.entityName,
        repair: input.repair === true,
        sample: input.sample ?? null,
        workflowId: `reconcile-${input.reportUid}`,
      });
      if (report.status !== 'running')
        return { targets: [], live: entity.mode === 'live', finished: outcomeOf(report) };
      const wanted = input.targets?.length ? new Set(input.targets) : null;
      const unknown = [...(wanted ?? [])].filter((t) => !entity.config.targets.some((c) => c.name === t));
      if (unknown.length) {
        throw ApplicationFailure.nonRetryable(
          `Entity "${input.entityName}" has no target ${unknown.join(', ')}.`,
          'ReconcileTargetNotFound',
        );
      }
      const targets: ReconcileTargetPlan[] = entity.config.targets
        .filter((t) => !wanted || wanted.has(t.name))
        .map((t) => ({
          name: t.name,
          type: t.type,
          method: t.type === 'postgres' ? 'segments' : input.sample ? 'sample' : 'lookup',
        }));
      return { targets, live: entity.mode === 'live', finished: null };
    },

    async reconcileSource(input: ReconcileInput): Promise<ReconcileSourceSummary> {
      const uid = input.reportUid;
      const rt = await runtime(input.entityName);
      let state: SourceReadState = await readSourceState(pool, uid);
      if (!state.sourceDone) {
        // A first attempt starts clean; a retry continues after the last page it recorded.
        if (state.sourceCursor === null && state.sourceRows === 0) await clearSourceRecords(pool, uid);
        await updateReport(pool, uid, { progress: { phase: 'source' } });
        for (;;) {
          const page = await connectorCall(() =>
            rt.source().fetchPage({
              mode: 'full',
              keyColumns: rt.keyColumns,
              cursor: state.sourceCursor,
              pageSize: rt.config.pageSize,
              signal: signal(),
            }),
          );
          const { records, unsyncable } = normalizedRecords(rt, page.rows);
          state = {
            sourceCursor: page.nextCursor,
            sourceDone: page.done || page.nextCursor === null,
            sourceRows: state.sourceRows + page.rows.length,
            unsyncable: state.unsyncable + unsyncable,
          };
          await storeSourcePage(pool, uid, records, state);
          beat({ phase: 'source', rows: state.sourceRows });
          if (state.sourceDone) break;
        }
      }
      await analyzeSourceRecords(pool);
      const summary = {
        rows: state.sourceRows,
        records: await countSourceRecords(pool, uid),
        unsyncable: state.unsyncable,
      };
      // The source's side of every target's first segment comparison, computed once.
      await keepSourceSegments(pool, uid, prefixLengthFor(summary.records));
      await updateReport(pool, uid, { source: summary, progress: { phase: 'targets', sourceRows: state.sourceRows } });
      return summary;
    },

    async reconcileTarget(input: ReconcileTargetInput): Promise<ReconcileTargetReport> {
      const report = await compareTarget(input);
      return report;
    },

    async planRepair(input: ReconcileTargetInput): Promise<RepairPlan> {
      const rt = await runtime(input.entityName);
      const uid = input.reportUid;
      await updateReport(pool, uid, { progress: { phase: 'repair' } });
      const kept = await countDifferences(pool, uid, input.target);
      await markDifferencesForResend(pool, uid, input.entityName, input.target);
      const deletes = rt.config.deletePolicy !== 'none';
      if (deletes) await holdDifferencesForDelete(pool, uid, input.entityName, input.target);
      return {
        target: input.target,
        resent: kept.missing + kept.different,
        deleted: deletes ? kept.extra : 0,
        reportedOnly: deletes ? 0 : kept.extra,
      };
    },

    async verifyRepair(input): Promise<ReconcileTargetReport> {
      const uid = input.reportUid;
      const rt = await runtime(input.entityName);
      await updateReport(pool, uid, { progress: { phase: 'verify' } });
      const target = rt.target(input.target);
      // Re-sent keys should now hold the source's data hash; deleted extras should be gone.
      const kinds =
        input.plan.deleted > 0 ? (['missing', 'different', 'extra'] as const) : (['missing', 'different'] as const);
      let verified = 0;
      let looked = 0;
      let after: string | null = null;
      for (;;) {
        const batch = await differencesAfter(pool, uid, input.target, kinds, after, LOOKUP_BATCH);
        if (batch.length === 0) break;
        const found = await connectorCall(() => target.fetchByBkHash(batch.map((k) => k.bkHash)));
        const live = new Map(found.filter((r) => r.deletedAt === null).map((r) => [r.bkHash, r.dataHash]));
        for (const key of batch) {
          if (key.expected !== null ? live.get(key.bkHash) === key.expected : !live.has(key.bkHash)) verified++;
        }
        looked += batch.length;
        after = batch.at(-1)!.bkHash;
        beat({ phase: 'verify', looked });
      }
      const report = (await reportOrFail(uid)).targets.find((t) => t.target === input.target);
      if (!report) throw new Error(`reconcile report ${uid} has no target ${input.target}`);
      report.repaired = {
        resent: input.plan.resent,
        deleted: input.plan.deleted,
        reportedOnly: input.plan.reportedOnly,
        verified,
        stillDifferent: looked - verified,
      };
      if (input.syncError) report.note = `repair: ${input.syncError}`;
      await saveTargetReport(pool, uid, report);
      return report;
    },

    async finishReconcile(input): Promise<ReconcileOutcome> {
      const report = await reportOrFail(input.reportUid);
      if (report.status === 'running') {
        const clean = input.status === 'completed' ? allClean(report.targets) && report.targets.length > 0 : null;
        await updateReport(pool, input.reportUid, { clean, progress: { phase: 'done' } });
        await setReportStatus(pool, input.reportUid, input.status, input.error ?? null);
        await dropWorkRows(pool, input.reportUid);
        const final = await reportOrFail(input.reportUid);
        await insertEventSql(
          pool,
          input.status === 'completed' ? 'reconcile.completed' : 'reconcile.failed',
          input.entityName,
          null,
          {
            reportUid: input.reportUid,
            status: input.status,
            clean: final.clean,
            error: final.error,
            durationMs: final.durationMs,
            targets: outcomeOf(final).targets.map((t, i) => ({ ...t, repaired: final.targets[i]!.repaired })),
          },
        );
        return outcomeOf(final);
      }
      return outcomeOf(report);
    },
  };
}
