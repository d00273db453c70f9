import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isBackgroundLoadActive } from '../db/background.ts';
import { getEntity } from '../db/entities.ts';
import { closeStaleReport, createReport, getReport, listReports, runningReports } from '../db/reconcile.ts';
import type { ReconcileInput, ReconcileReportView } from '../pipeline/reconcile/types.ts';
import {
  backgroundWorkflowId,
  RECONCILE_WORKFLOW,
  reconcileWorkflowId,
  replayWorkflowId,
  syncWorkflowId,
} from '../workflows/contract.ts';
// Types only: the workflow runs in the worker's sandbox.
import type { reconcile } from '../workflows/reconcile.ts';
import { ControlError, unknownEntity } from './errors.ts';
import { type ControlDeps, entityNameSchema, isRunning } from './syncs.ts';

export const MAX_RECONCILE_SAMPLE = 100_000;

/** POST /api/v1/reconcile and `syncflow reconcile <entity> [--repair]`. */
export const reconcileRequestSchema = z
  .object({
    entity: entityNameSchema,
    /** Default: every target of the entity. */
    targets: z.array(z.string().min(1).max(100)).min(1).max(20).optional(),
    /** Queue the differences for the normal write path, then re-verify the repaired keys. */
    repair: z.boolean().optional(),
    /** Lookup (HTTP) targets: check a random sample of this many keys instead of every key. */
    sample: z.number().int().min(1).max(MAX_RECONCILE_SAMPLE).optional(),
  })
  .strict();
export type ReconcileRequest = z.input<typeof reconcileRequestSchema>;

export interface StartedReconcile {
  reportUid: string;
  workflowId: string;
  entityName: string;
}

const reportNotFound = (uid: string) =>
  new ControlError(404, 'reconcile_report_not_found', `No reconcile report ${uid}.`);

/**
 * Starts a reconcile (workflows/reconcile.ts): the report row first (running), so GET /reconcile/:uid answers
 * from the 202 on, then the workflow `reconcile-<uid>`. Refused: 404 unknown entity; 400 a target the entity
 * does not have; 409 a reconcile of the entity running, no completed sync of the entity yet, or a repair while
 * a sync, replay or background load of the entity runs (a repair runs a sync).
 */
export async function startReconcile(deps: ControlDeps, input: ReconcileRequest): Promise<StartedReconcile> {
  const request = reconcileRequestSchema.parse(input);
  const name = request.entity;
  const entity = await getEntity(deps.prisma, name);
  if (!entity) throw unknownEntity(name);
  const names = entity.config.targets.map((t) => t.name);
  const unknown = (request.targets ?? []).filter((t) => !names.includes(t));
  if (unknown.length) {
    const message = `entity "${name}" has no target ${unknown.map((t) => `"${t}"`).join(', ')} (its targets: ${names.join(', ')})`;
    throw new ControlError(400, 'validation_failed', `Invalid request: ${message}.`, [{ field: 'targets', message }]);
  }
  for (const running of await runningReports(deps.prisma, name)) {
    if (await isRunning(deps.temporal, running.workflowId)) {
      throw new ControlError(409, 'reconcile_already_running', `A reconcile of "${name}" is already running.`, {
        entity: name,
        reportUid: running.uid,
      });
    }
    // Its workflow ended without closing the report (terminated by hand): close it now.
    await closeStaleReport(deps.prisma, running.uid);
  }
  const completed = await deps.prisma.syncBatch.findFirst({
    where: { entityName: name, status: 'completed', dryRun: false },
    select: { uid: true },
  });
  if (!completed) {
    throw new ControlError(
      409,
      'no_completed_sync',
      `Entity "${name}" has no completed sync: reconcile needs a completed sync (run one first).`,
      { entity: name },
    );
  }
  if (request.repair) {
    const busy = async (workflowId: string) => isRunning(deps.temporal, workflowId);
    if (await busy(syncWorkflowId(name))) {
      throw new ControlError(409, 'sync_already_running', `A sync of "${name}" is running; repair once it ends.`, {
        entity: name,
      });
    }
    if (await busy(replayWorkflowId(name))) {
      throw new ControlError(409, 'replay_already_running', `A replay of "${name}" is running; repair once it ends.`, {
        entity: name,
      });
    }
    if ((await isBackgroundLoadActive(deps.prisma, name)) && (await busy(backgroundWorkflowId(name)))) {
      throw new ControlError(409, 'background_load_active', `A background load of "${name}" is under way.`, {
        entity: name,
      });
    }
  }
  const reportUid = randomUUID();
  const workflowId = reconcileWorkflowId(reportUid);
  await createReport(deps.prisma, {
    uid: reportUid,
    entityName: name,
    repair: request.repair === true,
    sample: request.sample ?? null,
    workflowId,
  });
  const args: ReconcileInput = {
    reportUid,
    entityName: name,
    ...(request.targets ? { targets: [...new Set(request.targets)] } : {}),
    ...(request.repair ? { repair: true } : {}),
    ...(request.sample === undefined ? {} : { sample: request.sample }),
  };
  try {
    await deps.temporal.workflow.start<typeof reconcile>(RECONCILE_WORKFLOW, {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [args],
    });
  } catch (error) {
    await deps.prisma.reconcileReport.delete({ where: { uid: reportUid } }).catch(() => {});
    throw error;
  }
  return { reportUid, workflowId, entityName: name };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET /api/v1/reconcile/:uid. */
export async function getReconcileReport(deps: Pick<ControlDeps, 'prisma'>, uid: string): Promise<ReconcileReportView> {
  if (!UUID.test(uid)) throw reportNotFound(uid);
  const report = await getReport(deps.prisma, uid);
  if (!report) throw reportNotFound(uid);
  return report;
}

export const DEFAULT_RECONCILE_LIST_LIMIT = 20;
export const MAX_RECONCILE_LIST_LIMIT = 100;

/** The list's opaque cursor: the last report's (startedAt, uid). */
const encodeListCursor = (report: ReconcileReportView) =>
  Buffer.from(JSON.stringify([report.startedAt, report.uid])).toString('base64url');

function decodeListCursor(text: string): { startedAt: Date; uid: string } {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const startedAt = new Date(value[0]);
      if (UUID.test(value[1]) && !Number.isNaN(startedAt.getTime())) return { startedAt, uid: value[1] };
    }
  } catch {}
  const message = 'not a cursor this API returned';
  throw new ControlError(400, 'validation_failed', 'Invalid request: bad cursor.', [{ field: 'cursor', message }]);
}

/** GET /api/v1/reconcile?entity=: reports newest first. */
export async function listReconcileReports(
  deps: Pick<ControlDeps, 'prisma'>,
  options: { entity?: string; limit?: number; cursor?: string } = {},
): Promise<{ items: ReconcileReportView[]; nextCursor: string | null }> {
  const limit = Math.min(
    Math.max(Math.trunc(options.limit ?? DEFAULT_RECONCILE_LIST_LIMIT), 1),
    MAX_RECONCILE_LIST_LIMIT,
  );
  const after = options.cursor ? decodeListCursor(options.cursor) : undefined;
  const { rows, hasMore } = await listReports(deps.prisma, { entity: options.entity, limit, after });
  const last = rows.at(-1);
  return { items: rows, nextCursor: hasMore && last ? encodeListCursor(last) : null };
}
