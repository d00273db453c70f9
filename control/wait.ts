import { ControlError } from './errors.ts';
import { type ControlDeps, getSyncStatus, type SyncStatus } from './syncs.ts';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Waits until a batch has ended and its workflow has closed (the row turns
 * final a moment before the workflow completes: a new start of the entity in
 * between would be refused). Calls `onProgress` with each status it reads.
 */
export async function waitForSync(
  deps: ControlDeps,
  batchUid: string,
  options: { timeoutMs?: number; intervalMs?: number; onProgress?: (status: SyncStatus) => void } = {},
): Promise<SyncStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  for (;;) {
    let status: SyncStatus;
    try {
      status = await getSyncStatus(deps, batchUid, { retrying: false });
    } catch (error) {
      // A workflow started directly (not through startSync) creates its batch row in its first activity.
      if (error instanceof ControlError && error.status === 404 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
        continue;
      }
      throw error;
    }
    options.onProgress?.(status);
    if (FINAL.has(status.status) && status.workflowId) {
      const closed = await deps.temporal.workflow
        .getHandle(status.workflowId)
        .describe()
        .then((d) => d.status.name !== 'RUNNING')
        .catch(() => true);
      if (closed) return getSyncStatus(deps, batchUid);
    }
    if (Date.now() > deadline) throw new Error(`Batch ${batchUid} did not finish in time (it is ${status.status}).`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
