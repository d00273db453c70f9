import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  allHandlersFinished,
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackgroundActivities, BackgroundPlan } from '../activities/contract.ts';
import {
  BACKGROUND_ENDED,
  type BackgroundPhase,
  type BackgroundProgress,
  type BackgroundSyncInput,
  backgroundProgressQuery,
  nightLimitsSignal,
  pauseBackgroundUpdate,
  reconfigureBackgroundUpdate,
  resumeBackgroundUpdate,
  stopBackgroundUpdate,
  syncWorkflowId,
} from './contract.ts';
import { SyncBatchId, SyncEntity, SyncPaused, SyncType } from './search-attributes.ts';
import type { syncEntity } from './sync-entity.ts';

const load = proxyActivities<BackgroundActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '60 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' }, // retried until the database is back
});

/** A night's batch that failed is tried again after a back-off; this many failures in a row end the load `failed`. */
const MAX_FAILED_BATCHES = 5;
/** While another sync of the entity runs (one started before the load), the load tries again this often. */
const BUSY_RETRY = '1 minute';
/** Plans per execution before continue-as-new (besides the one at every night's end): history stays small. */
const PLANS_PER_RUN = 200;

/**
 * A multi-day background load of one entity: it reads the source only inside a nightly window (an IANA zone,
 * may cross midnight), at most a daily quota spread over `targetDays` nights, each night resuming at the offset
 * TRACK stored with the last accounted page. Each stretch of a night is one `background` batch run by the
 * syncEntity workflow (the same stages, the same accounting) as a child with the entity's sync id, so nothing
 * else syncs the entity at the same time. Outside the window it sleeps on a durable timer. When the source is
 * read to its end, the entity's watermark becomes the source's highest rowversion read when the load began.
 * The load's settings and state live in background_sync_schedule; this workflow plans from them (activities).
 */
export async function backgroundSync(input: BackgroundSyncInput): Promise<BackgroundProgress> {
  const { entityName } = input;
  let paused = input.resume?.paused ?? false;
  let stopRequested = false;
  let replan = false;
  let failuresInARow = input.resume?.failuresInARow ?? 0;
  let phase: BackgroundPhase = 'starting';
  let plan: BackgroundPlan | null = null;
  let lastError: string | null = null;
  let night: ChildWorkflowHandle<typeof syncEntity> | null = null;
  let nightBatchUid: string | null = null;
  /** The running batch was told to end early (pause, stop, window change). */
  let woundDown = false;
  /**
   * Opening of the night whose batch ended by itself with the window still open (its quota read, or too close to
   * the close for another page): the load waits for that night's close. A new batch would start a page right
   * before the close (a new batch knows no page time), running past the window by up to a page's time.
   */
  let nightEnded: number | null = input.resume?.nightEnded ?? null;
  /** How long the last page took: each batch starts knowing it (so its first page is not started too late). */
  let pageMs = input.resume?.pageMs ?? 0;

  const ended = () => phase === 'stopped' || phase === 'completed' || phase === 'failed';
  const progress = (): BackgroundProgress => ({
    entityName,
    phase,
    paused,
    batchUid: nightBatchUid,
    window: plan?.window ?? null,
    rowsDone: plan?.rowsDone ?? 0,
    rowsToday: plan?.rowsToday ?? 0,
    dailyQuota: plan?.dailyQuota ?? null,
    totalRowsEstimate: plan?.totalRowsEstimate ?? null,
    lastError,
  });
  /** Ends the running night's batch after its pages in flight (they are tracked; the offset moves with them). */
  const windDown = async () => {
    woundDown = true;
    if (night) await night.signal(nightLimitsSignal, { stopAtMs: 0 });
  };
  const refuseWhenEnded = () => {
    if (ended()) {
      throw ApplicationFailure.create({
        type: BACKGROUND_ENDED,
        nonRetryable: true,
        message: `The background load of ${entityName} has ended (${phase}).`,
      });
    }
  };

  setHandler(backgroundProgressQuery, progress);
  setHandler(
    pauseBackgroundUpdate,
    async () => {
      paused = true;
      await windDown();
      await condition(() => !paused || phase === 'paused' || ended());
      return progress();
    },
    { validator: refuseWhenEnded },
  );
  setHandler(
    resumeBackgroundUpdate,
    async () => {
      paused = false;
      await condition(() => paused || (phase !== 'paused' && phase !== 'starting') || ended());
      return progress();
    },
    { validator: refuseWhenEnded },
  );
  setHandler(
    stopBackgroundUpdate,
    async () => {
      stopRequested = true;
      await windDown();
      await condition(ended);
      return progress();
    },
    { validator: refuseWhenEnded },
  );
  setHandler(
    reconfigureBackgroundUpdate,
    async () => {
      replan = true;
      await windDown();
      // A paused load plans (under the stored settings) when it is resumed: the change is taken, nothing to wait for.
      await condition(() => !replan || phase === 'paused' || ended());
      return progress();
    },
    { validator: refuseWhenEnded },
  );

  const setPhase = async (
    next: BackgroundPhase,
    extra: { nextRunAtMs?: number | null; error?: string | null } = {},
  ) => {
    // Stored first: an update that answers on this phase finds the row saying the same.
    if (next !== 'starting' && next !== 'completed') {
      await load.setBackgroundStatus({ entityName, status: next, ...extra });
    }
    phase = next;
  };

  await load.beginBackgroundLoad({ entityName, workflowId: workflowInfo().workflowId });
  for (let plans = 0; ; plans++) {
    if (stopRequested) break;
    if (paused) {
      await setPhase('paused', { nextRunAtMs: null });
      await condition(() => !paused || stopRequested);
      continue;
    }
    plan = await load.planBackgroundNight({ entityName, nowMs: Date.now() });
    replan = false;
    // A night ended: a new execution for the next one, so the history stays small however many nights it takes.
    if ((plan.closedNight && plans > 0) || plans >= PLANS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      // Resumed from a pause: the resume answers once the load plans again, and the handlers are waited for
      // below, so the phase this plan leads to is taken now (else the resume and this run wait for each other).
      if ((phase as BackgroundPhase) === 'paused') {
        await setPhase(plan.window.open && plan.quotaLeft !== 0 ? 'running' : 'waiting_for_window', {
          nextRunAtMs: plan.window.open ? null : plan.window.opensAtMs,
        });
      }
      await condition(allHandlersFinished);
      await continueAsNew<typeof backgroundSync>({
        entityName,
        resume: { paused, failuresInARow, nightEnded, pageMs },
      });
    }
    const window = plan.window;
    if (!window.open || plan.quotaLeft === 0 || nightEnded === window.opensAtMs) {
      // Outside the window, or tonight's quota is read: sleep (a durable timer) until the window opens, or until
      // tonight's window closes (the next plan closes the night and sleeps again until the next opening).
      const until = window.open ? window.closesAtMs : window.opensAtMs;
      await setPhase('waiting_for_window', { nextRunAtMs: window.open ? null : window.opensAtMs });
      await condition(() => paused || stopRequested || replan, Math.max(1, until - Date.now()));
      continue;
    }

    await setPhase('running', { nextRunAtMs: null });
    const batchUid = uuid4();
    woundDown = false;
    await load.prepareBackgroundBatch({ entityName, batchUid, nightOpenedAtMs: window.opensAtMs });
    try {
      night = await startChild<typeof syncEntity>('syncEntity', {
        workflowId: syncWorkflowId(entityName),
        args: [
          {
            batchUid,
            entityName,
            syncType: 'background',
            dryRun: false,
            background: { startCursor: plan.offset, maxRows: plan.quotaLeft, stopAtMs: window.closesAtMs, pageMs },
          },
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: SyncEntity, value: entityName },
          { key: SyncType, value: 'background' },
          { key: SyncBatchId, value: batchUid },
          { key: SyncPaused, value: false },
        ],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // A sync of the entity started before the load is still running: its batch goes first.
      await load.discardBackgroundBatch({ batchUid, reason: 'another sync of the entity is running' });
      await setPhase('waiting_for_window', { nextRunAtMs: Date.now() + 60_000 });
      await condition(() => paused || stopRequested || replan, BUSY_RETRY);
      continue;
    }
    nightBatchUid = batchUid;
    // A pause, stop or window change that came while the batch was starting.
    if (paused || stopRequested || replan) await windDown();
    try {
      const summary = await night.result();
      failuresInARow = 0;
      lastError = null;
      if (summary.sourceDone) {
        const final = await load.completeBackgroundLoad({ entityName });
        // The last plan was before this batch: the answer carries the load's final rows (absent in old histories).
        if (plan && final) plan = { ...plan, ...final };
        phase = 'completed';
        break;
      }
      pageMs = summary.pageMs ?? pageMs;
      // Ended by the window's close coming (no page would end before it): the load waits for that close. Ended by
      // the quota, the next plan says whether any is left (none, or lifted: the estimate proved too low).
      if (!woundDown && summary.endedBy === 'window') nightEnded = window.opensAtMs;
    } catch (error) {
      failuresInARow++;
      lastError = describe(error);
      if (failuresInARow >= MAX_FAILED_BATCHES) {
        await setPhase('failed', { nextRunAtMs: null, error: lastError });
        break;
      }
      // The next batch starts at the offset of the last accounted page; a back-off lets a dependency recover.
      const backoffMs = Math.min(30, 2 ** failuresInARow) * 60_000;
      await setPhase('waiting_for_window', { nextRunAtMs: Date.now() + backoffMs, error: lastError });
      await condition(() => stopRequested || replan, backoffMs);
    } finally {
      night = null;
      nightBatchUid = null;
    }
  }
  if (!ended()) await setPhase('stopped', { nextRunAtMs: null });
  // A control update still answering finishes before the workflow completes.
  await condition(allHandlersFinished);
  return progress();
}

/** The innermost cause's message: what an operator reads in the load's state. */
function describe(error: unknown): string {
  let current = error as Error;
  while (current?.cause instanceof Error) current = current.cause;
  return current?.message ?? String(error);
}
