import { executeChild, ParentClosePolicy, proxyActivities } from '@temporalio/workflow';
import type { BatchActivities, BatchSummary } from '../activities/contract.ts';
import { type SyncEntitiesInput, syncWorkflowId } from './contract.ts';
import { SyncBatchId, SyncEntity, SyncType } from './search-attributes.ts';
import { syncEntity } from './sync-entity.ts';

const { abandonBatch } = proxyActivities<BatchActivities>({ startToCloseTimeout: '1 minute' });

/**
 * Several related entities in one request: one `syncEntity` child per entity,
 * parents first (the starter ordered them), so children find their parents
 * already in the target. A failed entity does not stop the others: its
 * children wait or go to the DLQ as they would with a missing parent.
 */
export async function syncEntities(
  input: SyncEntitiesInput,
): Promise<Array<BatchSummary | { entityName: string; batchUid: string; status: 'failed'; error: string }>> {
  const results = [];
  for (const batch of input.batches) {
    try {
      results.push(
        await executeChild(syncEntity, {
          workflowId: syncWorkflowId(batch.entityName),
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          typedSearchAttributes: [
            { key: SyncEntity, value: batch.entityName },
            { key: SyncType, value: input.syncType },
            { key: SyncBatchId, value: batch.batchUid },
          ],
          args: [
            { batchUid: batch.batchUid, entityName: batch.entityName, syncType: input.syncType, dryRun: batch.dryRun },
          ],
        }),
      );
    } catch (error) {
      const message = (error as Error).message;
      // A child that never started (its entity already syncing) leaves its batch pending: close it.
      await abandonBatch(batch.batchUid, `the sync could not run: ${message}`);
      results.push({ ...batch, status: 'failed' as const, error: message });
    }
  }
  return results;
}
