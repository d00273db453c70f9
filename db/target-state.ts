import type { TargetConfig } from '../pipeline/connector-config.ts';
import type { EntityConfig } from '../pipeline/entity-config.ts';
import type { Prisma } from './prisma.ts';

/**
 * Per-target state of an entity (issue 13, part 4): what the identity store holds for each target, by status,
 * what the dead-letter queue holds for it, and the entity's last retry pass (its newest `replay` batch). Read by
 * GET /entities/:name/targets, `syncflow entities show` and the Prometheus scrape.
 *
 * Counting stays one pass over the store: one grouped statement, per entity (the API) or for all entities at
 * once (the scrape). Rows with `deleted_at` set are counted as `deleted` whatever their status (a delete keeps
 * `synced`), so the five store counts never overlap.
 */
export interface TargetCounts {
  entity: string;
  target: string;
  /** Identity-store rows, not deleted, by sync_status. */
  synced: number;
  pending: number;
  failed: number;
  /** Identity-store rows with deleted_at set. */
  deleted: number;
  /** Unresolved DLQ rows of the target that failed their last allowed replay (abandoned_at set). */
  abandoned: number;
  /** Unresolved DLQ rows of the target still to be retried (not abandoned). */
  deadLetters: number;
}

/** What an operator or automatic retry pass did, as the replay workflow stores it in `metrics.replay`. */
export interface ReplayFigures {
  trigger: 'operator' | 'retry' | null;
  selected: number | null;
  resolved: number | null;
  failedAgain: number | null;
  abandoned: number | null;
  /** A dry run's prediction (it resolves nothing): what would land, wait for a parent, still fail. */
  preview: { wouldResolve: number | null; wouldWait: number | null; wouldFail: number | null } | null;
}

export interface LastRetry {
  batchUid: string;
  status: string;
  /** A dry run: `replay.preview` says what it predicted; it resolved nothing. */
  dryRun: boolean;
  startedAt: Date | null;
  completedAt: Date | null;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  /** Null when the batch has no `metrics.replay` object (not written yet, or an older batch). */
  replay: ReplayFigures | null;
}

/**
 * The identity store grouped per (entity, target) in one pass, and the open DLQ rows per target beside it.
 * `$1` (when `byEntity`) names the entity; without it every stream and every target-specific DLQ row counts.
 */
const countsSql = (byEntity: boolean) => `
  WITH store AS (
    SELECT s.entity_name, s.target_name,
           count(*) FILTER (WHERE r.deleted_at IS NULL AND r.sync_status = 'synced')::float8 AS synced,
           count(*) FILTER (WHERE r.deleted_at IS NULL AND r.sync_status = 'pending')::float8 AS pending,
           count(*) FILTER (WHERE r.deleted_at IS NULL AND r.sync_status = 'failed')::float8 AS failed,
           count(*) FILTER (WHERE r.deleted_at IS NOT NULL)::float8 AS deleted
      FROM identity_streams s
      JOIN identity_records r ON r.stream_id = s.id
     ${byEntity ? 'WHERE s.entity_name = $1' : ''}
     GROUP BY s.entity_name, s.target_name),
  dlq AS (
    SELECT entity_name, target_name,
           count(*) FILTER (WHERE abandoned_at IS NOT NULL)::float8 AS abandoned,
           count(*) FILTER (WHERE abandoned_at IS NULL)::float8 AS "deadLetters"
      FROM failed_records
     WHERE resolved_at IS NULL AND target_name IS NOT NULL ${byEntity ? 'AND entity_name = $1' : ''}
     GROUP BY entity_name, target_name)
  SELECT entity_name AS entity, target_name AS target,
         coalesce(store.synced, 0) AS synced, coalesce(store.pending, 0) AS pending,
         coalesce(store.failed, 0) AS failed, coalesce(store.deleted, 0) AS deleted,
         coalesce(dlq.abandoned, 0) AS abandoned, coalesce(dlq."deadLetters", 0) AS "deadLetters"
    FROM store FULL JOIN dlq USING (entity_name, target_name)
   ORDER BY entity_name, target_name`;

const toCounts = (rows: Array<Record<string, unknown>>): TargetCounts[] =>
  rows.map((r) => ({
    entity: String(r.entity),
    target: String(r.target),
    synced: Number(r.synced),
    pending: Number(r.pending),
    failed: Number(r.failed),
    deleted: Number(r.deleted),
    abandoned: Number(r.abandoned),
    deadLetters: Number(r.deadLetters),
  }));

/** The counts of one entity's targets that have any (a target never written to has no row). */
export async function entityTargetCounts(prisma: Prisma, entityName: string): Promise<TargetCounts[]> {
  return toCounts(await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(countsSql(true), entityName));
}

/** The counts of every entity's targets, in one statement (the Prometheus scrape). */
export async function allTargetCounts(prisma: Prisma): Promise<TargetCounts[]> {
  return toCounts(await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(countsSql(false)));
}

const zeroTargetCounts = (entity: string, target: string): TargetCounts => ({
  entity,
  target,
  synced: 0,
  pending: 0,
  failed: 0,
  deleted: 0,
  abandoned: 0,
  deadLetters: 0,
});

const objectOrNull = (value: unknown): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
const numberOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

function previewFigures(value: unknown): ReplayFigures['preview'] {
  const preview = objectOrNull(value);
  if (!preview) return null;
  return {
    wouldResolve: numberOrNull(Number(preview.wouldResolve)),
    wouldWait: numberOrNull(Number(preview.wouldWait)),
    wouldFail: numberOrNull(Number(preview.wouldFail)),
  };
}

/** `metrics.replay` read defensively: null when it is not an object, each figure null when absent or not a number. */
export function replayFigures(metrics: unknown): ReplayFigures | null {
  const replay = objectOrNull(objectOrNull(metrics)?.replay);
  if (!replay) return null;
  return {
    trigger: replay.trigger === 'operator' || replay.trigger === 'retry' ? replay.trigger : null,
    selected: numberOrNull(replay.selected),
    resolved: numberOrNull(replay.resolved),
    failedAgain: numberOrNull(replay.failedAgain),
    abandoned: numberOrNull(replay.abandoned),
    preview: previewFigures(replay.preview),
  };
}

/** The entity's newest retry pass (sync_type `replay`), or null when it never had one. */
export async function lastRetryPass(prisma: Prisma, entityName: string): Promise<LastRetry | null> {
  const batch = await prisma.syncBatch.findFirst({
    where: { entityName, syncType: 'replay' },
    // uid is a UUIDv7: among batches created in the same instant, the later one.
    orderBy: [{ createdAt: 'desc' }, { uid: 'desc' }],
  });
  if (!batch) return null;
  return {
    batchUid: batch.uid,
    status: batch.status,
    dryRun: batch.dryRun,
    startedAt: batch.startedAt,
    completedAt: batch.completedAt,
    inserted: Number(batch.inserted),
    updated: Number(batch.updated),
    skipped: Number(batch.skipped),
    failed: Number(batch.failed),
    replay: replayFigures(batch.metrics),
  };
}

/** One configured target with its counts. */
export interface TargetState extends Omit<TargetCounts, 'entity' | 'target'> {
  name: string;
  type: string;
  role: TargetConfig['role'];
}

/**
 * The targets of the entity's configuration, primary first (then as declared), each with its counts (zero for
 * a target never written to), and the entity's last retry pass. Targets the configuration no longer names are
 * left out: their rows stay in the store for audit, and the scrape still counts them.
 */
export async function entityTargetState(
  prisma: Prisma,
  entity: { name: string; config: Pick<EntityConfig, 'targets'> },
): Promise<{ targets: TargetState[]; lastRetry: LastRetry | null }> {
  const [counts, lastRetry] = await Promise.all([
    entityTargetCounts(prisma, entity.name),
    lastRetryPass(prisma, entity.name),
  ]);
  const ordered = [
    ...entity.config.targets.filter((t) => t.role === 'primary'),
    ...entity.config.targets.filter((t) => t.role !== 'primary'),
  ];
  const targets = ordered.map((t) => {
    const {
      entity: _entity,
      target: _target,
      ...figures
    } = counts.find((c) => c.target === t.name) ?? zeroTargetCounts(entity.name, t.name);
    return { name: t.name, type: t.type, role: t.role, ...figures };
  });
  return { targets, lastRetry };
}
