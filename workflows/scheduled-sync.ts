import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, executeChild, ParentClosePolicy, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { BatchSummary, ScheduledActivities } from '../activities/contract.ts';
import { syncWorkflowId } from './contract.ts';
import { SyncBatchId, SyncEntity, SyncPaused, SyncType } from './search-attributes.ts';
import { syncEntity } from './sync-entity.ts';

const { prepareScheduledSync, skipScheduledSync } = proxyActivities<ScheduledActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export interface ScheduledSyncRequest {
  entityName: string;
  syncType: 'full' | 'incremental';
}

/** A run that did not sync: a sync of the entity was running, or a background load is under way. */
export interface ScheduledSyncSkipped {
  skipped: true;
  entityName: string;
  syncType: 'full' | 'incremental';
  reason: string;
}

export type ScheduledSyncResult = BatchSummary | ScheduledSyncSkipped;

const alreadyStarted = (error: unknown) =>
  error instanceof WorkflowExecutionAlreadyStartedError ||
  (error instanceof ChildWorkflowFailure && error.cause instanceof WorkflowExecutionAlreadyStartedError);

/**
 * One run of a recurring sync, started by the entity's Temporal Schedule (`syncflow-sync-<entity>-<kind>`,
 * control/schedules.ts): writes a pending batch, then runs the entity's `syncEntity` as a child under the
 * entity's one sync workflow id (`sync-<entity>`), so a schedule never runs two syncs of an entity at once,
 * whichever kind or a manual sync runs already: that run is skipped (event `schedule.skipped`), not failed.
 */
export async function scheduledSync(request: ScheduledSyncRequest): Promise<ScheduledSyncResult> {
  const { entityName, syncType } = request;
  const batchUid = uuid4();
  const workflowId = syncWorkflowId(entityName);
  const input = { entityName, syncType, batchUid, workflowId };
  const prepared = await prepareScheduledSync(input);
  if (prepared.skipped) return { skipped: true, entityName, syncType, reason: prepared.reason };
  try {
    return await executeChild(syncEntity, {
      workflowId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: SyncEntity, value: entityName },
        { key: SyncType, value: syncType },
        { key: SyncBatchId, value: batchUid },
        { key: SyncPaused, value: false },
      ],
      args: [{ batchUid, entityName, syncType, dryRun: prepared.dryRun }],
    });
  } catch (error) {
    if (!alreadyStarted(error)) throw error;
    const reason = `a sync of "${entityName}" is already running (workflow ${workflowId})`;
    await skipScheduledSync({ ...input, reason });
    return { skipped: true, entityName, syncType, reason };
  }
}
