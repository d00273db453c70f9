import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  uuid4,
} from '@temporalio/workflow';
import type { ReconcileActivities, RepairPlan } from '../activities/contract.ts';
import type {
  ReconcileInput,
  ReconcileOutcome,
  ReconcileProgress,
  ReconcileTargetReport,
} from '../pipeline/reconcile/types.ts';
import {
  DEFAULT_RESUME_ATTEMPTS,
  DEFAULT_RESUME_DELAY_SECONDS,
  reconcileProgressQuery,
  syncWorkflowId,
} from './contract.ts';
import { SyncBatchId, SyncEntity, SyncPaused, SyncType } from './search-attributes.ts';
import { syncEntity } from './sync-entity.ts';

const retry = { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 } as const;
const { openReconcile, planRepair, finishReconcile } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry,
});
/** The source read and the target comparisons run long: they heartbeat per page / segment batch. */
const { reconcileSource, reconcileTarget, verifyRepair } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry,
});

const alreadyStarted = (error: unknown) =>
  error instanceof WorkflowExecutionAlreadyStartedError ||
  (error instanceof ChildWorkflowFailure && error.cause instanceof WorkflowExecutionAlreadyStartedError);

/**
 * A parity report between an entity's normalized source and its targets (workflow id `reconcile-<reportUid>`).
 * The source is read and normalized by SyncFlow (NORMALIZE…IDENTITY, as the sync runs them; nothing written but
 * the report's own work table), each target is compared with it (PostgreSQL: segment checksums in the database,
 * then only differing segments key by key; ScheduleHub: lookups by bk_hash, or a sample), with the identity store
 * checked against both and a child entity's orphans counted. With `repair`, the differences are queued for the
 * normal write path (identity rows marked), the entity's `syncEntity` runs as a child under its one sync id (full,
 * so the delete pass removes extras the delete policy allows), and the repaired keys are re-verified.
 */
export async function reconcile(input: ReconcileInput): Promise<ReconcileOutcome> {
  const progress: ReconcileProgress = { phase: 'source', sourceRows: 0, segmentsChecked: 0, segmentsTotal: 0 };
  setHandler(reconcileProgressQuery, () => progress);
  // The Web UI's current details (answered by a query: no command): the phase, the source, each target's verdict.
  const reports: ReconcileTargetReport[] = [];
  let sourceLine = 'reading and normalizing the source';
  const show = () =>
    setCurrentDetails(
      [
        `**reconcile of ${input.entityName}**: ${progress.phase}${input.repair ? ' (with repair)' : ''}`,
        `source: ${sourceLine}`,
        ...reports.map((r) => `- ${r.target}: ${verdictOf(r)}`),
      ].join('\n'),
    );
  show();
  const opened = await openReconcile(input);
  if (opened.finished) return opened.finished;
  const finish = (status: 'completed' | 'failed' | 'cancelled', error: string | null = null) =>
    finishReconcile({ reportUid: input.reportUid, entityName: input.entityName, status, error });
  try {
    const source = await reconcileSource(input);
    progress.sourceRows = source.rows;
    progress.phase = 'targets';
    sourceLine = `${source.rows} rows read, ${source.records} records, ${source.unsyncable} unsyncable`;
    show();
    // Segment counts live in the report row (the activities set them as they go); the query says the phase.
    for (const target of opened.targets) {
      reports.push(await reconcileTarget({ ...input, target: target.name }));
      show();
    }
    // A target that was down: compared again once it may be back (the source records are still there).
    const attempts = input.resumeAttempts ?? DEFAULT_RESUME_ATTEMPTS;
    for (let attempt = 0; attempt < attempts && reports.some((r) => r.unverifiedSegments.length > 0); attempt++) {
      await sleep((input.resumeDelaySeconds ?? DEFAULT_RESUME_DELAY_SECONDS) * 1000);
      for (let i = 0; i < reports.length; i++) {
        if (reports[i]!.unverifiedSegments.length > 0) {
          reports[i] = await reconcileTarget({ ...input, target: reports[i]!.target });
          show();
        }
      }
    }
    if (input.repair && reports.some((r) => !r.clean)) {
      progress.phase = 'repair';
      show();
      const plans: RepairPlan[] = [];
      for (const report of reports)
        if (!report.clean) plans.push(await planRepair({ ...input, target: report.target }));
      let syncError: string | null = null;
      // A repair is an explicit request to write (as `execute: true`), whatever the entity's mode.
      if (plans.some((p) => p.resent + p.deleted > 0)) syncError = await runRepairSync(input);
      progress.phase = 'verify';
      show();
      for (const plan of plans) await verifyRepair({ ...input, target: plan.target, plan, syncError });
    }
    progress.phase = 'done';
    show();
    return await finish('completed');
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => finish('cancelled', 'cancelled'));
      throw error;
    }
    const message =
      error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    await finish('failed', message);
    throw ApplicationFailure.nonRetryable(message, 'ReconcileFailed');
  }
}

/** The repair's sync: a full sync of the entity as a child under its one sync id; null, or why it did not run. */
async function runRepairSync(input: ReconcileInput): Promise<string | null> {
  const batchUid = uuid4();
  try {
    const summary = await executeChild(syncEntity, {
      workflowId: syncWorkflowId(input.entityName),
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: SyncEntity, value: input.entityName },
        { key: SyncType, value: 'full' },
        { key: SyncBatchId, value: batchUid },
        { key: SyncPaused, value: false },
      ],
      args: [{ batchUid, entityName: input.entityName, syncType: 'full', dryRun: false }],
    });
    return summary.status === 'completed' ? null : `the repair's sync ended ${summary.status}`;
  } catch (error) {
    if (alreadyStarted(error)) return `a sync of "${input.entityName}" is running: the repair's sync did not start`;
    throw error;
  }
}

/** One target's verdict, as the current details show it. */
const verdictOf = (r: ReconcileTargetReport): string =>
  r.clean
    ? `clean (${r.targetCount} records)`
    : `missing ${r.missing}, extra ${r.extra}, different ${r.different}, orphans ${r.orphans}, identity mismatches ${r.identityMismatch}` +
      (r.unverifiedSegments.length > 0 ? `, ${r.unverifiedSegments.length} segment(s) unverified` : '');
