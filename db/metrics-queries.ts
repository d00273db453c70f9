import type { RecordCounts } from '../pipeline/accounting.ts';
import { nextOccurrences } from '../pipeline/background/window.ts';
import { isActiveBackgroundState } from './background.ts';
import type { Prisma } from './prisma.ts';

/**
 * The figures behind the Prometheus endpoint, aggregated in PostgreSQL so a
 * scrape costs a handful of grouped queries however many batches exist.
 */
export const BATCH_DURATION_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 14_400, 43_200, 86_400] as const;

export interface RecordTotalsRow extends RecordCounts {
  entity: string;
  dryRun: boolean;
  estimatedCost: number;
}

/** Target calls summed per entity, dry run and target. */
export interface TargetCallsRow {
  entity: string;
  dryRun: boolean;
  target: string;
  calls: number;
}

export interface DurationRow {
  entity: string;
  /** Cumulative counts, one per BATCH_DURATION_BUCKETS entry. */
  buckets: number[];
  sum: number;
  count: number;
}

const numberAt = (key: string) =>
  `CASE WHEN jsonb_typeof(metrics->'${key}') = 'number' THEN (metrics->>'${key}')::float8 ELSE 0 END`;

export async function recordTotals(prisma: Prisma): Promise<RecordTotalsRow[]> {
  const rows = await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(`
    SELECT entity_name AS entity, dry_run AS "dryRun",
           sum(total_fetched)::float8 AS fetched, sum(inserted)::float8 AS inserted,
           sum(updated)::float8 AS updated, sum(skipped)::float8 AS skipped, sum(failed)::float8 AS failed,
           sum(pending)::float8 AS pending, sum(deleted)::float8 AS deleted,
           sum(${numberAt('estimatedCost')}) AS "estimatedCost"
      FROM sync_batches GROUP BY entity_name, dry_run ORDER BY entity_name, dry_run`);
  return rows as unknown as RecordTotalsRow[];
}

/**
 * Target calls as finishBatch stores them: `metrics.targetCalls` is `{ [targetName]: calls }` for the batch
 * (ingest and deletes together); anything else there (not an object, a non-numeric value) counts nothing.
 */
export async function targetCallTotals(prisma: Prisma): Promise<TargetCallsRow[]> {
  const rows = await prisma.$queryRawUnsafe<Array<{ entity: string; dryRun: boolean; target: string; calls: number }>>(`
    SELECT b.entity_name AS entity, b.dry_run AS "dryRun", c.key AS target, sum(c.value::text::float8)::float8 AS calls
      FROM sync_batches b
     CROSS JOIN LATERAL jsonb_each(
             CASE WHEN jsonb_typeof(b.metrics->'targetCalls') = 'object' THEN b.metrics->'targetCalls' ELSE '{}'::jsonb END) c
     WHERE jsonb_typeof(c.value) = 'number'
     GROUP BY b.entity_name, b.dry_run, c.key ORDER BY b.entity_name, b.dry_run, c.key`);
  return rows.map((r) => ({ entity: r.entity, dryRun: r.dryRun, target: r.target, calls: Number(r.calls) }));
}

export async function batchesByStatus(prisma: Prisma) {
  const rows = await prisma.syncBatch.groupBy({ by: ['entityName', 'status'], _count: { _all: true } });
  return rows.map((r) => ({ entity: r.entityName, status: r.status, count: r._count._all }));
}

export async function deadLetterSizes(prisma: Prisma) {
  const rows = await prisma.failedRecord.groupBy({
    by: ['entityName'],
    where: { resolvedAt: null },
    _count: { _all: true },
  });
  return rows.map((r) => ({ entity: r.entityName, count: r._count._all }));
}

export async function waitingChildren(prisma: Prisma) {
  const rows = await prisma.pendingChild.groupBy({
    by: ['entityName'],
    where: { status: 'waiting' },
    _count: { _all: true },
  });
  return rows.map((r) => ({ entity: r.entityName, count: r._count._all }));
}

/** Finished batches' durations, bucketed per entity (the buckets are constants, not input). */
export async function batchDurations(prisma: Prisma): Promise<DurationRow[]> {
  const columns = BATCH_DURATION_BUCKETS.map((le, i) => `count(*) FILTER (WHERE d <= ${le})::float8 AS b${i}`);
  const rows = await prisma.$queryRawUnsafe<Array<Record<string, number | string>>>(`
    SELECT entity, ${columns.join(', ')}, sum(d)::float8 AS sum, count(*)::float8 AS count
      FROM (SELECT entity_name AS entity, extract(epoch FROM completed_at - started_at)::float8 AS d
              FROM sync_batches
             WHERE status IN ('completed', 'failed', 'cancelled')
               AND started_at IS NOT NULL AND completed_at IS NOT NULL) finished
     GROUP BY entity ORDER BY entity`);
  return rows.map((r) => ({
    entity: String(r.entity),
    buckets: BATCH_DURATION_BUCKETS.map((_, i) => Number(r[`b${i}`])),
    sum: Number(r.sum),
    count: Number(r.count),
  }));
}

/** Rows per second of every running batch since it started. */
export async function runningThroughput(prisma: Prisma) {
  const rows = await prisma.$queryRaw<Array<{ uid: string; entity: string; fetched: number; seconds: number }>>`
    SELECT uid::text AS uid, entity_name AS entity, total_fetched::float8 AS fetched,
           greatest(extract(epoch FROM now() - started_at), 0.001)::float8 AS seconds
      FROM sync_batches WHERE status = 'running' AND started_at IS NOT NULL`;
  return rows.map((r) => ({ batchUid: r.uid, entity: r.entity, rowsPerSecond: r.fetched / r.seconds }));
}

/** The states a background load can be in (db/background.ts BackgroundStatus), one series each. */
export const BACKGROUND_STATES = [
  'not_started',
  'waiting_for_window',
  'running',
  'paused',
  'stopped',
  'completed',
  'failed',
] as const;

export interface BackgroundLoadRow {
  entity: string;
  state: string;
  rowsDone: number;
  /** The source's row estimate; null until the load first plans. */
  rowsEstimated: number | null;
  nightsUsed: number;
  targetDays: number;
  /** Unix ms of the window's next opening after now (while it is open: the one after); null unless under way. */
  nextWindowOpensAtMs: number | null;
  /** Whether the window is open now; null unless the load is under way. */
  windowOpen: boolean | null;
}

/** Every entity's background load: progress, state and, for a load under way, its next window opening. */
export async function backgroundLoads(prisma: Prisma, nowMs = Date.now()): Promise<BackgroundLoadRow[]> {
  const rows = await prisma.backgroundSyncSchedule.findMany({ orderBy: { entityName: 'asc' } });
  return rows.map((r) => {
    let next: number | null = null;
    let open: boolean | null = null;
    if (isActiveBackgroundState(r.status)) {
      try {
        const [first, second] = nextOccurrences(
          nowMs,
          { start: r.windowStart, end: r.windowEnd, timeZone: r.timeZone },
          2,
        );
        open = first!.opensAtMs <= nowMs;
        next = open ? second!.opensAtMs : first!.opensAtMs;
      } catch {
        // Settings no longer valid (a zone Intl stopped knowing): no such series rather than no scrape.
      }
    }
    return {
      entity: r.entityName,
      state: r.status,
      rowsDone: Number(r.rowsDone),
      rowsEstimated: r.totalRowsEstimate === null ? null : Number(r.totalRowsEstimate),
      nightsUsed: r.nightsUsed,
      targetDays: r.targetDays,
      nextWindowOpensAtMs: next,
      windowOpen: open,
    };
  });
}
