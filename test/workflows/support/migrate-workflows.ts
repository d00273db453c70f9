import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BatchSummary } from '../../../activities/contract.ts';
import { zeroCounts } from '../../../pipeline/accounting.ts';
import type { ReconcileInput, ReconcileOutcome } from '../../../pipeline/reconcile/types.ts';
import type { ScheduledSyncRequest, ScheduledSyncResult } from '../../../workflows/scheduled-sync.ts';

/**
 * The workflows of the migration test worker (test/workflows/migrate-soak.test.ts): the real migrateTarget, and
 * its child workflows faked under their real names (executeChild starts them by name on the parent's queue). The
 * fake reconcile asks the test (activity `fakeReconcileVerdict`, at once) whether it is clean; the fake backfill
 * answers a completed batch at once.
 */
export { migrateTarget } from '../../../workflows/migrate-target.ts';

export interface FakeReconcileActivities {
  fakeReconcileVerdict(input: ReconcileInput & { workflowId: string }): Promise<boolean>;
}

const { fakeReconcileVerdict } = proxyActivities<FakeReconcileActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

export async function reconcile(input: ReconcileInput): Promise<ReconcileOutcome> {
  const clean = await fakeReconcileVerdict({ ...input, workflowId: workflowInfo().workflowId });
  return {
    reportUid: input.reportUid,
    clean,
    targets: (input.targets ?? []).map((target) => ({
      target,
      clean,
      missing: clean ? 0 : 1,
      extra: 0,
      different: 0,
      orphans: 0,
      unverifiedSegments: [],
    })),
  };
}

export async function scheduledSync(request: ScheduledSyncRequest): Promise<ScheduledSyncResult> {
  const summary: BatchSummary = {
    ...zeroCounts(),
    fetched: 10,
    inserted: 10,
    batchUid: `backfill-${workflowInfo().workflowId}`,
    entityName: request.entityName,
    status: 'completed',
    dryRun: false,
    rowsPerSecond: 0,
    elapsedMs: 1,
    estimatedCost: 0,
  };
  return summary;
}
