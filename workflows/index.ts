// Every workflow the worker registers (the worker's workflowsPath points here).
export { backgroundSync } from './background-sync.ts';
export { migrateTarget } from './migrate-target.ts';
export { reconcile } from './reconcile.ts';
export { replayDeadLetters } from './replay-dead-letters.ts';
export { retryWaitingChildren } from './retry-waiting.ts';
export { scheduledSync } from './scheduled-sync.ts';
export { smokeWorkflow } from './smoke.ts';
export { syncEntities } from './sync-entities.ts';
export { syncEntity } from './sync-entity.ts';
