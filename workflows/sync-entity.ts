import {
  ActivityCancellationType,
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  ContinueAsNew,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  BatchActivities,
  BatchSummary,
  ChildActivities,
  DeleteActivities,
  FetchReport,
  PageRef,
  PageStageActivities,
  StageReport,
} from '../activities/contract.ts';
import { addCounts, type RecordCounts, zeroCounts } from '../pipeline/accounting.ts';
import {
  type CircuitReading,
  type NightLimits,
  nightLimitsSignal,
  pauseSignal,
  pauseUpdate,
  progressQuery,
  resumeSignal,
  resumeUpdate,
  type StageName,
  type StageTotals,
  SYNC_FINISHING,
  type SyncEntityInput,
  type SyncPhase,
  type SyncProgress,
  stageNames,
  stopUpdate,
} from './contract.ts';
import { SyncPaused } from './search-attributes.ts';

/**
 * Shared-queue activities: batch lifecycle, deletes, child release. They heartbeat (activities/heartbeat.ts);
 * a stop waits until a running one has seen its cancellation and stopped writing (deletes, child release).
 */
const shared = proxyActivities<BatchActivities & DeleteActivities & ChildActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '60 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 12, // about five minutes of a dependency being down, then the batch fails with the cause
    // No list of non-retryable types: each failure says itself whether a retry can help (activities/failures.ts).
  },
});
const claim = proxyActivities<BatchActivities>({ startToCloseTimeout: '30 seconds' });

/**
 * Page stages run on one worker's own queue. If that worker dies, its tasks
 * are never started (schedule-to-start) or stop heartbeating, and the page is
 * redone from FETCH on a newly claimed worker. The I/O stages heartbeat every
 * few seconds while they work (activities/heartbeat.ts), so a slow source is
 * never taken for a lost worker; the short CPU stages have no heartbeatTimeout.
 *
 * On a stop, reads (FETCH, DELTA, RESOLVE, the fused transform) are cancelled
 * and left behind (TRY_CANCEL); the writes are waited for until they have seen
 * the cancellation (WAIT_CANCELLATION_COMPLETED): INGEST stops its target
 * writes, and a TRACK already running commits before the batch closes (one not
 * yet started never starts), so no target write follows the batch's end.
 */
function pageStages(taskQueue: string) {
  const cpu = proxyActivities<PageStageActivities>({
    taskQueue,
    scheduleToStartTimeout: '10 seconds',
    startToCloseTimeout: '20 seconds',
    retry: { maximumAttempts: 2 },
  });
  const ioOptions = {
    taskQueue,
    scheduleToStartTimeout: '10 seconds',
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '30 seconds',
      maximumAttempts: 8,
    },
  } satisfies ActivityOptions;
  const io = proxyActivities<PageStageActivities>({
    ...ioOptions,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
  const write = proxyActivities<PageStageActivities>({
    ...ioOptions,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  // proxyActivities returns a Proxy: pick each stage by name (spreading it yields nothing).
  return {
    fetchPage: io.fetchPage,
    normalizePage: cpu.normalizePage,
    validatePage: cpu.validatePage,
    mapPage: cpu.mapPage,
    identifyPage: cpu.identifyPage,
    deltaPage: io.deltaPage,
    resolvePage: io.resolvePage,
    ingestPage: write.ingestPage,
    trackPage: write.trackPage,
    transformPage: io.transformPage,
  };
}

const MAX_PAGES_IN_FLIGHT = 3;
/** Pages per execution before continue-as-new keeps history small (about 40 events per page). */
const PAGES_PER_RUN = 150;
const MAX_PAGE_ATTEMPTS = 5;

const emptyStages = (): StageTotals =>
  Object.fromEntries(stageNames.map((s) => [s, { ms: 0, rowsIn: 0, rowsOut: 0 }])) as StageTotals;

/** A page can be redone elsewhere when its worker vanished or lost the page; anything else is the page's own failure. */
function workerLost(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  const cause = error.cause;
  // Never started (schedule-to-start) or stopped heartbeating: the worker is gone. A slow activity heartbeats.
  if (cause instanceof TimeoutFailure)
    return cause.timeoutType === 'SCHEDULE_TO_START' || cause.timeoutType === 'HEARTBEAT';
  return cause instanceof ApplicationFailure && cause.type === 'PageCacheMiss';
}

/** One batch of one entity: FETCH → NORMALIZE → VALIDATE → MAP → IDENTITY → DELTA → RESOLVE → INGEST → TRACK per page. */
export async function syncEntity(input: SyncEntityInput): Promise<BatchSummary> {
  const info = workflowInfo();
  const resume = input.resume;
  const stages = resume?.stages ?? emptyStages();
  const startedAtMs = resume?.startedAtMs ?? Date.now();
  let paused = resume?.paused ?? false;
  let phase: SyncPhase = 'starting';
  let counts: RecordCounts = resume?.counts ?? zeroCounts();
  let pagesCompleted = resume?.nextPage ?? 0;
  let inFlight = 0;
  let estimatedRows: number | null = null;
  const targetCalls: Record<string, number> = { ...resume?.targetCalls };
  const notes: string[] = [...(resume?.notes ?? [])];
  /**
   * A background batch's bounds (absent for other syncs): read before each page starts; the load changes them
   * by signal. Rows read so far (tracked and in flight) and the last page's time from FETCH to TRACK decide.
   */
  let limits: NightLimits | null = input.background ?? null;
  let rowsRead = counts.fetched;
  let lastPageMs = input.background?.pageMs ?? 0;
  /** A bounded trial run (POST /sync/start's maxItems): the rows the batch reads at most; the last page is cut to fit. */
  const maxItems = input.maxItems ?? null;
  /**
   * Why the batch stops starting pages: a trial run read its maxItems; a background batch's quota is read, or
   * its window closes before a page could end.
   */
  const nightOver = (): 'maxItems' | 'quota' | 'window' | null => {
    if (maxItems !== null && rowsRead >= maxItems) return 'maxItems';
    if (limits === null) return null;
    if (limits.maxRows !== null && rowsRead >= limits.maxRows) return 'quota';
    return Date.now() + lastPageMs > limits.stopAtMs ? 'window' : null;
  };
  let endedBy: 'maxItems' | 'quota' | 'window' | null = null;
  /** Pages between FETCH and the end of TRACK: a stop waits for them (see pageStages). */
  const pagesRunning = new Set<Promise<void>>();

  /** The page loop has ended (or the run failed / was cancelled): a pause can no longer take effect. */
  let pageLoopOver = false;
  /** True from the moment the loop reaches a pause until the batch is marked running again. */
  let inPause = false;
  /** True while the batch is marked paused (between the two setBatchPaused calls). */
  let pauseApplied = false;
  /** The stop update cancels this scope (the batch's work); a cancellation request cancels it through the root. */
  const work = new CancellationScope();
  let stopRequested = false;

  const progress = (): SyncProgress => {
    const elapsed = Date.now() - startedAtMs;
    return {
      batchUid: input.batchUid,
      entityName: input.entityName,
      syncType: input.syncType,
      dryRun: input.dryRun,
      phase,
      paused,
      pagesCompleted,
      pagesInFlight: inFlight,
      estimatedRows,
      counts,
      rowsPerSecond: elapsed > 0 ? Math.round((counts.fetched / elapsed) * 1000) : 0,
      stages,
    };
  };
  setHandler(progressQuery, progress);
  // Executions started by older code (and the recorded histories) pause and resume by signal: kept for them.
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });
  setHandler(nightLimitsSignal, (change) => {
    if (limits) limits = { ...limits, ...change };
  });
  /** Validator of both control updates: refused (nothing written to history) once the batch is finishing. */
  const refuseWhenFinishing = () => {
    if (pageLoopOver || (phase !== 'starting' && phase !== 'syncing')) {
      throw ApplicationFailure.create({
        type: SYNC_FINISHING,
        nonRetryable: true,
        message: `Batch ${input.batchUid} is finishing (${phase}): it can no longer be paused or resumed.`,
      });
    }
  };
  // The updates answer with the state after the change took effect: pause once the pages in flight are tracked
  // and the batch is marked paused, resume once the batch is marked running again. A later opposite request wins.
  setHandler(
    pauseUpdate,
    async () => {
      paused = true;
      await condition(() => !paused || pauseApplied || pageLoopOver);
      if (paused && !pauseApplied) {
        paused = false;
        throw ApplicationFailure.create({
          type: SYNC_FINISHING,
          nonRetryable: true,
          message: `Batch ${input.batchUid} read its last page before the pause took effect (${phase}).`,
        });
      }
      return progress();
    },
    { validator: refuseWhenFinishing },
  );
  setHandler(
    resumeUpdate,
    async () => {
      paused = false;
      await condition(() => paused || !inPause || pageLoopOver);
      return progress();
    },
    { validator: refuseWhenFinishing },
  );
  // Stop: cancel the batch's work and answer once the batch is closed `cancelled`, with the final progress.
  setHandler(
    stopUpdate,
    async () => {
      stopRequested = true;
      work.cancel();
      await condition(() => phase === 'done');
      return progress();
    },
    {
      validator: () => {
        if (phase === 'finishing' || phase === 'done') {
          throw ApplicationFailure.create({
            type: SYNC_FINISHING,
            nonRetryable: true,
            message: `Batch ${input.batchUid} is finishing (${phase}): it can no longer be stopped.`,
          });
        }
      },
    },
  );

  const add = (stage: StageName, report: StageReport) => {
    stages[stage].ms += report.ms;
    stages[stage].rowsIn += report.rowsIn;
    stages[stage].rowsOut += report.rowsOut;
  };

  let fullSyncWatermark: string | null = null;
  const finish = (status: 'completed' | 'failed' | 'cancelled', error?: string) =>
    CancellationScope.nonCancellable(() =>
      shared.finishBatch({
        batchUid: input.batchUid,
        status,
        ...(error ? { error } : {}),
        stages,
        targetCalls,
        elapsedMs: Date.now() - startedAtMs,
        notes,
        fullSyncWatermark: status === 'completed' && !input.dryRun ? fullSyncWatermark : null,
      }),
    );

  const summary = await work.run(() => runBatch());
  // A stop update answers once the batch is closed: it finishes before the workflow completes.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return summary;

  async function runBatch(): Promise<BatchSummary> {
    try {
      const plan = await shared.beginBatch({
        batchUid: input.batchUid,
        entityName: input.entityName,
        syncType: input.syncType,
        dryRun: input.dryRun,
        workflowId: info.workflowId,
      });
      estimatedRows = plan.estimatedRows;
      fullSyncWatermark = resume?.fullSyncWatermark ?? plan.fullSyncWatermark;
      const watermark = resume?.watermark ?? plan.watermark;
      /** Each page claims a worker: whichever process takes the claim runs all of that page's stages, so workers share a batch. */
      const claimWorker = async () => pageStages(await claim.claimPageWorker());
      const base = {
        batchUid: input.batchUid,
        entityName: input.entityName,
        configVersion: plan.configVersion,
        syncType: input.syncType,
        dryRun: input.dryRun,
      };
      const fetchRequest = (cursor: string | null, pageSize = plan.pageSize) => ({
        cursor,
        mode: plan.readMode,
        watermark: plan.readMode === 'incremental' ? watermark : null,
        pageSize,
      });

      /**
       * Circuit breaker: when the failure rate since the batch started (or since the last explicit resume)
       * crosses the entity's threshold, the sync pauses itself and says so; resuming is an operator's decision.
       */
      let circuitBaseline = resume?.circuit?.baseline ?? { fetched: 0, failed: 0 };
      let circuitOpen = (resume?.circuit?.open ?? null) as CircuitReading | null;
      const checkCircuit = () => {
        const breaker = plan.circuitBreaker;
        if (!breaker || circuitOpen || paused) return;
        const fetched = counts.fetched - circuitBaseline.fetched;
        const failed = counts.failed - circuitBaseline.failed;
        if (fetched >= breaker.minRows && failed / fetched > breaker.maxFailureRate) {
          circuitOpen = { rate: Math.round((failed / fetched) * 1000) / 1000, fetched, failed };
          paused = true;
        }
      };

      /** NORMALIZE … INGEST, then TRACK once the previous page is tracked (the watermark only moves over accounted pages). */
      const processPage = async (
        ref: PageRef,
        request: ReturnType<typeof fetchRequest>,
        previous: Promise<void>,
        fetched: FetchReport,
        worker: ReturnType<typeof pageStages>,
      ) => {
        let s = worker;
        for (let attempt = 1; ; attempt++) {
          try {
            if (attempt > 1) add('fetch', await s.fetchPage(ref, request));
            else add('fetch', fetched);
            // An empty page (the source ended on a page boundary, or an incremental found nothing above the
            // watermark) has nothing to transform, write or account: three activities fewer on the path of an
            // incremental sync with nothing to do. Patched: older histories ran the stages.
            if (attempt === 1 && fetched.rowsIn === 0 && patched('empty-page-skips-stages')) {
              await previous;
              return;
            }
            if (plan.stageActivities === 'fused') {
              const reports = await s.transformPage(ref);
              for (const stage of ['normalize', 'validate', 'map', 'identity', 'delta', 'resolve'] as const) {
                add(stage, reports[stage]);
              }
            } else {
              add('normalize', await s.normalizePage(ref));
              add('validate', await s.validatePage(ref));
              add('map', await s.mapPage(ref));
              add('identity', await s.identifyPage(ref));
              add('delta', await s.deltaPage(ref));
              add('resolve', await s.resolvePage(ref));
            }
            const ingest = await s.ingestPage(ref);
            add('ingest', ingest);
            for (const [name, calls] of Object.entries(ingest.targetCalls))
              targetCalls[name] = (targetCalls[name] ?? 0) + calls;
            await previous;
            const tracked = await s.trackPage(ref);
            add('track', tracked);
            counts = addCounts(counts, tracked.counts);
            pagesCompleted++;
            checkCircuit();
            return;
          } catch (error) {
            if (!workerLost(error) || attempt >= MAX_PAGE_ATTEMPTS) throw error;
            // The page's worker is gone (or lost the page): claim a live worker and redo the page from FETCH.
            s = await claimWorker();
          }
        }
      };

      // The page loop: FETCH is sequential (each page's cursor comes from the previous one); the rest overlaps.
      phase = 'syncing';
      let cursor = resume ? resume.cursor : (input.background?.startCursor ?? null);
      let page = resume?.nextPage ?? 0;
      let done = false;
      let tracked: Promise<void> = Promise.resolve();
      const failures: unknown[] = [];
      let pagesThisRun = 0;
      let nextClaim: ReturnType<typeof claimWorker> | undefined;
      while (!done && failures.length === 0) {
        if (paused) {
          inPause = true;
          await CancellationScope.nonCancellable(() => tracked.catch(() => {}));
          await shared.setBatchPaused(input.batchUid, true, circuitOpen ?? undefined);
          // SyncPaused lets the Web UI filter paused syncs. A new command: patched, so older histories replay.
          const markPaused = patched('sync-paused-search-attribute');
          if (markPaused) upsertSearchAttributes([{ key: SyncPaused, value: true }]);
          pauseApplied = true;
          // A background batch paused here still ends when its load winds it down (nightLimitsSignal).
          await condition(() => !paused || nightOver() !== null);
          await shared.setBatchPaused(input.batchUid, false);
          if (markPaused) upsertSearchAttributes([{ key: SyncPaused, value: false }]);
          pauseApplied = false;
          inPause = false;
          const opened = circuitOpen as CircuitReading | null; // set by checkCircuit while pages completed
          if (opened) {
            notes.push(`The circuit opened at a failure rate of ${opened.rate}; resumed by an operator.`);
            circuitOpen = null;
            circuitBaseline = { fetched: counts.fetched, failed: counts.failed };
          }
        }
        await condition(() => inFlight < MAX_PAGES_IN_FLIGHT || failures.length > 0);
        if (failures.length > 0) break;
        if (pagesThisRun >= (input.pagesPerRun ?? PAGES_PER_RUN) || workflowInfo().continueAsNewSuggested) {
          await tracked;
          // A pause / resume update still answering its caller finishes in this run, not lost with it.
          await condition(allHandlersFinished);
          await continueAsNew<typeof syncEntity>({
            ...input,
            ...(limits ? { background: { ...limits, pageMs: lastPageMs } } : {}),
            resume: {
              cursor,
              nextPage: page,
              watermark,
              fullSyncWatermark,
              stages,
              startedAtMs,
              paused,
              counts,
              targetCalls,
              notes,
              circuit: { baseline: circuitBaseline, open: circuitOpen },
            },
          });
        }
        // A background batch ends when its night does: quota read, or the window closing before a page could end.
        endedBy = nightOver();
        if (endedBy !== null) break;
        const ref: PageRef = { ...base, page };
        const pageStartedMs = Date.now();
        let fetched: FetchReport;
        // The claim for this page was made while the previous page was fetched: no round trip on the fetch chain.
        let worker = await (nextClaim ?? claimWorker());
        nextClaim = claimWorker();
        nextClaim.catch(() => {}); // a failed claim is seen (and thrown) when awaited
        // A trial run's last page reads only the rows left of its maxItems (a redone page reads the same request).
        const request = fetchRequest(
          cursor,
          maxItems === null ? plan.pageSize : Math.min(plan.pageSize, maxItems - rowsRead),
        );
        for (let attempt = 1; ; attempt++) {
          try {
            fetched = await worker.fetchPage(ref, request);
            break;
          } catch (error) {
            if (!workerLost(error) || attempt >= MAX_PAGE_ATTEMPTS) throw error;
            worker = await claimWorker();
          }
        }
        cursor = fetched.nextCursor;
        done = fetched.done;
        rowsRead += fetched.rowsIn;
        inFlight++;
        const previous = tracked;
        const running = processPage(ref, request, previous, fetched, worker).finally(() => {
          lastPageMs = Date.now() - pageStartedMs;
          inFlight--;
          pagesRunning.delete(running);
        });
        pagesRunning.add(running);
        tracked = running;
        tracked.catch((error) => failures.push(error));
        page++;
        pagesThisRun++;
      }
      pageLoopOver = true;
      await tracked;
      // The circuit opened on the last pages, after the last page was read: nothing is left to pause. Said, not acted on.
      const lateCircuit = circuitOpen as CircuitReading | null;
      if (lateCircuit && plan.circuitBreaker) {
        notes.push(
          `The failure rate reached ${lateCircuit.rate} (threshold ${plan.circuitBreaker.maxFailureRate}) after the ` +
            `last page was read: nothing was left to pause (${lateCircuit.failed} of ${lateCircuit.fetched} rows failed).`,
        );
        paused = false;
      }

      // A trial run stopped at maxItems did not see the whole source: a full sync deletes nothing and leaves the
      // full-sync watermark; an incremental's watermark moved (in TRACK) only over the pages it read.
      const stoppedAtMaxItems = !done && endedBy === 'maxItems';
      if (stoppedAtMaxItems) {
        notes.push(
          `Stopped at maxItems: ${rowsRead} rows read, the source has more` +
            (input.syncType === 'full' ? '; no deletes applied and the full-sync watermark not moved.' : '.'),
        );
        fullSyncWatermark = null;
      }
      if (input.syncType === 'full' && !stoppedAtMaxItems) {
        phase = 'deleting';
        const deletes = await shared.applyDeletes({
          batchUid: input.batchUid,
          entityName: input.entityName,
          configVersion: plan.configVersion,
          dryRun: input.dryRun,
        });
        counts.deleted += deletes.deleted;
        for (const [name, calls] of Object.entries(deletes.targetCalls))
          targetCalls[name] = (targetCalls[name] ?? 0) + calls;
        if (deletes.policy === 'none') notes.push('Delete policy is none: records gone from the source are kept.');
        if (deletes.failed > 0) notes.push(`${deletes.failed} deletes were refused by the primary target.`);
        if (deletes.held > 0) {
          notes.push(
            `Deletes held: ${deletes.held} failed rows have no computable business key, so none of the ` +
              `${deletes.candidates} records missing from the source was deleted (fix the rows and sync again).`,
          );
        }
      }

      if (!input.dryRun && plan.hasParents) {
        // Children that wait for parents back off exponentially; past the limit they go to the DLQ as parent_missing.
        // The batch waits for them up to childWaitSeconds, and only while a batch of a parent entity is open (it
        // releases them when it lands); the rest stay pending (accounted) and are released when their parent
        // lands, by the background retry (every 5 minutes) or by the entity's next sync.
        phase = 'releasing_children';
        const waitUntil = Date.now() + plan.childWaitSeconds * 1000;
        for (;;) {
          const release = await shared.releasePendingChildren({ entityName: input.entityName, countAttempt: true });
          if (release.waiting === 0 || !release.nextRetryAt) break;
          // Patched: older histories waited whenever a child waited, parent batch or not.
          if (patched('children-wait-for-running-parents') && release.parentBatchRunning !== true) {
            notes.push(
              `${release.waiting} children still wait for their parents; no batch of a parent entity is running, ` +
                `so they are left to the background retry (next retry ${release.nextRetryAt}).`,
            );
            break;
          }
          const due = Date.parse(release.nextRetryAt);
          if (due > waitUntil) {
            notes.push(`${release.waiting} children still wait for their parents (next retry ${release.nextRetryAt}).`);
            break;
          }
          await sleep(Math.max(50, due - Date.now()));
        }
      }
      if (!input.dryRun) {
        for (const child of plan.childEntities) {
          try {
            await shared.releasePendingChildren({ entityName: child, countAttempt: false });
          } catch (error) {
            if (isCancellation(error)) throw error;
            // This batch's own records are all accounted for: a child entity's trouble is its own batch's concern.
            notes.push(`Releasing waiting children of ${child} failed: ${describe(error as Error)}`);
          }
        }
      }
      phase = 'finishing';
      const summary = await finish('completed');
      phase = 'done';
      return input.background
        ? {
            ...summary,
            endCursor: cursor,
            sourceDone: done,
            endedBy: done ? 'source' : endedBy === 'maxItems' ? null : endedBy,
            pageMs: lastPageMs,
          }
        : summary;
    } catch (error) {
      pageLoopOver = true;
      if (error instanceof ContinueAsNew) throw error; // not an end: the next run carries the batch on
      if (isCancellation(error)) {
        // The pages in flight end first: their INGEST has stopped writing, their TRACK has committed or never
        // started, so nothing writes for this batch after it is cancelled. (Patched: older histories closed at once.)
        if (patched('stop-waits-for-pages')) {
          await CancellationScope.nonCancellable(() => Promise.allSettled([...pagesRunning]));
        }
        // Stopped while paused: the Web UI's SyncPaused filter no longer lists it. (Patched: a new command.)
        if (pauseApplied && patched('stop-clears-sync-paused')) {
          upsertSearchAttributes([{ key: SyncPaused, value: false }]);
        }
        const summary = await finish('cancelled');
        phase = 'done';
        // Stopped by the update: the workflow completes with the cancelled batch's summary. By a cancellation
        // request: it ends cancelled, as the request asked.
        if (stopRequested) return summary;
        throw error;
      }
      const message = error instanceof Error ? describe(error) : String(error);
      await finish('failed', message);
      phase = 'done';
      // An ApplicationFailure fails the workflow; any other error would only fail (and endlessly retry) its task.
      throw error instanceof ApplicationFailure || error instanceof ActivityFailure
        ? error
        : ApplicationFailure.nonRetryable(message, 'SyncFailed');
    }
  }
}

/**
 * One line an operator understands: the innermost cause's message (a connector's names the connector and
 * the operation: "apismith login: not authorised (401): …") and the activity it failed in, not Temporal's wrapping.
 */
function describe(error: Error): string {
  let current: Error = error;
  while (current.cause instanceof Error) current = current.cause;
  return error instanceof ActivityFailure && error.activityType
    ? `${current.message} (in ${error.activityType})`
    : current.message;
}
