import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { z } from 'zod';
import {
  type BackgroundLoad,
  type BackgroundNight,
  type BackgroundStatus,
  deleteBackgroundLoad,
  getBackgroundLoad,
  isActiveBackgroundState,
  listBackgroundNights,
  loadStateOf,
  saveBackgroundSettings,
  updateBackgroundState,
} from '../db/background.ts';
import { getEntity } from '../db/entities.ts';
import { estimatedCompletionMs } from '../pipeline/background/plan.ts';
import { isTimeZone, nextOccurrences, windowTimeSchema } from '../pipeline/background/window.ts';
import type { backgroundSync } from '../workflows/background-sync.ts';
import {
  BACKGROUND_ENDED,
  BACKGROUND_SYNC_WORKFLOW,
  type BackgroundProgress,
  backgroundProgressQuery,
  backgroundWorkflowId,
  pauseBackgroundUpdate,
  reconfigureBackgroundUpdate,
  resumeBackgroundUpdate,
  stopBackgroundUpdate,
  syncWorkflowId,
} from '../workflows/contract.ts';
import { ControlError, unknownEntity } from './errors.ts';
import { type ControlDeps, isRunning } from './syncs.ts';

/**
 * Multi-day background loads (workflows/background-sync.ts): their settings, their live state, and the
 * operations the API, the CLI and the demo share. The settings live in background_sync_schedule (PUT writes
 * them); the workflow `background-<entity>` runs the load and keeps its state there.
 */
export const backgroundSettingsSchema = z
  .object({
    /** Local time the window opens (HH:MM, 24 h). */
    windowStart: windowTimeSchema.default('19:00'),
    /** Local time it closes; earlier than windowStart: the window crosses midnight. */
    windowEnd: windowTimeSchema.default('07:00'),
    /** IANA time zone of the window (the plant's). */
    timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone, such as Europe/Berlin').default('UTC'),
    /** Nights the whole load should take. */
    targetDays: z.number().int().min(1).max(365).default(7),
  })
  .strict()
  .refine((s) => s.windowStart !== s.windowEnd, {
    path: ['windowEnd'],
    message: 'an empty window: windowEnd must differ from windowStart',
  });
export type BackgroundSettingsInput = z.input<typeof backgroundSettingsSchema>;

/** The load as the API and the CLI show it. */
export interface BackgroundView {
  entityName: string;
  windowStart: string;
  windowEnd: string;
  timeZone: string;
  targetDays: number;
  state: BackgroundStatus;
  rowsDone: number;
  totalRowsEstimate: number | null;
  /** Tonight's quota (null: bounded only by the window) and the rows read in the current or last night. */
  dailyQuota: number | null;
  rowsToday: number;
  nightsUsed: number;
  currentOffset: string | null;
  /** Whether the window is open now; if so since when; when it closes (the current or the next occurrence). */
  windowOpen: boolean;
  windowOpenedAt: string | null;
  windowClosesAt: string;
  /** The next opening after now (while the window is open, the one after it). */
  nextWindowOpensAt: string;
  estimatedCompletionAt: string | null;
  startWatermark: string | null;
  startedAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  workflowId: string;
  /** The night's batch running now (from the workflow), if any. */
  runningBatchUid: string | null;
  /** The load's batches, newest first. */
  nights: BackgroundNight[];
}

async function requireEntity(deps: ControlDeps, entityName: string) {
  const entity = await getEntity(deps.prisma, entityName);
  if (!entity) throw unknownEntity(entityName);
  return entity;
}

async function requireLoad(deps: ControlDeps, entityName: string): Promise<BackgroundLoad> {
  await requireEntity(deps, entityName);
  const load = await getBackgroundLoad(deps.prisma, entityName);
  if (!load) {
    throw new ControlError(
      404,
      'background_not_found',
      `Entity "${entityName}" has no background load; set one with PUT /entities/${entityName}/background.`,
    );
  }
  return load;
}

const handleOf = (deps: ControlDeps, entityName: string) =>
  deps.temporal.workflow.getHandle<typeof backgroundSync>(backgroundWorkflowId(entityName));

async function liveProgress(deps: ControlDeps, entityName: string): Promise<BackgroundProgress | null> {
  try {
    // Bounded: with no worker polling, Temporal holds a query until its own deadline (~30 s).
    return await deps.temporal.withDeadline(Date.now() + 3_000, () =>
      handleOf(deps, entityName).query(backgroundProgressQuery),
    );
  } catch {
    return null; // not running, or no worker answers: the row is the answer
  }
}

export async function getBackground(
  deps: ControlDeps,
  entityName: string,
  nowMs = Date.now(),
): Promise<BackgroundView> {
  const load = await requireLoad(deps, entityName);
  const state = loadStateOf(load);
  const [current, following] = nextOccurrences(
    nowMs,
    { start: load.windowStart, end: load.windowEnd, timeZone: load.timeZone },
    2,
  );
  const window = { open: current!.opensAtMs <= nowMs, ...current! };
  /** The next opening after now: while the window is open, the one after it. */
  const nextOpening = window.open ? following!.opensAtMs : window.opensAtMs;
  const active = isActiveBackgroundState(load.status);
  const [live, nights] = await Promise.all([
    active ? liveProgress(deps, entityName) : null,
    listBackgroundNights(deps.prisma, entityName),
  ]);
  const completion = load.status === 'completed' ? null : estimatedCompletionMs(state, nowMs);
  return {
    entityName,
    windowStart: load.windowStart,
    windowEnd: load.windowEnd,
    timeZone: load.timeZone,
    targetDays: load.targetDays,
    state: load.status as BackgroundStatus,
    rowsDone: Number(load.rowsDone),
    totalRowsEstimate: state.totalRowsEstimate,
    dailyQuota: load.dailyQuota,
    rowsToday: load.rowsToday,
    nightsUsed: load.nightsUsed,
    currentOffset: load.currentOffset,
    windowOpen: window.open,
    windowOpenedAt: window.open ? new Date(window.opensAtMs).toISOString() : null,
    windowClosesAt: new Date(window.closesAtMs).toISOString(),
    nextWindowOpensAt: new Date(nextOpening).toISOString(),
    estimatedCompletionAt: completion === null ? null : new Date(completion).toISOString(),
    startWatermark: load.startWatermark,
    startedAt: load.startedAt?.toISOString() ?? null,
    completedAt: load.completedAt?.toISOString() ?? null,
    lastError: load.lastError,
    workflowId: backgroundWorkflowId(entityName),
    runningBatchUid: live?.batchUid ?? null,
    nights,
  };
}

/**
 * Creates the entity's load (not started) or changes its window, zone and days. A load under way takes the
 * change at once: its running batch ends after the pages in flight and it plans again under the new settings.
 */
export async function setBackground(
  deps: ControlDeps,
  entityName: string,
  input: BackgroundSettingsInput,
): Promise<BackgroundView> {
  const settings = backgroundSettingsSchema.parse(input);
  await requireEntity(deps, entityName);
  const saved = await saveBackgroundSettings(deps.prisma, entityName, settings);
  if (isActiveBackgroundState(saved.status)) {
    await handleOf(deps, entityName)
      .executeUpdate(reconfigureBackgroundUpdate)
      .catch((error) => {
        // Ended meanwhile: the stored settings are the answer.
        if (!(error instanceof WorkflowNotFoundError) && !ended(error)) throw error;
      });
  }
  return getBackground(deps, entityName);
}

/** Deletes the load's settings and state; refused while it is under way (stop it first). */
export async function deleteBackground(deps: ControlDeps, entityName: string): Promise<void> {
  const load = await requireLoad(deps, entityName);
  if (isActiveBackgroundState(load.status)) {
    throw new ControlError(
      409,
      'background_running',
      `The background load of "${entityName}" is ${load.status}; stop it before deleting it.`,
      { entity: entityName },
    );
  }
  await deleteBackgroundLoad(deps.prisma, entityName);
}

const ended = (error: unknown) =>
  error instanceof WorkflowUpdateFailedError &&
  error.cause instanceof ApplicationFailure &&
  error.cause.type === BACKGROUND_ENDED;

/**
 * Starts (or, after a stop, resumes from its offset; after completion, starts over) the entity's load.
 * Without settings, the defaults (19:00–07:00 UTC, 7 nights) are stored. Refused while a sync of the
 * entity runs, and for an entity that is not live (a load writes).
 */
export async function startBackground(deps: ControlDeps, entityName: string): Promise<BackgroundView> {
  const entity = await requireEntity(deps, entityName);
  if (!entity.enabled) throw new ControlError(409, 'entity_disabled', `Entity "${entityName}" is disabled.`);
  if (entity.mode !== 'live') {
    throw new ControlError(
      409,
      'entity_not_live',
      `Entity "${entityName}" is in dry-run mode: a background load writes to its targets; promote it to live first.`,
      { entity: entityName },
    );
  }
  let load = await getBackgroundLoad(deps.prisma, entityName);
  if (!load) load = await saveBackgroundSettings(deps.prisma, entityName, backgroundSettingsSchema.parse({}));
  if (isActiveBackgroundState(load.status)) {
    // Its row says under way; unless its workflow was terminated by hand (then it starts again from its offset).
    if (await isRunning(deps.temporal, backgroundWorkflowId(entityName))) {
      throw new ControlError(409, 'background_running', `The background load of "${entityName}" is ${load.status}.`, {
        entity: entityName,
      });
    }
  }
  if (await isRunning(deps.temporal, syncWorkflowId(entityName))) {
    throw new ControlError(
      409,
      'sync_already_running',
      `A sync of "${entityName}" is running; a background load starts once it has finished.`,
      { entity: entityName },
    );
  }
  // Marked under way before the workflow starts: from here on the entity's other syncs are refused.
  const previous = load.status as BackgroundStatus;
  await updateBackgroundState(deps.prisma, entityName, { status: 'waiting_for_window', lastError: null });
  try {
    await deps.temporal.workflow.start<typeof backgroundSync>(BACKGROUND_SYNC_WORKFLOW, {
      taskQueue: deps.taskQueue,
      workflowId: backgroundWorkflowId(entityName),
      args: [{ entityName }],
    });
  } catch (error) {
    await updateBackgroundState(deps.prisma, entityName, { status: previous });
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ControlError(409, 'background_running', `The background load of "${entityName}" is running.`);
    }
    throw error;
  }
  return getBackground(deps, entityName);
}

type Action = 'pause' | 'resume' | 'stop';
const updates = { pause: pauseBackgroundUpdate, resume: resumeBackgroundUpdate, stop: stopBackgroundUpdate };

/** Pause, resume or stop a load under way: each answers once it took effect (a running batch has ended). */
export async function controlBackground(
  deps: ControlDeps,
  entityName: string,
  action: Action,
): Promise<BackgroundView> {
  const load = await requireLoad(deps, entityName);
  if (!isActiveBackgroundState(load.status)) {
    throw new ControlError(
      409,
      'background_not_running',
      `The background load of "${entityName}" is ${load.status}, not under way` +
        (action === 'resume' && load.status === 'stopped' ? ': start it to resume from its offset.' : '.'),
      { entity: entityName, state: load.status },
    );
  }
  try {
    await handleOf(deps, entityName).executeUpdate(updates[action]);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError) && !ended(error)) throw error;
    // The workflow is gone (terminated by hand) while the row still says under way: a stop makes the row say so
    // (the entity is free again, the offset kept); pause and resume have nothing to act on.
    const fresh = await getBackgroundLoad(deps.prisma, entityName);
    if (action === 'stop' && fresh && isActiveBackgroundState(fresh.status)) {
      await updateBackgroundState(deps.prisma, entityName, { status: 'stopped', nextRunAt: null });
      return getBackground(deps, entityName);
    }
    throw new ControlError(409, 'background_not_running', `The background load of "${entityName}" has ended.`);
  }
  return getBackground(deps, entityName);
}

/** Before an entity is deleted: its load stops (the row goes with the entity). */
export async function stopBackgroundForDeletion(deps: ControlDeps, entityName: string): Promise<void> {
  const load = await getBackgroundLoad(deps.prisma, entityName);
  if (!load || !isActiveBackgroundState(load.status)) return;
  // Stopped as by the operator (its night's batch ends after the pages in flight); a load no worker answers for
  // within 10 s is terminated, and its batch with it (the child's parent close policy cancels it).
  await deps.temporal
    .withDeadline(Date.now() + 10_000, () => handleOf(deps, entityName).executeUpdate(stopBackgroundUpdate))
    .catch(() =>
      handleOf(deps, entityName)
        .terminate('entity deleted')
        .catch(() => {}),
    );
}
