import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  BACKGROUND_STATES,
  BATCH_DURATION_BUCKETS,
  type BackgroundLoadRow,
  backgroundLoads,
  batchDurations,
  batchesByStatus,
  deadLetterSizes,
  recordTotals,
  runningThroughput,
  targetCallTotals,
  waitingChildren,
} from '../../db/metrics-queries.ts';
import type { Prisma } from '../../db/prisma.ts';
import { type LastReconcileRow, lastReconciles, RECONCILE_DIFFERENCE_KINDS } from '../../db/reconcile-metrics.ts';
import { allTargetCounts, type TargetCounts } from '../../db/target-state.ts';
import { logger } from '../../log/logger.ts';

const log = logger('api');

/**
 * The Prometheus exposition of SyncFlow: the process's default metrics (one
 * registry per process) merged with figures read from the database at each
 * scrape into a fresh registry, so concurrent scrapes never share state and
 * the numbers are the database's own, whichever API instance is scraped.
 */
let processRegistry: Registry | undefined;
function defaults(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

type Labels = Record<string, string | number>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

function add(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge' | 'histogram',
  values: Sample[],
) {
  const metric = { name, help, type, values, aggregator: 'sum' as const };
  registry.registerMetric({ ...metric, get: async () => metric } as never);
}

const OPERATIONS = ['fetched', 'inserted', 'updated', 'skipped', 'failed', 'pending', 'deleted'] as const;

async function databaseMetrics(prisma: Prisma, registry: Registry) {
  const [totals, calls, statuses, dlq, waiting, durations, running, loads, targets, reconciles] = await Promise.all([
    recordTotals(prisma),
    targetCallTotals(prisma),
    batchesByStatus(prisma),
    deadLetterSizes(prisma),
    waitingChildren(prisma),
    batchDurations(prisma),
    runningThroughput(prisma),
    backgroundLoads(prisma),
    allTargetCounts(prisma),
    lastReconciles(prisma),
  ]);
  const dryRun = (flag: boolean) => (flag ? 'true' : 'false');
  add(
    registry,
    'syncflow_records_total',
    'Records per entity and operation, summed over batches (dry_run="true": what dry runs would have done).',
    'counter',
    totals.flatMap((t) =>
      OPERATIONS.map((operation) => ({
        labels: { entity: t.entity, operation, dry_run: dryRun(t.dryRun) },
        value: t[operation],
      })),
    ),
  );
  add(
    registry,
    'syncflow_batches',
    'Batches per entity and status.',
    'gauge',
    statuses.map((s) => ({ labels: { entity: s.entity, status: s.status }, value: s.count })),
  );
  add(
    registry,
    'syncflow_dlq_size',
    'Unresolved records in the dead-letter queue.',
    'gauge',
    dlq.map((d) => ({ labels: { entity: d.entity }, value: d.count })),
  );
  add(
    registry,
    'syncflow_pending_children',
    'Children waiting for their parent.',
    'gauge',
    waiting.map((w) => ({ labels: { entity: w.entity }, value: w.count })),
  );
  add(
    registry,
    'syncflow_batch_duration_seconds',
    'Duration of finished batches (completed, failed or cancelled).',
    'histogram',
    durations.flatMap((d) => [
      ...BATCH_DURATION_BUCKETS.map((le, i) => ({
        metricName: 'syncflow_batch_duration_seconds_bucket',
        labels: { entity: d.entity, le: String(le) },
        value: d.buckets[i]!,
      })),
      {
        metricName: 'syncflow_batch_duration_seconds_bucket',
        labels: { entity: d.entity, le: '+Inf' },
        value: d.count,
      },
      { metricName: 'syncflow_batch_duration_seconds_sum', labels: { entity: d.entity }, value: d.sum },
      { metricName: 'syncflow_batch_duration_seconds_count', labels: { entity: d.entity }, value: d.count },
    ]),
  );
  add(
    registry,
    'syncflow_running_batch_rows_per_second',
    'Rows fetched per second by each running batch since it started.',
    'gauge',
    running.map((r) => ({ labels: { entity: r.entity, batch_uid: r.batchUid }, value: r.rowsPerSecond })),
  );
  add(
    registry,
    'syncflow_target_calls_total',
    'Calls made to each target (dry_run="true": calls a dry run estimated), from batch metrics.',
    'counter',
    calls.map((c) => ({ labels: { entity: c.entity, dry_run: dryRun(c.dryRun), target: c.target }, value: c.calls })),
  );
  add(
    registry,
    'syncflow_estimated_cost_total',
    "Estimated cost of the target calls at the entity's unit cost, from batch metrics.",
    'counter',
    totals.map((t) => ({ labels: { entity: t.entity, dry_run: dryRun(t.dryRun) }, value: t.estimatedCost })),
  );
  backgroundMetrics(registry, loads);
  targetMetrics(registry, targets);
  reconcileMetrics(registry, reconciles);
}

/** Per entity and target, the newest completed reconcile that checked the target (absent before the first). */
function reconcileMetrics(registry: Registry, rows: LastReconcileRow[]) {
  add(
    registry,
    'syncflow_reconcile_differences',
    'Differences the last completed reconcile of the target found: kind="missing" (in the source, not the target), ' +
      '"extra" (in the target, not the source), "different" (same key, other data hash), "orphans" (children whose ' +
      'parent the target lacks), "identity_mismatch" (the identity store disagrees with the target).',
    'gauge',
    rows.flatMap((r) =>
      RECONCILE_DIFFERENCE_KINDS.map((kind) => ({
        labels: { entity: r.entity, target: r.target, kind },
        value: r[kind],
      })),
    ),
  );
  add(
    registry,
    'syncflow_reconcile_last_clean',
    '1 when the last completed reconcile of the target found it clean, 0 otherwise.',
    'gauge',
    rows.map((r) => ({ labels: { entity: r.entity, target: r.target }, value: r.clean ? 1 : 0 })),
  );
  add(
    registry,
    'syncflow_reconcile_last_completed_timestamp_seconds',
    'Unix time the last completed reconcile of the target finished (how old the two gauges above are).',
    'gauge',
    rows.map((r) => ({ labels: { entity: r.entity, target: r.target }, value: r.finishedAtMs / 1000 })),
  );
}

const TARGET_STATUSES = ['synced', 'pending', 'failed', 'deleted', 'abandoned'] as const;

/** Per entity and target: the identity store's records by status, and the DLQ records abandoned for the target. */
function targetMetrics(registry: Registry, targets: TargetCounts[]) {
  add(
    registry,
    'syncflow_target_records',
    "Records per entity and target: the identity store's rows by status (deleted rows apart, whatever their status) " +
      'and, status="abandoned", unresolved DLQ records of the target that used up their replays.',
    'gauge',
    targets.flatMap((t) =>
      TARGET_STATUSES.map((status) => ({ labels: { entity: t.entity, target: t.target, status }, value: t[status] })),
    ),
  );
}

/** Multi-day background loads (one per entity): progress, state and the next window opening. */
function backgroundMetrics(registry: Registry, loads: BackgroundLoadRow[]) {
  add(
    registry,
    'syncflow_background_rows_done',
    "Rows a background load has read so far (tracked pages; the load's offset moves with them).",
    'gauge',
    loads.map((l) => ({ labels: { entity: l.entity }, value: l.rowsDone })),
  );
  add(
    registry,
    'syncflow_background_rows_estimated',
    "The source's row estimate a background load plans its nights with (absent until it first plans).",
    'gauge',
    loads.flatMap((l) => (l.rowsEstimated === null ? [] : [{ labels: { entity: l.entity }, value: l.rowsEstimated }])),
  );
  add(
    registry,
    'syncflow_background_nights',
    'Nights a background load has read in (kind="used") and the nights it should take (kind="planned").',
    'gauge',
    loads.flatMap((l) => [
      { labels: { entity: l.entity, kind: 'used' }, value: l.nightsUsed },
      { labels: { entity: l.entity, kind: 'planned' }, value: l.targetDays },
    ]),
  );
  add(
    registry,
    'syncflow_background_state',
    'State of each background load: 1 for its current state, 0 for the others.',
    'gauge',
    loads.flatMap((l) =>
      BACKGROUND_STATES.map((state) => ({ labels: { entity: l.entity, state }, value: l.state === state ? 1 : 0 })),
    ),
  );
  add(
    registry,
    'syncflow_background_window_open',
    '1 while a background load under way is inside its window, 0 outside it.',
    'gauge',
    loads.flatMap((l) =>
      l.windowOpen === null ? [] : [{ labels: { entity: l.entity }, value: l.windowOpen ? 1 : 0 }],
    ),
  );
  add(
    registry,
    'syncflow_background_next_window_open_timestamp_seconds',
    'Unix time of the next opening of the window of a background load under way (after the current one, while it is open).',
    'gauge',
    loads.flatMap((l) =>
      l.nextWindowOpensAtMs === null ? [] : [{ labels: { entity: l.entity }, value: l.nextWindowOpensAtMs / 1000 }],
    ),
  );
}

export async function renderMetrics(prisma: Prisma): Promise<{ contentType: string; text: string }> {
  const scrape = new Registry();
  let up = 1;
  try {
    await databaseMetrics(prisma, scrape);
  } catch (error) {
    // A scrape still answers (process metrics, database_up 0): Prometheus alerts on the gauge, not on a failed scrape.
    up = 0;
    log.warn({ err: error }, 'metrics: database figures unavailable');
  }
  add(scrape, 'syncflow_database_up', "1 when the database answered this scrape's queries.", 'gauge', [
    { labels: {}, value: up },
  ]);
  const merged = Registry.merge([defaults(), scrape]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
