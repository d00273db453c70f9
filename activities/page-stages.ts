import { performance } from 'node:perf_hooks';
import { keyText } from '../connectors/postgres/keyset.ts';
import { presentIn, readStoredIdentities, wouldBePresent } from '../db/identity-store.ts';
import { readReplayPage, replaySelectionOf } from '../db/replay.ts';
import { decideOperations, type StoredIdentity, skipStaleReplays } from '../pipeline/delta/delta.ts';
import { findUnchanged } from '../pipeline/delta/unchanged-source.ts';
import { applyBatchOf, targetCallsFor } from '../pipeline/ingest/plan.ts';
import type { FailedRow, NormalizationResult } from '../pipeline/normalize/engine.ts';
import { applyToTargets, markingSent, targetsInWriteOrder } from './apply-to-targets.ts';
import type {
  DeltaReport,
  FetchReport,
  FetchRequest,
  IngestReport,
  PageRef,
  PageStageActivities,
  ResolveReport,
  StageReport,
  TrackReport,
  TransformReport,
} from './contract.ts';
import type { WorkerContext } from './deps.ts';
import type { EntityRuntime } from './entity-runtime.ts';
import { connectorCall } from './failures.ts';
import { withHeartbeat } from './heartbeat.ts';
import { decisionsFor, type PageState, type QuarantinedRow, type WaitingChild } from './page-cache.ts';
import { trackPage } from './track.ts';

/**
 * The nine stages of one page, each its own activity (visible in the
 * Temporal Web UI). All run on the worker's own task queue; the page's data
 * stays in the worker-local cache and only small reports cross the workflow
 * history. Each stage reads what the previous one left, and is safe to run
 * again: it recomputes from the previous stage's output. What they take and
 * answer is the workflow's contract (./contract.ts).
 */
const timed = async <T extends object>(work: () => Promise<T> | T): Promise<T & { ms: number }> => {
  const started = performance.now();
  const result = await work();
  return { ...result, ms: Math.round((performance.now() - started) * 100) / 100 };
};

function quarantine(stage: QuarantinedRow['stage'], failed: readonly FailedRow[]): QuarantinedRow[] {
  return failed.map((row) => {
    const first = row.errors[0]!;
    return {
      index: row.index,
      stage,
      errorType: first.code,
      message: row.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors: row.errors,
      normalized: row.values,
    };
  });
}

/** NORMALIZE over the rows not found unchanged; row positions stay those of the fetched page. */
function normalizeChanged(rt: EntityRuntime, state: PageState): NormalizationResult {
  if (!state.unchanged?.size) return rt.normalizer.normalizeRows(state.raw);
  const positions: number[] = [];
  for (let i = 0; i < state.raw.length; i++) if (!state.unchanged.has(i)) positions.push(i);
  const result = rt.normalizer.normalizeRows(positions.map((i) => state.raw[i]!));
  for (const row of result.valid) row.index = positions[row.index]!;
  for (const row of result.failed) row.index = positions[row.index]!;
  return result;
}

export function createPageStageActivities(ctx: WorkerContext): PageStageActivities {
  const runtime = (ref: PageRef) => ctx.runtimes.get(ref.entityName, ref.configVersion);
  const page = (ref: PageRef) => ctx.pages.get(ref.batchUid, ref.page);

  /**
   * Rows unchanged since the last sync (pipeline/delta/unchanged-source.ts): their key-only bk_hash and source
   * hash against every target's identity rows, read once for the page (DELTA reuses them). A row is set aside
   * only when every target holds it unchanged: a target that lacks it or failed it gets it sent.
   */
  const screenUnchanged = async (rt: EntityRuntime, ref: PageRef, rows: PageState['raw']) => {
    const sourceHashes = rt.screen.sourceHashes(rows);
    const keys = rt.screen.keys(rows);
    const lookedUp = new Set<string>();
    for (const key of keys) if (key !== null) lookedUp.add(key);
    const stored = new Map<string, Map<string, StoredIdentity>>();
    const perTarget: Set<number>[] = [];
    for (const target of targetsInWriteOrder(rt)) {
      const held = await readStoredIdentities(ctx.pool, ref.entityName, target.name, [...lookedUp]);
      stored.set(target.name, held);
      perTarget.push(findUnchanged(rows, keys, sourceHashes, held));
    }
    const [first, ...others] = perTarget;
    const everywhere = [...(first ?? [])].filter((i) => others.every((set) => set.has(i)));
    // A replay re-runs records that failed: none of them is set aside before DELTA has seen it.
    const unchanged = new Map(ref.syncType === 'replay' ? [] : everywhere.map((i) => [i, keys[i]!] as const));
    return { sourceHashes, unchanged, stored, lookedUp };
  };

  /** FETCH of a replay: the next dead letters of the batch's frozen selection, as the raw rows they failed with. */
  const fetchReplay = async (ref: PageRef, request: FetchRequest): Promise<Omit<FetchReport, 'ms'>> => {
    const selection = await replaySelectionOf(ctx.pool, ref.batchUid);
    if (!selection) throw new Error(`batch ${ref.batchUid} is not a replay (no selection in its metrics)`);
    const page = await readReplayPage(ctx.pool, selection, request.cursor, request.pageSize);
    ctx.pages.put({
      batchUid: ref.batchUid,
      page: ref.page,
      raw: page.rows.map((r) => r.raw),
      replayOf: page.rows.map((r) => ({ uid: r.uid, failedAtMs: r.failedAt.getTime() })),
      lastRowversion: null,
      nextCursor: page.nextCursor,
      quarantined: [],
    });
    return { rowsIn: page.rows.length, rowsOut: page.rows.length, nextCursor: page.nextCursor, done: page.done };
  };

  /** FETCH's work: the source read stops when the activity is cancelled (the signal reaches the connector). */
  const fetchOne = async (ref: PageRef, request: FetchRequest, signal: AbortSignal): Promise<FetchReport> => {
    const rt = await runtime(ref);
    const mode = request.mode;
    if (mode === 'replay') return timed(() => fetchReplay(ref, request));
    return timed(async () => {
      const result = await connectorCall(() =>
        rt.source().fetchPage({
          mode,
          keyColumns: rt.keyColumns,
          ...(rt.rowversionColumn ? { rowversionColumn: rt.rowversionColumn } : {}),
          cursor: request.cursor,
          watermark: request.watermark,
          pageSize: request.pageSize,
          signal,
        }),
      );
      const last = result.rows[result.rows.length - 1];
      const lastRowversion =
        last && rt.rowversionColumn && last[rt.rowversionColumn] != null ? keyText(last[rt.rowversionColumn]) : null;
      ctx.pages.put({
        batchUid: ref.batchUid,
        page: ref.page,
        raw: result.rows,
        lastRowversion,
        nextCursor: result.nextCursor,
        quarantined: [],
      });
      return {
        rowsIn: result.rows.length,
        rowsOut: result.rows.length,
        nextCursor: result.nextCursor,
        done: result.done,
      };
    });
  };

  const stages = {
    /** FETCH: one page from the source in a stable order (keyset; incremental = above the watermark). */
    fetchPage(ref: PageRef, request: FetchRequest): Promise<FetchReport> {
      return withHeartbeat(
        (signal) => fetchOne(ref, request, signal),
        () => ({ stage: 'fetch', page: ref.page }),
      );
    },

    /**
     * NORMALIZE: layers 1-4 (and the mapping layer's per-field work; its failures are counted under MAP), over
     * the rows that changed since the last sync: first, one identity-store read for the page (which DELTA
     * reuses) sets aside the unchanged ones. Here and not in FETCH: FETCH is the one stage pages run in turn.
     */
    async normalizePage(ref: PageRef): Promise<StageReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(async () => {
        Object.assign(state, await screenUnchanged(rt, ref, state.raw));
        const result = normalizeChanged(rt, state);
        const mappingOnly = (row: FailedRow) => row.errors.every((e) => e.layer === 'mapping');
        state.normalized = result.valid;
        state.quarantined = [
          ...quarantine(
            'normalize',
            result.failed.filter((r) => !mappingOnly(r)),
          ),
          ...quarantine('map', result.failed.filter(mappingOnly)),
        ];
        return { rowsIn: state.raw.length - (state.unchanged?.size ?? 0), rowsOut: result.valid.length };
      });
    },

    /** VALIDATE: required fields, ranges, types and per-field rules of the entity's contract. */
    async validatePage(ref: PageRef): Promise<StageReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(() => {
        const rows = state.normalized ?? [];
        const result = rt.validator.validateRows(rows);
        state.valid = result.valid;
        state.quarantined = [
          ...state.quarantined.filter((q) => q.stage !== 'validate'),
          ...quarantine('validate', result.failed),
        ];
        return { rowsIn: rows.length, rowsOut: result.valid.length };
      });
    },

    /** MAP: the target-shaped record of each valid row (target field names, mapped values). */
    async mapPage(ref: PageRef): Promise<StageReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(() => {
        const valid = state.valid ?? [];
        const fields = rt.targetFields.map((f) => f.name);
        state.rowIndex = valid.map((row) => row.index);
        state.records = valid.map((row) => {
          const data: Record<string, unknown> = {};
          for (const field of fields) data[field] = row.values[field] ?? null;
          return { bkHash: '', dataHash: '', rowversion: null, refStr: '', data };
        });
        return { rowsIn: valid.length, rowsOut: state.records.length };
      });
    },

    /** IDENTITY: bk_hash, data_hash, rowversion and the readable reference of every record. */
    async identifyPage(ref: PageRef): Promise<StageReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(() => {
        const records = state.records ?? [];
        state.identities = records.map((record) => {
          const identity = rt.identity.identify(record.data);
          record.bkHash = identity.bkHash;
          record.dataHash = identity.dataHash;
          record.rowversion = identity.rowversion;
          record.refStr = identity.reference;
          return identity;
        });
        return { rowsIn: records.length, rowsOut: records.length };
      });
    },

    /**
     * DELTA: INSERT / UPDATE / SKIP for each target against what that target holds (the identity store): the
     * primary's decisions make the page's counts; a secondary's own decisions send it what it lacks or failed.
     * A replay's records whose raw form is older than what a target acknowledged are SKIPped everywhere.
     */
    async deltaPage(ref: PageRef): Promise<DeltaReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(async () => {
        const identities = state.identities ?? [];
        // NORMALIZE read the keys it could compute; a key only the full path computes (rare) is read now.
        const unread = identities.map((i) => i.bkHash).filter((bk) => !state.lookedUp?.has(bk));
        const storedBy = new Map<string, Map<string, StoredIdentity>>();
        for (const target of targetsInWriteOrder(rt)) {
          const stored = new Map(state.stored?.get(target.name));
          for (const [bk, identity] of await readStoredIdentities(ctx.pool, ref.entityName, target.name, unread)) {
            stored.set(bk, identity);
          }
          storedBy.set(target.name, stored);
        }
        const options = { strategy: rt.config.deltaStrategy, rowversionFamily: rt.identity.rowversionFamily };
        const decide = (target: string) => decideOperations(identities, storedBy.get(target)!, options);
        let primary = decide(rt.primary.name);
        let stale = new Set<number>();
        const replayOf = state.replayOf;
        if (replayOf) {
          const failedAt = (i: number) => replayOf[state.rowIndex![i]!]!.failedAtMs;
          ({ result: primary, stale } = skipStaleReplays(primary, identities, failedAt, storedBy.values()));
        }
        state.delta = primary;
        state.targetDecisions = {};
        for (const target of targetsInWriteOrder(rt)) {
          if (target.name === rt.primary.name) continue;
          const own = decide(target.name).decisions;
          state.targetDecisions[target.name] =
            stale.size === 0
              ? own
              : own.map((d) => (d.index !== undefined && stale.has(d.index) ? primary.decisions[d.index]! : d));
        }
        const c = state.delta.counts;
        const unchanged = state.unchanged?.size ?? 0;
        return {
          rowsIn: identities.length + unchanged,
          rowsOut: c.inserted + c.updated,
          inserts: c.inserted,
          updates: c.updated,
          skips: c.skipped + unchanged,
        };
      });
    },

    /** RESOLVE: a record to write whose parent is not yet in the parent's target waits (pending_children). */
    async resolvePage(ref: PageRef): Promise<ResolveReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      return timed(async () => {
        const decisions = state.delta?.decisions ?? [];
        const toWrite = decisions.filter((d) => d.operation === 'INSERT' || d.operation === 'UPDATE');
        const waiting: WaitingChild[] = [];
        if (rt.parents) {
          const refs = toWrite.map((d) => ({ record: d.index!, parents: rt.parents!(state.records![d.index!]!.data) }));
          const present = new Map<string, Set<string>>();
          for (const [parentEntity, parentTarget] of rt.parentPrimary) {
            const wanted = refs.flatMap((r) =>
              r.parents.filter((p) => p.parentEntity === parentEntity).map((p) => p.parentBkHash),
            );
            const found = await presentIn(ctx.pool, parentEntity, parentTarget, wanted);
            // A dry run writes no parent, so it also counts the parents the parent's latest dry run would write.
            if (ref.dryRun) for (const bk of await wouldBePresent(ctx.pool, parentEntity, wanted)) found.add(bk);
            present.set(parentEntity, found);
          }
          for (const { record, parents } of refs) {
            const missing = parents.find((p) => !present.get(p.parentEntity)?.has(p.parentBkHash));
            if (missing) waiting.push({ record, parent: missing });
          }
        }
        state.waiting = waiting;
        return { rowsIn: toWrite.length, rowsOut: toWrite.length - waiting.length, waiting: waiting.length };
      });
    },

    /**
     * INGEST: inserts and updates to every target through applyToTargets (primary first; a failing secondary
     * never blocks the primary and becomes per-record failures); per-record results kept for TRACK, which
     * records them. Targets are idempotent by bk_hash, so a retried activity never duplicates. A dry run
     * writes nothing and reports the calls it would make.
     */
    async ingestPage(ref: PageRef): Promise<IngestReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      let writing: string | null = null;
      return withHeartbeat(
        (signal) =>
          timed(async () => {
            const waiting = new Set((state.waiting ?? []).map((w) => w.record));
            const ready = (i: number) => !waiting.has(i);
            const batches = new Map(
              targetsInWriteOrder(rt).map((t) => [
                t.name,
                applyBatchOf(decisionsFor(rt, state, t.name), state.records ?? [], ready),
              ]),
            );
            const targetCalls: Record<string, number> = {};
            let toSend = 0;
            for (const target of targetsInWriteOrder(rt)) {
              const batch = batches.get(target.name)!;
              const size = { inserts: batch.inserts.length, updates: batch.updates.length, deletes: 0 };
              targetCalls[target.name] = targetCallsFor(target, size);
              toSend += size.inserts + size.updates;
            }
            const primaryBatch = batches.get(rt.primary.name)!;
            const rowsIn = primaryBatch.inserts.length + primaryBatch.updates.length;
            if (ref.dryRun || toSend === 0) {
              state.ingest = {};
              return { rowsIn, rowsOut: ref.dryRun ? 0 : rowsIn, targetCalls };
            }
            // Cancelled (a stop): the write stops and nothing more is sent; the activity ends cancelled.
            const outcomes = await applyToTargets(rt, (target) => batches.get(target)!, {
              signal,
              beforeWrite: markingSent(ctx.pool, ref.entityName, ref.batchUid),
              onTarget: (name) => {
                writing = name;
              },
            });
            state.ingest = Object.fromEntries(outcomes.map((o) => [o.target, o.results]));
            const primaryOk = (state.ingest[rt.primary.name] ?? []).filter((r) => r.ok).length;
            return { rowsIn, rowsOut: primaryOk, targetCalls };
          }),
        () => ({ stage: 'ingest', page: ref.page, target: writing }),
      );
    },

    /**
     * TRACK: one transaction per page: identity store, DLQ, pending children,
     * seen keys (full sync), the page's counts (once per page, even when
     * retried) and the watermark. Then the page leaves the cache.
     */
    async trackPage(ref: PageRef): Promise<TrackReport> {
      const [rt, state] = [await runtime(ref), page(ref)];
      const report = await timed(async () => {
        const counts = await trackPage(ctx, rt, ref, state);
        return { rowsIn: state.raw.length, rowsOut: state.raw.length, counts };
      });
      ctx.pages.drop(ref.batchUid, ref.page);
      return report;
    },
  };
  /** I/O stages scheduled with a heartbeatTimeout: they heartbeat while they work (TRACK's transaction is not interrupted). */
  const beating =
    <A extends unknown[], R>(stage: string, work: (ref: PageRef, ...rest: A) => Promise<R>) =>
    (ref: PageRef, ...rest: A): Promise<R> =>
      withHeartbeat(
        () => work(ref, ...rest),
        () => ({ stage, page: ref.page }),
      );
  return {
    ...stages,
    deltaPage: beating('delta', stages.deltaPage),
    resolvePage: beating('resolve', stages.resolvePage),
    trackPage: beating('track', stages.trackPage),
    /**
     * NORMALIZE → VALIDATE → MAP → IDENTITY → DELTA → RESOLVE in one activity (entities with
     * `stageActivities: fused`): the same stage code, one task round trip instead of six; each stage's
     * timing and counts are still reported apart (see the README's benchmark).
     */
    transformPage: beating(
      'transform',
      async (ref: PageRef): Promise<TransformReport> => ({
        normalize: await stages.normalizePage(ref),
        validate: await stages.validatePage(ref),
        map: await stages.mapPage(ref),
        identity: await stages.identifyPage(ref),
        delta: await stages.deltaPage(ref),
        resolve: await stages.resolvePage(ref),
      }),
    ),
  };
}
