import type pg from 'pg';
import {
  emptyProgress,
  emptySourceSummary,
  type ReconcileProgress,
  type ReconcileReportView,
  type ReconcileSourceSummary,
  type ReconcileStatus,
  type ReconcileTargetReport,
} from '../pipeline/reconcile/types.ts';
import { jsonb } from './jsonb.ts';
import type { Prisma } from './prisma.ts';

/**
 * Reconcile reports (reconcile_reports) and the normalized source of a running reconcile
 * (reconcile_source_records): workflows/reconcile.ts writes them, control/reconciles.ts reads them.
 * Hashes are lowercase hex text, as the PostgreSQL target stores them, so both sides of a segment comparison
 * use one SQL expression (SEGMENT_CHECKSUM_SQL).
 */
type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

interface ReportRow {
  uid: string;
  entity_name: string;
  status: string;
  repair: boolean;
  sample: number | null;
  workflow_id: string;
  progress: unknown;
  source: unknown;
  targets: unknown;
  clean: boolean | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
}

interface PrismaReportRow {
  uid: string;
  entityName: string;
  status: string;
  repair: boolean;
  sample: number | null;
  workflowId: string;
  progress: unknown;
  source: unknown;
  targets: unknown;
  clean: boolean | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
}

const asObject = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});

/** The progress as the API shows it (the row also keeps the source read's resume state). */
function progressView(stored: Partial<ReconcileProgress>): ReconcileProgress {
  const empty = emptyProgress();
  return {
    phase: stored.phase ?? empty.phase,
    sourceRows: stored.sourceRows ?? 0,
    segmentsChecked: stored.segmentsChecked ?? 0,
    segmentsTotal: stored.segmentsTotal ?? 0,
  };
}

export function reportView(row: PrismaReportRow): ReconcileReportView {
  return {
    uid: row.uid,
    entityName: row.entityName,
    status: row.status as ReconcileStatus,
    repair: row.repair,
    sample: row.sample,
    workflowId: row.workflowId,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    durationMs: row.durationMs,
    clean: row.clean,
    error: row.error,
    progress: progressView(asObject(row.progress) as Partial<ReconcileProgress>),
    source: { ...emptySourceSummary(), ...(asObject(row.source) as Partial<ReconcileSourceSummary>) },
    targets: Array.isArray(row.targets) ? (row.targets as ReconcileTargetReport[]) : [],
  };
}

const fromSql = (row: ReportRow): PrismaReportRow => ({
  uid: row.uid,
  entityName: row.entity_name,
  status: row.status,
  repair: row.repair,
  sample: row.sample,
  workflowId: row.workflow_id,
  progress: row.progress,
  source: row.source,
  targets: row.targets,
  clean: row.clean,
  error: row.error,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  durationMs: row.duration_ms,
});

export interface NewReport {
  uid: string;
  entityName: string;
  repair: boolean;
  sample: number | null;
  workflowId: string;
}

/** The report row, status running (control/reconciles.ts before it starts the workflow). */
export async function createReport(prisma: Prisma, report: NewReport): Promise<ReconcileReportView> {
  const row = await prisma.reconcileReport.create({
    // Milliseconds only (a JS Date's precision), so the list's keyset cursor compares exactly.
    data: { ...report, status: 'running', startedAt: new Date(), progress: jsonbObject(emptyProgress()) },
  });
  return reportView(row);
}

const jsonbObject = (value: object) => JSON.parse(JSON.stringify(value)) as object;

/**
 * Opens the report idempotently (the workflow's first activity): inserts it when absent (a parent workflow
 * started the reconcile), and answers the stored row either way.
 */
export async function openReport(db: Queryable, report: NewReport): Promise<ReconcileReportView> {
  await db.query(
    `INSERT INTO reconcile_reports (uid, entity_name, status, repair, sample, workflow_id, progress, started_at)
     VALUES ($1::uuid, $2, 'running', $3, $4, $5, $6::jsonb, date_trunc('milliseconds', now()))
     ON CONFLICT (uid) DO NOTHING`,
    [report.uid, report.entityName, report.repair, report.sample, report.workflowId, jsonb(emptyProgress())],
  );
  const stored = await readReport(db, report.uid);
  if (!stored) throw new Error(`reconcile report ${report.uid} vanished`);
  return stored;
}

export async function readReport(db: Queryable, uid: string): Promise<ReconcileReportView | null> {
  const { rows } = await db.query<ReportRow>('SELECT * FROM reconcile_reports WHERE uid = $1::uuid', [uid]);
  return rows[0] ? reportView(fromSql(rows[0])) : null;
}

export async function getReport(prisma: Prisma, uid: string): Promise<ReconcileReportView | null> {
  const row = await prisma.reconcileReport.findUnique({ where: { uid } });
  return row ? reportView(row) : null;
}

/** Reports newest first, after `after` (a report uid: keyset on (started_at, uid)). */
export async function listReports(
  prisma: Prisma,
  options: { entity?: string | undefined; limit: number; after?: { startedAt: Date; uid: string } | undefined },
): Promise<{ rows: ReconcileReportView[]; hasMore: boolean }> {
  const after = options.after;
  const rows = await prisma.reconcileReport.findMany({
    where: {
      ...(options.entity ? { entityName: options.entity } : {}),
      ...(after
        ? {
            OR: [{ startedAt: { lt: after.startedAt } }, { startedAt: after.startedAt, uid: { lt: after.uid } }],
          }
        : {}),
    },
    orderBy: [{ startedAt: 'desc' }, { uid: 'desc' }],
    take: options.limit + 1,
  });
  return { rows: rows.slice(0, options.limit).map(reportView), hasMore: rows.length > options.limit };
}

/** Running reports of an entity (a running reconcile refuses a second). */
export async function runningReports(prisma: Prisma, entityName: string) {
  return prisma.reconcileReport.findMany({
    where: { entityName, status: 'running' },
    select: { uid: true, workflowId: true },
  });
}

/** A running report whose workflow is gone (terminated by hand): closed as failed. */
export async function closeStaleReport(prisma: Prisma, uid: string): Promise<void> {
  await prisma.reconcileReport.updateMany({
    where: { uid, status: 'running' },
    data: {
      status: 'failed',
      error: 'the reconcile workflow ended without closing its report',
      finishedAt: new Date(),
    },
  });
}

export async function setReportStatus(
  db: Queryable,
  uid: string,
  status: ReconcileStatus,
  error: string | null = null,
): Promise<void> {
  await db.query(
    `UPDATE reconcile_reports SET status = $2, error = coalesce($3, error),
       finished_at = CASE WHEN $2 = 'running' THEN NULL ELSE now() END,
       duration_ms = CASE WHEN $2 = 'running' THEN NULL
                          ELSE (extract(epoch FROM now() - started_at) * 1000)::int END
     WHERE uid = $1::uuid`,
    [uid, status, error],
  );
}

/** Writes whichever parts of the report changed. */
export async function updateReport(
  db: Queryable,
  uid: string,
  parts: {
    progress?: Partial<ReconcileProgress>;
    source?: ReconcileSourceSummary;
    targets?: ReconcileTargetReport[];
    clean?: boolean | null;
  },
): Promise<void> {
  await db.query(
    `UPDATE reconcile_reports SET
       progress = CASE WHEN $2::jsonb IS NULL THEN progress ELSE progress || $2::jsonb END,
       source = coalesce($3::jsonb, source),
       targets = coalesce($4::jsonb, targets),
       clean = CASE WHEN $5::boolean IS NULL AND NOT $6 THEN clean ELSE $5::boolean END
     WHERE uid = $1::uuid`,
    [
      uid,
      parts.progress ? jsonb(parts.progress) : null,
      parts.source ? jsonb(parts.source) : null,
      parts.targets ? jsonb(parts.targets) : null,
      parts.clean ?? null,
      'clean' in parts,
    ],
  );
}
