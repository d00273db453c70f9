import { createBatchActivities } from './batch.ts';
import type { ActivityDeps } from './deps.ts';
import { createSmokeActivities } from './smoke.ts';

export type { ActivityDeps } from './deps.ts';

/** Every activity the worker registers, bound to the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
    ...createBatchActivities(deps),
  };
}
