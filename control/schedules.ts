import {
  type Client,
  isGrpcServiceError,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import { z } from 'zod';
import { entityExists } from '../db/entities.ts';
import { isTimeZone } from '../pipeline/background/window.ts';
// Types only: the workflow runs in the worker's sandbox; here it types the schedule's action.
import type { ScheduledSyncRequest, scheduledSync } from '../workflows/scheduled-sync.ts';
import { SyncEntity, SyncType as SyncTypeKey } from '../workflows/search-attributes.ts';
import { ControlError, unknownEntity } from './errors.ts';
import type { ControlDeps } from './syncs.ts';

export const RETRY_WAITING_SCHEDULE_ID = 'syncflow-retry-waiting-children';

/**
 * The Temporal Schedule behind the background retry of waiting children (SPEC: every 5 minutes, bounded).
 * Created once per cluster; a later start finds it and leaves it (an operator may have paused it).
 */
export async function ensureRetrySchedule(client: Client, taskQueue: string, everyMinutes = 5): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: RETRY_WAITING_SCHEDULE_ID,
      spec: { intervals: [{ every: `${everyMinutes} minutes` }] },
      action: { type: 'startWorkflow', workflowType: 'retryWaitingChildren', taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}

// ---- Recurring syncs: one Temporal Schedule per entity and kind ----

/** The kinds of recurring sync an entity may have, one schedule each. */
export const scheduleKinds = ['incremental', 'full'] as const;
export type ScheduleKind = (typeof scheduleKinds)[number];

/** The schedule of an entity's recurring sync of one kind: `syncflow-sync-<entity>-<kind>`. */
export const syncScheduleId = (entityName: string, kind: ScheduleKind) => `syncflow-sync-${entityName}-${kind}`;
/** The workflow type the schedule starts (workflows/scheduled-sync.ts). */
export const SCHEDULED_SYNC_WORKFLOW = 'scheduledSync';
export const DEFAULT_CATCHUP_WINDOW = '10m';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const UNIT_MS = { d: DAY_MS, h: 60 * MINUTE_MS, m: MINUTE_MS, s: 1000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `5m`, `1h30m`, `7d`, `90s` → milliseconds; null when it is not such a duration. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === '') return null;
  const [, d, h, m, s] = match;
  return (
    Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s
  );
}

/** Milliseconds → the shortest `1d2h3m4s` form (`0s` for zero). */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join('') || '0s';
}

const durationSchema = (label: string, minMs: number, maxMs: number, range: string) =>
  z
    .string()
    .max(20)
    .refine((v) => parseDuration(v) !== null, { message: `${label}: a duration such as 5m, 1h, 1h30m or 7d` })
    .refine(
      (v) => {
        const ms = parseDuration(v);
        return ms === null || (ms >= minMs && ms <= maxMs);
      },
      { message: `${label}: ${range}` },
    );

const CRON_FIELD = /^[0-9A-Za-z*?/,-]+$/;
const isFiveFieldCron = (cron: string) => {
  const fields = cron.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
};

export const scheduleRequestSchema = z
  .object({
    kind: z.enum(scheduleKinds),
    /** A fixed interval: at least 1 minute, at most 31 days. */
    every: durationSchema('every', MINUTE_MS, 31 * DAY_MS, 'at least 1m, at most 31d').optional(),
    /** A 5-field cron expression (minute hour day-of-month month day-of-week), in `timeZone`. */
    cron: z
      .string()
      .max(200)
      .refine(isFiveFieldCron, { message: 'a 5-field cron expression, e.g. "0 2 * * 0" (Sundays 02:00)' })
      .optional(),
    /** IANA time zone of the cron's times (default UTC). */
    timeZone: z.string().max(64).refine(isTimeZone, { message: 'an IANA time zone, e.g. Europe/Berlin' }).optional(),
    /** How late a run missed while Temporal was down may still start (default 10m). */
    catchupWindow: durationSchema('catchupWindow', 10_000, 31 * DAY_MS, 'at least 10s, at most 31d').optional(),
    /** Create (or leave) the schedule paused. */
    paused: z.boolean().optional(),
    /** Shown in `syncflow schedule list`, the Web UI and `temporal schedule describe`. */
    note: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if (request.every !== undefined && request.cron !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give either every or cron, not both' });
    } else if (request.every === undefined && request.cron === undefined) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: 'give every (an interval) or cron' });
    }
  });
export type ScheduleRequest = z.input<typeof scheduleRequestSchema>;

/** A schedule as the API and the CLI show it (Temporal holds it: no table of SyncFlow's). */
export interface ScheduleView {
  kind: ScheduleKind;
  scheduleId: string;
  spec: { every: string | null; cron: string | null };
  timeZone: string | null;
  catchupWindow: string;
  overlap: string;
  paused: boolean;
  /** The note given when the schedule was set (null: none). */
  note: string | null;
  /** Temporal's state note (e.g. why it was paused). */
  stateNote: string | null;
  /** The next (up to 3) times it starts a run. */
  nextRunTimes: string[];
  /** The latest runs (newest first, at most 5): the scheduledSync workflow each started and how it ended. */
  recentRuns: Array<{
    scheduledAt: string;
    takenAt: string;
    workflowId: string;
    runId: string;
    status: string;
    result: unknown;
  }>;
  createdAt: string;
  updatedAt: string | null;
}

/** What the schedule keeps of the request, in its action's memo (the listing reads it back). */
interface StoredRequest {
  kind: ScheduleKind;
  every: string | null;
  cron: string | null;
  timeZone: string | null;
  catchupWindow: string;
  note: string | null;
}
const MEMO_KEY = 'syncflowSchedule';

const validationFailed = (field: string, message: string) =>
  new ControlError(400, 'validation_failed', 'The request is invalid.', [{ field, message }]);

function parseRequest(input: ScheduleRequest) {
  const parsed = scheduleRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ControlError(
    400,
    'validation_failed',
    'The request is invalid.',
    parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message })),
  );
}

async function mustExist(deps: ControlDeps, entityName: string): Promise<void> {
  if (!(await entityExists(deps.prisma, entityName))) throw unknownEntity(entityName);
}

export function parseKind(kind: string): ScheduleKind {
  if ((scheduleKinds as readonly string[]).includes(kind)) return kind as ScheduleKind;
  throw validationFailed('kind', `one of ${scheduleKinds.join(', ')}`);
}

const unknownSchedule = (entityName: string, kind: ScheduleKind) =>
  new ControlError(404, 'schedule_not_found', `Entity "${entityName}" has no ${kind} schedule.`, {
    entity: entityName,
    kind,
  });

function describeSpec(stored: StoredRequest): string {
  const when = stored.every
    ? `every ${stored.every}`
    : `cron "${stored.cron}"${stored.timeZone ? ` in ${stored.timeZone}` : ''}`;
  return when;
}

function scheduleOptions(deps: ControlDeps, entityName: string, request: z.output<typeof scheduleRequestSchema>) {
  const stored: StoredRequest = {
    kind: request.kind,
    every: request.every ?? null,
    cron: request.cron?.trim().replace(/\s+/g, ' ') ?? null,
    timeZone: request.timeZone ?? null,
    catchupWindow: request.catchupWindow ?? DEFAULT_CATCHUP_WINDOW,
    note: request.note ?? null,
  };
  const args: [ScheduledSyncRequest] = [{ entityName, syncType: request.kind }];
  const description = `SyncFlow: ${request.kind} sync of "${entityName}" ${describeSpec(stored)} (overlap SKIP)`;
  return {
    stored,
    description,
    spec: {
      ...(stored.every ? { intervals: [{ every: parseDuration(stored.every)! }] } : {}),
      ...(stored.cron ? { cronExpressions: [stored.cron] } : {}),
      ...(stored.timeZone ? { timezone: stored.timeZone } : {}),
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: SCHEDULED_SYNC_WORKFLOW,
      taskQueue: deps.taskQueue,
      args,
      workflowId: `scheduled-${entityName}-${request.kind}`,
      memo: { [MEMO_KEY]: stored },
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: parseDuration(stored.catchupWindow)! },
    typedSearchAttributes: [
      { key: SyncEntity, value: entityName },
      { key: SyncTypeKey, value: request.kind },
    ],
  };
}

/**
 * Temporal refused the schedule (a cron it cannot read, a zone it does not know): a 400 naming the field. The SDK
 * throws an invalid spec as a TypeError (only the Temporal call runs where this is used), other refusals as an
 * INVALID_ARGUMENT service error.
 */
function refusedByTemporal(error: unknown, request: z.output<typeof scheduleRequestSchema>): unknown {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const grpc = isGrpcServiceError(error) ? error : isGrpcServiceError(cause) ? cause : null;
  let message: string | null = null;
  if (error instanceof TypeError) message = error.message;
  else if (grpc?.code === GRPC_INVALID_ARGUMENT) message = grpc.message.replace(/^\d+ INVALID_ARGUMENT: /, '');
  if (message === null) return error;
  const field = /time ?zone|location/i.test(message) ? 'timeZone' : request.cron ? 'cron' : 'every';
  return validationFailed(field, `refused by Temporal: ${message}`);
}
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Creates or replaces the entity's schedule of `request.kind`. Temporal is the only record of it. On an update,
 * `paused` left out keeps the schedule's paused state.
 */
export async function setSchedule(
  deps: ControlDeps,
  entityName: string,
  input: ScheduleRequest,
): Promise<{ created: boolean; schedule: ScheduleView }> {
  const request = parseRequest(input);
  await mustExist(deps, entityName);
  const scheduleId = syncScheduleId(entityName, request.kind);
  const options = scheduleOptions(deps, entityName, request);
  const note = options.stored.note ?? options.description;
  let created = true;
  try {
    await deps.temporal.schedule.create<typeof scheduledSync>({
      scheduleId,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { paused: request.paused ?? false, note },
      // Set once (Temporal keeps a schedule's memo across updates): what it is, not its spec (in the action's memo).
      memo: {
        syncflow: `recurring ${request.kind} sync of entity "${entityName}" (workflow scheduledSync, overlap SKIP)`,
      },
      typedSearchAttributes: options.typedSearchAttributes,
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw refusedByTemporal(error, request);
    created = false;
    try {
      await deps.temporal.schedule.getHandle(scheduleId).update<typeof scheduledSync>((previous) => ({
        spec: options.spec,
        action: options.action,
        policies: options.policies,
        state: { paused: request.paused ?? previous.state.paused, note },
        typedSearchAttributes: options.typedSearchAttributes,
      }));
    } catch (updateError) {
      throw refusedByTemporal(updateError, request);
    }
  }
  return { created, schedule: await viewOf(deps, entityName, request.kind) };
}

const iso = (date: Date | undefined | null) => (date ? date.toISOString() : null);

/** What the run a schedule started answered (the scheduledSync's result), or its status while it runs. */
async function runOutcome(deps: ControlDeps, workflowId: string, runId: string) {
  try {
    const handle = deps.temporal.workflow.getHandle(workflowId, runId);
    const status = (await handle.describe()).status.name;
    if (status !== 'COMPLETED') return { status, result: null };
    return { status, result: (await handle.result()) as unknown };
  } catch {
    return { status: 'UNKNOWN', result: null };
  }
}

/** The entity's schedule of `kind` as shown, or null when it has none. */
export async function describeSchedule(
  deps: ControlDeps,
  entityName: string,
  kind: ScheduleKind,
): Promise<ScheduleView | null> {
  const scheduleId = syncScheduleId(entityName, kind);
  let description: ScheduleDescription;
  try {
    description = await deps.temporal.schedule.getHandle(scheduleId).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
  const action = description.action as { memo?: Record<string, unknown> };
  const stored = (action.memo?.[MEMO_KEY] ?? null) as StoredRequest | null;
  const interval = description.spec.intervals?.[0];
  const recent = [...description.info.recentActions].reverse().slice(0, 5);
  const recentRuns = await Promise.all(
    recent.map(async (a) => {
      const workflowId = a.action.workflow.workflowId;
      const runId = a.action.workflow.firstExecutionRunId;
      return {
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId,
        runId,
        ...(await runOutcome(deps, workflowId, runId)),
      };
    }),
  );
  return {
    kind,
    scheduleId,
    spec: {
      every: stored?.every ?? (interval ? formatDuration(Number(interval.every)) : null),
      cron: stored?.cron ?? null,
    },
    timeZone: description.spec.timezone || stored?.timeZone || null,
    catchupWindow: formatDuration(description.policies.catchupWindow),
    overlap: String(description.policies.overlap),
    paused: description.state.paused,
    note: stored?.note ?? null,
    stateNote: description.state.note ?? null,
    nextRunTimes: description.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
    recentRuns,
    createdAt: description.info.createdAt.toISOString(),
    updatedAt: iso(description.info.lastUpdatedAt),
  };
}

/** The entity's schedules (at most one per kind): Temporal describes the two possible ids. 404 for no entity. */
export async function listSchedules(deps: ControlDeps, entityName: string): Promise<ScheduleView[]> {
  await mustExist(deps, entityName);
  const views = await Promise.all(scheduleKinds.map((kind) => describeSchedule(deps, entityName, kind)));
  return views.filter((v): v is ScheduleView => v !== null);
}

async function existingSchedule(deps: ControlDeps, entityName: string, kind: string) {
  const scheduleKind = parseKind(kind);
  await mustExist(deps, entityName);
  const handle = deps.temporal.schedule.getHandle(syncScheduleId(entityName, scheduleKind));
  return { scheduleKind, handle };
}

async function orNotFound<T>(work: () => Promise<T>, entityName: string, kind: ScheduleKind): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw unknownSchedule(entityName, kind);
    throw error;
  }
}

async function viewOf(deps: ControlDeps, entityName: string, kind: ScheduleKind): Promise<ScheduleView> {
  const view = await describeSchedule(deps, entityName, kind);
  if (!view) throw unknownSchedule(entityName, kind);
  return view;
}

/** Pauses the schedule (no run starts until resumed; a run under way goes on). */
export async function pauseSchedule(deps: ControlDeps, entityName: string, kind: string): Promise<ScheduleView> {
  const { scheduleKind, handle } = await existingSchedule(deps, entityName, kind);
  await orNotFound(() => handle.pause('Paused via SyncFlow'), entityName, scheduleKind);
  return viewOf(deps, entityName, scheduleKind);
}

export async function resumeSchedule(deps: ControlDeps, entityName: string, kind: string): Promise<ScheduleView> {
  const { scheduleKind, handle } = await existingSchedule(deps, entityName, kind);
  await orNotFound(() => handle.unpause('Resumed via SyncFlow'), entityName, scheduleKind);
  return viewOf(deps, entityName, scheduleKind);
}

export interface TriggeredSchedule {
  scheduleId: string;
  kind: ScheduleKind;
  triggered: true;
  message: string;
}

/**
 * Starts a run now (also when paused), under the schedule's overlap policy SKIP: Temporal drops the trigger if
 * the schedule's previous run still runs; a run that starts while another sync of the entity runs (a manual
 * one, or the other kind's) skips itself and records `schedule.skipped`.
 */
export async function triggerSchedule(deps: ControlDeps, entityName: string, kind: string): Promise<TriggeredSchedule> {
  const { scheduleKind, handle } = await existingSchedule(deps, entityName, kind);
  await orNotFound(() => handle.trigger(ScheduleOverlapPolicy.SKIP), entityName, scheduleKind);
  return {
    scheduleId: handle.scheduleId,
    kind: scheduleKind,
    triggered: true,
    message:
      'Run requested. Overlap policy SKIP: Temporal skips it if this schedule’s previous run is still running, and ' +
      'the run skips itself (event schedule.skipped) if a sync of the entity is already running.',
  };
}

/**
 * Deletes the entity's schedules, all kinds or one; answers the kinds deleted. Runs already started go on.
 * No check of the entity: the entity's own delete calls it after (or before) removing the entity.
 */
export async function deleteSchedules(
  deps: Pick<ControlDeps, 'temporal'>,
  entityName: string,
  kinds: readonly ScheduleKind[] = scheduleKinds,
): Promise<ScheduleKind[]> {
  const deleted: ScheduleKind[] = [];
  for (const kind of kinds) {
    try {
      await deps.temporal.schedule.getHandle(syncScheduleId(entityName, kind)).delete();
      deleted.push(kind);
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
  }
  return deleted;
}

/** The schedules route's DELETE: 404 for no entity, or (with a kind) no such schedule. */
export async function deleteEntitySchedules(
  deps: ControlDeps,
  entityName: string,
  kind?: string,
): Promise<ScheduleKind[]> {
  const kinds = kind === undefined ? scheduleKinds : [parseKind(kind)];
  await mustExist(deps, entityName);
  const deleted = await deleteSchedules(deps, entityName, kinds);
  if (kind !== undefined && deleted.length === 0) throw unknownSchedule(entityName, kinds[0]!);
  return deleted;
}
