// Every workflow the worker registers (the worker's workflowsPath points here).
export { retryWaitingChildren } from './retry-waiting.ts';
export { smokeWorkflow } from './smoke.ts';
export { syncEntities } from './sync-entities.ts';
export { syncEntity } from './sync-entity.ts';
