import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, executeChild, patched, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { BatchActivities, ChildActivities, ReleaseReport, ReplayActivities } from '../activities/contract.ts';
import { replayWorkflowId, syncWorkflowId } from './contract.ts';
import { type ReplayResult, replayDeadLetters } from './replay-dead-letters.ts';

const activities = proxyActivities<ChildActivities & BatchActivities & Pick<ReplayActivities, 'dueDeadLetters'>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '60 seconds',
  retry: { maximumAttempts: 3 },
});

/** Dead letters a pass found due, per entity: the replay it ran (or why it did not). */
export type RetryPassReports = Record<string, ReleaseReport> & { deadLetters?: Record<string, ReplayResult | string> };

const alreadyStarted = (error: unknown) =>
  error instanceof WorkflowExecutionAlreadyStartedError ||
  (error instanceof ChildWorkflowFailure && error.cause instanceof WorkflowExecutionAlreadyStartedError);

/**
 * The background retry, run by a Temporal Schedule (every 5 minutes by default, SYNCFLOW_RETRY_EVERY_MINUTES):
 * 1. each entity's due children waiting for their parents are checked once (an attempt counted); the ones whose
 *    parent has landed are ingested, the ones past the limit go to the DLQ as parent_missing;
 * 2. each entity's dead letters whose automatic retry is due (transient failures: a target unavailable, 5xx,
 *    timeout, 429, with backoff) are replayed, at most SYNCFLOW_RETRY_MAX_PER_ENTITY (50) per entity per pass,
 *    by a `replayDeadLetters` child per entity; an entity whose sync runs now is left to the next pass.
 * Bounded: one pass, no waiting.
 */
export async function retryWaitingChildren(): Promise<RetryPassReports> {
  const reports: RetryPassReports = {};
  for (const entityName of await activities.entitiesWithWaitingChildren()) {
    reports[entityName] = await activities.releasePendingChildren({ entityName, countAttempt: true });
  }
  if (patched('retry-dead-letters')) {
    const due = await activities.dueDeadLetters();
    const deadLetters: Record<string, ReplayResult | string> = {};
    for (const entityName of due.entities) {
      try {
        deadLetters[entityName] = await executeChild(replayDeadLetters, {
          workflowId: replayWorkflowId(entityName),
          args: [
            {
              batchUid: uuid4(),
              entityName,
              selection: { entity: entityName, dueOnly: true, limit: due.limitPerEntity },
              trigger: 'retry',
              workflowId: syncWorkflowId(entityName),
            },
          ],
        });
      } catch (error) {
        // One entity's replay that could not run (already running, the entity disabled or deleted since the
        // worklist was read, a failed batch) never ends the pass for the others: it is reported, and the next
        // pass tries again.
        if (!(error instanceof ChildWorkflowFailure) && !alreadyStarted(error)) throw error;
        deadLetters[entityName] = alreadyStarted(error)
          ? 'a replay of the entity is running'
          : `the replay failed: ${(error as ChildWorkflowFailure).cause?.message ?? (error as Error).message}`;
      }
    }
    reports.deadLetters = deadLetters;
  }
  return reports;
}
