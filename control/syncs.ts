import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  type Client,
  isGrpcDeadlineError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { z } from 'zod';
import { isBackgroundLoadActive } from '../db/background.ts';
import { countsOfBatch } from '../db/batches.ts';
import { getEntity, isDryRun } from '../db/entities.ts';
import type { Prisma } from '../db/prisma.ts';
import type { RecordCounts } from '../pipeline/accounting.ts';
import { orderParentsFirst } from '../pipeline/entity-order.ts';
import {
  backgroundWorkflowId,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  SYNC_ENTITIES_WORKFLOW,
  SYNC_ENTITY_WORKFLOW,
  SYNC_FINISHING,
  type SyncEntitiesInput,
  type SyncEntityInput,
  type SyncProgress,
  type SyncType,
  stopUpdate,
  syncWorkflowId,
} from '../workflows/contract.ts';
import { SyncBatchId, SyncEntity, SyncPaused, SyncType as SyncTypeKey } from '../workflows/search-attributes.ts';
// Types only: the workflow functions run in the worker's sandbox; here they type the start's arguments and result.
import type { syncEntities } from '../workflows/sync-entities.ts';
import type { syncEntity } from '../workflows/sync-entity.ts';
import { ControlError, unknownBatch, unknownEntity } from './errors.ts';

/**
 * Starting, watching and stopping syncs: the operations the API, the CLI and
 * the demo share. A sync is a `syncEntity` workflow whose id is
 * `sync-<entity>`, so Temporal itself guarantees one running sync per entity.
 */
export interface ControlDeps {
  prisma: Prisma;
  temporal: Client;
  taskQueue: string;
}

export const entityNameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'an entity name (a-z, 0-9, _)');

export const startSyncRequestSchema = z
  .object({
    /** One or more entities; related ones run parents first. */
    entities: z.array(entityNameSchema).min(1).max(50),
    syncType: z.enum(['full', 'incremental']).default('incremental'),
    /** true writes to the targets; false is a dry run; absent: live entities write, dry-run entities do not. */
    execute: z.boolean().optional(),
    /**
     * A bounded trial run of one entity: read at most this many source rows, then complete (a full sync then
     * deletes nothing and leaves its watermark).
     */
    maxItems: z.number().int().min(1).max(10_000_000).optional(),
  })
  .strict();
export type StartSyncRequest = z.input<typeof startSyncRequestSchema>;

export interface StartedSync {
  batchUid: string;
  entityName: string;
  workflowId: string;
  syncType: SyncType;
  dryRun: boolean;
}

function searchAttributes(entityName: string, syncType: SyncType, batchUid: string) {
  return [
    { key: SyncEntity, value: entityName },
    { key: SyncTypeKey, value: syncType },
    { key: SyncBatchId, value: batchUid },
    { key: SyncPaused, value: false },
  ];
}

/** Whether the workflow of this id has a running execution (false when none ever started). */
export async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

const alreadyRunning = (entityName: string) =>
  new ControlError(
    409,
    'sync_already_running',
    `A sync of "${entityName}" is already running; stop it or wait for it to finish.`,
    { entity: entityName },
  );

export async function startSync(deps: ControlDeps, input: StartSyncRequest): Promise<StartedSync[]> {
  const request = startSyncRequestSchema.parse(input);
  const names = [...new Set(request.entities)];
  if (request.maxItems !== undefined && names.length > 1) {
    const message = 'maxItems bounds a trial run of one entity; name only one';
    throw new ControlError(400, 'validation_failed', 'The request is invalid.', [{ field: 'maxItems', message }]);
  }
  const stored = [];
  for (const name of names) {
    const entity = await getEntity(deps.prisma, name);
    if (!entity) throw unknownEntity(name);
    if (!entity.enabled) throw new ControlError(409, 'entity_disabled', `Entity "${name}" is disabled.`);
    // The load reads the whole source night by night and hands over to incremental syncs when it completes.
    // (Its row says so; a load whose workflow was terminated by hand no longer holds the entity.)
    if (
      (await isBackgroundLoadActive(deps.prisma, name)) &&
      (await isRunning(deps.temporal, backgroundWorkflowId(name)))
    ) {
      throw new ControlError(
        409,
        'background_load_active',
        `A background load of "${name}" is under way; its other syncs start once it completes or is stopped.`,
        { entity: name },
      );
    }
    stored.push(entity);
  }
  let order: string[];
  try {
    order = orderParentsFirst(stored.map((e) => e.config));
  } catch (error) {
    throw new ControlError(400, 'parent_cycle', (error as Error).message);
  }
  const byName = new Map(stored.map((e) => [e.name, e]));
  const syncs: StartedSync[] = order.map((name) => ({
    batchUid: randomUUID(),
    entityName: name,
    workflowId: syncWorkflowId(name),
    syncType: request.syncType,
    dryRun: isDryRun(byName.get(name)!.mode, request.execute),
  }));
  const pendingRows = () =>
    deps.prisma.syncBatch.createMany({
      data: syncs.map((s) => ({
        uid: s.batchUid,
        entityName: s.entityName,
        syncType: s.syncType,
        dryRun: s.dryRun,
        status: 'pending',
        workflowId: s.workflowId,
      })),
      // The workflow's beginBatch may have written the row already (it creates a missing one).
      skipDuplicates: true,
    });

  if (syncs.length === 1) {
    // Temporal decides, atomically: the workflow id `sync-<entity>` starts once while one runs. Only the
    // start that won writes a batch row, so a lost race leaves nothing behind (no fake failed batches).
    const [sync] = syncs as [StartedSync];
    const args: SyncEntityInput = {
      batchUid: sync.batchUid,
      entityName: sync.entityName,
      syncType: sync.syncType,
      dryRun: sync.dryRun,
      ...(request.maxItems === undefined ? {} : { maxItems: request.maxItems }),
    };
    try {
      await deps.temporal.workflow.start<typeof syncEntity>(SYNC_ENTITY_WORKFLOW, {
        taskQueue: deps.taskQueue,
        workflowId: sync.workflowId,
        args: [args],
        typedSearchAttributes: searchAttributes(sync.entityName, sync.syncType, sync.batchUid),
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw alreadyRunning(sync.entityName);
      throw error;
    }
    await pendingRows();
    return syncs;
  }

  // A group runs its entities as child workflows one after another; one already running is refused up front
  // (a start racing in between makes that child fail to start, and the group workflow reports it on its batch).
  for (const sync of syncs) if (await isRunning(deps.temporal, sync.workflowId)) throw alreadyRunning(sync.entityName);
  await pendingRows();
  try {
    const args: SyncEntitiesInput = {
      batches: syncs.map((s) => ({ batchUid: s.batchUid, entityName: s.entityName, dryRun: s.dryRun })),
      syncType: request.syncType,
    };
    await deps.temporal.workflow.start<typeof syncEntities>(SYNC_ENTITIES_WORKFLOW, {
      taskQueue: deps.taskQueue,
      workflowId: `sync-group-${randomUUID()}`,
      args: [args],
    });
  } catch (error) {
    // Nothing started: the rows written for it go (a batch that never ran is no failed batch).
    await deps.prisma.syncBatch.deleteMany({ where: { uid: { in: syncs.map((s) => s.batchUid) }, status: 'pending' } });
    throw error;
  }
  return syncs;
}

/**
 * Backfill one target: a full sync of the entity, started exactly as POST /sync/start starts one (same 404s and
 * 409s; the entity's mode decides whether it writes). It never empties a target: DELTA decides per target from
 * that target's own identity rows, so the named target receives everything it lacks and every other target only
 * what it lacks. 404 `target_not_found` for a target the entity's configuration does not name.
 */
export async function backfillTarget(deps: ControlDeps, entityName: string, targetName: string): Promise<StartedSync> {
  const entity = await getEntity(deps.prisma, entityName);
  if (!entity) throw unknownEntity(entityName);
  const targets = entity.config.targets.map((t) => t.name);
  if (!targets.includes(targetName)) {
    throw new ControlError(
      404,
      'target_not_found',
      `Entity "${entityName}" has no target named "${targetName}" (its targets: ${targets.join(', ')}).`,
      { entity: entityName, target: targetName },
    );
  }
  const [started] = await startSync(deps, { entities: [entityName], syncType: 'full' });
  return started!;
}

/** A batch whose workflow may still run (its row not final yet). */
const isLive = (status: string) => status === 'pending' || status === 'running' || status === 'paused';

/** The workflow of a batch that is running, to send it a control update; 404 / 409 otherwise. */
async function runningSync(deps: ControlDeps, batchUid: string) {
  const batch = await deps.prisma.syncBatch.findUnique({ where: { uid: batchUid } });
  if (!batch) throw unknownBatch(batchUid);
  if (!isLive(batch.status)) {
    throw new ControlError(409, 'sync_not_running', `Batch ${batchUid} is ${batch.status}, not running.`);
  }
  return deps.temporal.workflow.getHandle<typeof syncEntity>(batch.workflowId ?? syncWorkflowId(batch.entityName));
}

/** What a stop answers: done (the batch closed `cancelled`, with the final progress), or only requested. */
export type StopOutcome = { stopped: true; progress: SyncProgress } | { stopped: false; progress: null };

/** How long a stop waits for a worker to take its update before it falls back to a cancellation request. */
export const STOP_ANSWER_WITHIN_MS = 10_000;

/**
 * Stop is a Workflow Update: the workflow cancels the batch's work (running target writes stop, a TRACK already
 * running commits, nothing starts after), closes the batch `cancelled` with the counts of the pages it tracked,
 * and answers with its final progress. Refused with 409 once the batch is finishing or has ended.
 *
 * When no worker takes the update within `answerWithinMs` (every worker down), the stop falls back to a
 * cancellation request, which Temporal keeps until a worker runs the workflow: the sync then stops the same way,
 * and the answer says the stop is requested, not done.
 */
export async function stopSync(
  deps: ControlDeps,
  batchUid: string,
  options: { answerWithinMs?: number } = {},
): Promise<StopOutcome> {
  const handle = await runningSync(deps, batchUid);
  const deadline = Date.now() + (options.answerWithinMs ?? STOP_ANSWER_WITHIN_MS);
  try {
    const update = await deps.temporal
      .withDeadline(deadline, () => handle.startUpdate(stopUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED }))
      .catch(async (error: unknown) => {
        // The deadline passed: the SDK says so as a gRPC deadline, or (the call cut short) as an update RPC timeout.
        if (!isGrpcDeadlineError(error) && !(error instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) throw error;
        await handle.cancel();
        return null;
      });
    if (!update) return { stopped: false, progress: null };
    return { stopped: true, progress: await update.result() };
  } catch (error) {
    throw controlFailure(error, batchUid, 'stop');
  }
}

/** A refused or unanswerable control update as the 409 the API gives; anything else unchanged. */
function controlFailure(error: unknown, batchUid: string, action: 'pause' | 'resume' | 'stop'): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === SYNC_FINISHING) {
      return new ControlError(409, 'sync_finishing', cause.message, { batchUid, action });
    }
  }
  if (error instanceof WorkflowNotFoundError) {
    return new ControlError(409, 'sync_not_running', `Batch ${batchUid} has ended, not running.`, { batchUid });
  }
  return error;
}

/**
 * Pause and resume are Workflow Updates: each answers once the change took effect (a pause after the pages in
 * flight are tracked and the batch is marked paused), with the workflow's progress at that moment. Refused
 * with 409 once the batch is finishing (the workflow's validator) or has ended.
 */
async function controlUpdate(
  deps: ControlDeps,
  batchUid: string,
  action: 'pause' | 'resume',
  update: typeof pauseUpdate,
): Promise<SyncProgress> {
  const handle = await runningSync(deps, batchUid);
  try {
    return await handle.executeUpdate(update);
  } catch (error) {
    throw controlFailure(error, batchUid, action);
  }
}

export const pauseSync = (deps: ControlDeps, batchUid: string): Promise<SyncProgress> =>
  controlUpdate(deps, batchUid, 'pause', pauseUpdate);

export const resumeSync = (deps: ControlDeps, batchUid: string): Promise<SyncProgress> =>
  controlUpdate(deps, batchUid, 'resume', resumeUpdate);

export interface SyncStatus {
  batchUid: string;
  entityName: string;
  syncType: string;
  status: string;
  dryRun: boolean;
  workflowId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  counts: RecordCounts;
  pagesCompleted: number;
  watermarkFrom: string | null;
  watermarkTo: string | null;
  metrics: unknown;
  error: string | null;
  /** Live progress from the workflow while it runs; null once it has ended. */
  progress: SyncProgress | null;
  /**
   * Activities of the running workflow that failed and wait for their next attempt (what the Web UI shows as
   * pending activities): the cause of a sync that is running but not moving, such as a target's 429 with a
   * Retry-After. Empty when nothing is being retried or the batch has ended.
   */
  retrying: RetryingActivity[];
}

export interface RetryingActivity {
  activity: string;
  /** The attempt that runs next (2 = first retry). */
  attempt: number;
  /** The last attempt's failure, one line (the connector, the operation and the cause). */
  lastFailure: string;
  /** When Temporal runs the next attempt (null: running now or unknown). */
  nextAttemptAt: string | null;
}

type ProtoTimestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const isoOf = (ts: ProtoTimestamp): string | null => {
  if (!ts?.seconds) return null;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
};

/** The pending activities that are being retried, from the workflow's description. */
async function retryingActivities(deps: ControlDeps, workflowId: string): Promise<RetryingActivity[]> {
  const description = await deps.temporal.workflow.getHandle(workflowId).describe();
  return (description.raw.pendingActivities ?? [])
    .filter((a) => a.lastFailure)
    .map((a) => ({
      activity: a.activityType?.name ?? 'activity',
      attempt: a.attempt ?? 1,
      lastFailure: a.lastFailure?.message ?? '',
      nextAttemptAt: isoOf(a.nextAttemptScheduleTime),
    }));
}

/**
 * A batch's row, with the live progress and the activities being retried while its workflow runs.
 * `retrying: false` skips the workflow's description (one call less, for a caller polling only for the end).
 */
export async function getSyncStatus(
  deps: ControlDeps,
  batchUid: string,
  options: { retrying?: boolean } = {},
): Promise<SyncStatus> {
  const batch = await deps.prisma.syncBatch.findUnique({ where: { uid: batchUid } });
  if (!batch) throw unknownBatch(batchUid);
  let progress: SyncProgress | null = null;
  let retrying: RetryingActivity[] = [];
  if (isLive(batch.status) && batch.workflowId) {
    const workflowId = batch.workflowId;
    // Not started yet, or just finished: the database row is the answer.
    [progress, retrying] = await Promise.all([
      deps.temporal.workflow
        .getHandle(workflowId)
        .query(progressQuery)
        .then((live) => (live.batchUid === batchUid ? live : null))
        .catch(() => null),
      options.retrying === false ? [] : retryingActivities(deps, workflowId).catch((): RetryingActivity[] => []),
    ]);
  }
  return {
    batchUid: batch.uid,
    entityName: batch.entityName,
    syncType: batch.syncType,
    status: batch.status,
    dryRun: batch.dryRun,
    workflowId: batch.workflowId,
    startedAt: batch.startedAt?.toISOString() ?? null,
    completedAt: batch.completedAt?.toISOString() ?? null,
    counts: countsOfBatch(batch),
    pagesCompleted: batch.pagesCompleted,
    watermarkFrom: batch.watermarkFrom,
    watermarkTo: batch.watermarkTo,
    metrics: batch.metrics,
    error: batch.errorMessage,
    progress,
    retrying,
  };
}
