import { proxyActivities } from '@temporalio/workflow';
import type { BatchActivities, ChildActivities, ReleaseReport } from '../activities/contract.ts';

const activities = proxyActivities<ChildActivities & BatchActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '60 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * The background retry of children waiting for their parents, run by a Temporal Schedule (every 5 minutes by
 * default): each entity's due children are checked once (an attempt counted); the ones whose parent has landed
 * are ingested, the ones past the limit go to the DLQ as parent_missing. Bounded: one pass, no waiting.
 */
export async function retryWaitingChildren(): Promise<Record<string, ReleaseReport>> {
  const reports: Record<string, ReleaseReport> = {};
  for (const entityName of await activities.entitiesWithWaitingChildren()) {
    reports[entityName] = await activities.releasePendingChildren({ entityName, countAttempt: true });
  }
  return reports;
}
