import { createBatchActivities } from './batch.ts';
import { createChildActivities } from './children.ts';
import { createDeleteActivities } from './deletes.ts';
import type { WorkerContext } from './deps.ts';
import { createPageStageActivities } from './page-stages.ts';
import { createSmokeActivities } from './smoke.ts';

export type { ActivityDeps, WorkerContext } from './deps.ts';

/** Activities of the shared task queue: batch lifecycle, deletes, child release (no page data). */
export function createSharedActivities(ctx: WorkerContext) {
  return {
    ...createSmokeActivities(ctx),
    ...createBatchActivities(ctx),
    ...createDeleteActivities(ctx),
    ...createChildActivities(ctx),
  };
}

/** Activities of this worker's own queue: the nine page stages, next to the page cache. */
export function createPageActivities(ctx: WorkerContext) {
  return createPageStageActivities(ctx);
}
