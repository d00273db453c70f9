import { createBackgroundActivities } from './background.ts';
import { createBatchActivities } from './batch.ts';
import { createChildActivities } from './children.ts';
import { createDeleteActivities } from './deletes.ts';
import type { WorkerContext } from './deps.ts';
import { withHeartbeat } from './heartbeat.ts';
import { createMigrationActivities } from './migration.ts';
import { createPageStageActivities } from './page-stages.ts';
import { createReconcileActivities } from './reconcile.ts';
import { createReplayActivities } from './replay.ts';
import { createScheduledActivities } from './scheduled.ts';
import { createSmokeActivities } from './smoke.ts';

export type { ActivityDeps, WorkerContext } from './deps.ts';

/**
 * Activities of the shared task queue: batch lifecycle, deletes, child release (no page data).
 * The workflows schedule them with a heartbeatTimeout, so every one heartbeats while it works
 * (and learns of its cancellation); those that write to targets pass the cancellation signal on.
 */
export function createSharedActivities(ctx: WorkerContext) {
  return heartbeating({
    ...createSmokeActivities(ctx),
    ...createBatchActivities(ctx),
    ...createBackgroundActivities(ctx),
    ...createDeleteActivities(ctx),
    ...createChildActivities(ctx),
    ...createScheduledActivities(ctx),
    ...createReplayActivities(ctx),
    ...createReconcileActivities(ctx),
    ...createMigrationActivities(ctx),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: activity functions of any signature
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

function heartbeating<T extends Activities>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, work]) => [
      name,
      (...args: unknown[]) =>
        withHeartbeat(
          () => work(...args),
          () => ({ activity: name }),
        ),
    ]),
  ) as T;
}

/** Activities of this worker's own queue: the nine page stages, next to the page cache. */
export function createPageActivities(ctx: WorkerContext) {
  return createPageStageActivities(ctx);
}
