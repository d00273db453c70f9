import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import type { ReplayInput } from '../activities/contract.ts';
import { isBackgroundLoadActive } from '../db/background.ts';
import { getEntity, isDryRun } from '../db/entities.ts';
import {
  backgroundWorkflowId,
  REPLAY_WORKFLOW,
  replayWorkflowId,
  stageNames,
  syncWorkflowId,
} from '../workflows/contract.ts';
// Types only: the workflow runs in the worker's sandbox.
import type { replayDeadLetters } from '../workflows/replay-dead-letters.ts';
import { ControlError, unknownEntity } from './errors.ts';
import { type ControlDeps, entityNameSchema, isRunning } from './syncs.ts';

/** Dead letters a replay takes at most when the request does not say (and at most one request may ask). */
export const DEFAULT_REPLAY_LIMIT = 10_000;
export const MAX_REPLAY_LIMIT = 1_000_000;

/**
 * POST /sync/retry-failed and `syncflow dlq replay`: which unresolved dead letters of one entity to replay.
 * Without a filter (batch, stage, error type, target, record ids) it must say `all: true`: replaying a whole
 * DLQ is a decision, not a default.
 */
export const replayRequestSchema = z
  .object({
    entity: entityNameSchema,
    batchUid: z.uuid().optional(),
    stage: z.enum(stageNames).optional(),
    errorType: z.string().min(1).max(50).optional(),
    target: z.string().min(1).max(100).optional(),
    /** Exactly these dead letters (an abandoned one included). */
    uids: z.array(z.uuid()).min(1).max(1000).optional(),
    all: z.boolean().optional(),
    /** At most this many, oldest first. */
    limit: z.number().int().min(1).max(MAX_REPLAY_LIMIT).default(DEFAULT_REPLAY_LIMIT),
    /** true: report what would now land and what would still fail, with reasons, writing nothing. */
    dryRun: z.boolean().optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    const filtered = request.batchUid || request.stage || request.errorType || request.target || request.uids;
    if (!filtered && request.all !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['all'],
        message: 'name the records (batchUid, stage, errorType, target or uids), or say all: true',
      });
    }
  });
export type ReplayRequest = z.input<typeof replayRequestSchema>;

export interface StartedReplay {
  batchUid: string;
  entityName: string;
  /** The replay's workflow (`replay-<entity>`); its batch runs as the entity's sync (`sync-<entity>`). */
  workflowId: string;
  syncWorkflowId: string;
}

/**
 * Starts a replay of dead letters (workflows/replay-dead-letters.ts). Refused with 409 while a sync, a replay or
 * a background load of the entity runs: a replay writes the same targets and must not interleave with them.
 */
export async function startReplay(deps: ControlDeps, input: ReplayRequest): Promise<StartedReplay> {
  const request = replayRequestSchema.parse(input);
  const entity = await getEntity(deps.prisma, request.entity);
  if (!entity) throw unknownEntity(request.entity);
  if (!entity.enabled) throw new ControlError(409, 'entity_disabled', `Entity "${request.entity}" is disabled.`);
  if (request.target && !entity.config.targets.some((t) => t.name === request.target)) {
    const message = `entity "${request.entity}" has no target "${request.target}"`;
    throw new ControlError(400, 'validation_failed', `Invalid request: ${message}.`, [{ field: 'target', message }]);
  }
  const name = request.entity;
  const busy = async (workflowId: string) => isRunning(deps.temporal, workflowId);
  if (await busy(syncWorkflowId(name))) {
    throw new ControlError(409, 'sync_already_running', `A sync of "${name}" is running; replay once it ends.`, {
      entity: name,
    });
  }
  if (await busy(replayWorkflowId(name))) {
    throw new ControlError(409, 'replay_already_running', `A replay of "${name}" is already running.`, {
      entity: name,
    });
  }
  if ((await isBackgroundLoadActive(deps.prisma, name)) && (await busy(backgroundWorkflowId(name)))) {
    throw new ControlError(409, 'background_load_active', `A background load of "${name}" is under way.`, {
      entity: name,
    });
  }
  const batchUid = randomUUID();
  const dryRun = isDryRun(entity.mode, request.dryRun === undefined ? undefined : !request.dryRun);
  // The row first (pending), so GET /sync/status/{batchUid} answers from the 202 on; the replay's first
  // activity freezes the selection into it.
  await deps.prisma.syncBatch.create({
    data: {
      uid: batchUid,
      entityName: name,
      syncType: 'replay',
      dryRun,
      status: 'pending',
      workflowId: syncWorkflowId(name),
      metrics: { replay: { trigger: 'operator' } },
    },
  });
  const replay: ReplayInput = {
    batchUid,
    entityName: name,
    selection: {
      entity: name,
      batchUid: request.batchUid,
      stage: request.stage,
      errorType: request.errorType,
      target: request.target,
      uids: request.uids,
      limit: request.limit,
    },
    dryRun,
    trigger: 'operator',
    workflowId: syncWorkflowId(name),
  };
  try {
    await deps.temporal.workflow.start<typeof replayDeadLetters>(REPLAY_WORKFLOW, {
      taskQueue: deps.taskQueue,
      workflowId: replayWorkflowId(name),
      args: [JSON.parse(JSON.stringify(replay))],
    });
  } catch (error) {
    await deps.prisma.syncBatch.delete({ where: { uid: batchUid } }).catch(() => {});
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    throw new ControlError(409, 'replay_already_running', `A replay of "${name}" is already running.`, {
      entity: name,
    });
  }
  return { batchUid, entityName: name, workflowId: replayWorkflowId(name), syncWorkflowId: syncWorkflowId(name) };
}
