import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, executeChild, ParentClosePolicy, proxyActivities } from '@temporalio/workflow';
import type { BatchSummary, ReplayActivities, ReplayInput } from '../activities/contract.ts';
import { SyncBatchId, SyncEntity, SyncPaused, SyncType } from './search-attributes.ts';
import { syncEntity } from './sync-entity.ts';

const { prepareReplay, skipReplay, replayReport } = proxyActivities<ReplayActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** What a replay did: the batch's summary and what became of the dead letters it took. */
export interface ReplayResult {
  batchUid: string;
  entityName: string;
  trigger: ReplayInput['trigger'];
  skipped: string | null;
  selected: number;
  summary: BatchSummary | null;
  resolved: number;
  failedAgain: number;
  abandoned: number;
  waiting: number;
}

const alreadyStarted = (error: unknown) =>
  error instanceof WorkflowExecutionAlreadyStartedError ||
  (error instanceof ChildWorkflowFailure && error.cause instanceof WorkflowExecutionAlreadyStartedError);

/**
 * Replays dead letters of one entity (workflow id `replay-<entity>`): an operator's replay (POST
 * /sync/retry-failed, `syncflow dlq replay`) or a pass of the background retry. The selection is frozen into a
 * `replay` batch; the entity's `syncEntity` then runs it as a child under the entity's one sync id, so a replay
 * never runs beside a sync of the entity: each dead letter's raw form goes through the entity's current
 * configuration, the same stages and the same idempotent target writes, and TRACK records on the dead letter
 * whether it landed (resolved), failed again (one more attempt, backed off, abandoned past max_retries) or
 * waits for its parent. Refused, not queued, while a sync of the entity runs.
 */
export async function replayDeadLetters(input: ReplayInput): Promise<ReplayResult> {
  const base = { batchUid: input.batchUid, entityName: input.entityName, trigger: input.trigger };
  const empty = { summary: null, resolved: 0, failedAgain: 0, abandoned: 0, waiting: 0 };
  const prepared = await prepareReplay(input);
  if (prepared.skipped) return { ...base, ...empty, skipped: prepared.reason, selected: 0 };
  let summary: BatchSummary;
  try {
    summary = await executeChild(syncEntity, {
      workflowId: input.workflowId,
      // As a manual sync: the batch finishes on its own (a stop goes to the sync, /sync/stop/:batchUid).
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: SyncEntity, value: input.entityName },
        { key: SyncType, value: 'replay' },
        { key: SyncBatchId, value: input.batchUid },
        { key: SyncPaused, value: false },
      ],
      args: [{ batchUid: input.batchUid, entityName: input.entityName, syncType: 'replay', dryRun: prepared.dryRun }],
    });
  } catch (error) {
    if (!alreadyStarted(error)) throw error;
    const reason = `a sync of "${input.entityName}" is running (workflow ${input.workflowId})`;
    await skipReplay({ ...input, reason });
    return { ...base, ...empty, skipped: reason, selected: 0 };
  }
  const report = await replayReport(input.batchUid);
  return { ...base, skipped: null, selected: prepared.selected, summary, ...report };
}
