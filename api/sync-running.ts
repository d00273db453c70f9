import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { syncWorkflowId } from '../workflows/contract.ts';

/** Whether Temporal runs a sync of the entity now (its workflow id is `sync-<entity>`). */
export async function syncIsRunning(temporal: Client, entityName: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(syncWorkflowId(entityName)).describe();
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
