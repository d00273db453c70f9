import type { BackgroundSyncSchedule } from '@prisma/client';
import type pg from 'pg';
import type { LoadState } from '../pipeline/background/plan.ts';
import type { Prisma } from './prisma.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * background_sync_schedule: one multi-day background load per entity (workflows/background-sync.ts).
 * The API writes its window, zone and days; the backgroundSync workflow (through its activities) writes the
 * live state; TRACK moves `current_offset` and the row counts with each page, in the page's transaction.
 */
export type BackgroundStatus =
  | 'not_started'
  | 'waiting_for_window'
  | 'running'
  | 'paused'
  | 'stopped'
  | 'completed'
  | 'failed';

/** States in which the load's workflow runs: the entity's other syncs are refused meanwhile. */
export const ACTIVE_BACKGROUND_STATES: readonly BackgroundStatus[] = ['waiting_for_window', 'running', 'paused'];
export const isActiveBackgroundState = (status: string): boolean =>
  ACTIVE_BACKGROUND_STATES.includes(status as BackgroundStatus);

export type BackgroundLoad = BackgroundSyncSchedule;

export interface BackgroundSettings {
  windowStart: string;
  windowEnd: string;
  timeZone: string;
  targetDays: number;
}

/** The row as the night plan reads it (pipeline/background/plan.ts). */
export const loadStateOf = (row: BackgroundLoad): LoadState => ({
  windowStart: row.windowStart,
  windowEnd: row.windowEnd,
  timeZone: row.timeZone,
  targetDays: row.targetDays,
  rowsDone: Number(row.rowsDone),
  rowsToday: row.rowsToday,
  nightsUsed: row.nightsUsed,
  nightOpenedAtMs: row.nightOpenedAt?.getTime() ?? null,
  dailyQuota: row.dailyQuota,
  totalRowsEstimate: row.totalRowsEstimate === null ? null : Number(row.totalRowsEstimate),
});

export async function getBackgroundLoad(prisma: Prisma, entityName: string): Promise<BackgroundLoad | null> {
  return prisma.backgroundSyncSchedule.findUnique({ where: { entityName } });
}

/** Whether a background load of the entity is under way (its workflow waits for a window, runs or is paused). */
export async function isBackgroundLoadActive(prisma: Prisma, entityName: string): Promise<boolean> {
  const load = await prisma.backgroundSyncSchedule.findUnique({
    where: { entityName },
    select: { status: true },
  });
  return load !== null && isActiveBackgroundState(load.status);
}

/** Creates the entity's load (not started) or changes its window, zone and days; the progress is kept. */
export async function saveBackgroundSettings(
  prisma: Prisma,
  entityName: string,
  settings: BackgroundSettings,
): Promise<BackgroundLoad> {
  return prisma.backgroundSyncSchedule.upsert({
    where: { entityName },
    create: { entityName, ...settings },
    update: settings,
  });
}

export async function deleteBackgroundLoad(prisma: Prisma, entityName: string): Promise<boolean> {
  const { count } = await prisma.backgroundSyncSchedule.deleteMany({ where: { entityName } });
  return count > 0;
}

/** The live fields the workflow keeps up to date. */
export type BackgroundStatePatch = Partial<
  Pick<
    BackgroundLoad,
    | 'dailyQuota'
    | 'totalRowsEstimate'
    | 'nightOpenedAt'
    | 'nightsUsed'
    | 'rowsToday'
    | 'startWatermark'
    | 'lastError'
    | 'workflowId'
    | 'startedAt'
    | 'lastRunAt'
    | 'nextRunAt'
    | 'completedAt'
    | 'currentOffset'
    | 'rowsDone'
  >
> & { status?: BackgroundStatus };

export async function updateBackgroundState(
  prisma: Prisma,
  entityName: string,
  patch: BackgroundStatePatch,
): Promise<BackgroundLoad> {
  return prisma.backgroundSyncSchedule.update({ where: { entityName }, data: patch });
}

/**
 * Moves the load past one tracked page: its cursor (where the next page starts) and its rows. Run inside
 * TRACK's transaction after the page was claimed in the ledger, so the offset and the counts move together
 * or not at all. A null cursor (the source's last page) leaves the offset where it is: the workflow marks the
 * load completed.
 */
export async function advanceBackgroundOffset(
  db: Queryable,
  page: { entityName: string; cursor: string | null; rows: number },
): Promise<void> {
  await db.query(
    `UPDATE background_sync_schedule
        SET current_offset = COALESCE($2, current_offset),
            rows_done = rows_done + $3, rows_today = rows_today + $3, updated_at = now()
      WHERE entity_name = $1`,
    [page.entityName, page.cursor, page.rows],
  );
}

/** One batch of the load (a window's pages, or the part of it between a pause and a resume). */
export interface BackgroundNight {
  batchUid: string;
  status: string;
  startedAt: Date | null;
  completedAt: Date | null;
  fetched: number;
  failed: number;
  nightOpenedAt: string | null;
}

/** The load's batches (type `background`), newest first, at most `limit`. */
export async function listBackgroundNights(prisma: Prisma, entityName: string, limit = 60): Promise<BackgroundNight[]> {
  const batches = await prisma.syncBatch.findMany({
    where: { entityName, syncType: 'background' },
    orderBy: { createdAt: 'desc' },
    take: limit,
  });
  return batches.map((b) => ({
    batchUid: b.uid,
    status: b.status,
    startedAt: b.startedAt,
    completedAt: b.completedAt,
    fetched: Number(b.totalFetched),
    failed: Number(b.failed),
    nightOpenedAt: ((b.metrics as { nightOpenedAt?: string } | null)?.nightOpenedAt ?? null) as string | null,
  }));
}
