import type pg from 'pg';
import { type SegmentQuery, segmentChecksumsOf, segmentRowsOf } from '../connectors/postgres/segments.ts';
import { type KeyedRecord, UNSYNCABLE } from '../pipeline/reconcile/compare.ts';
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
  started_at: Date | string;
  finished_at: Date | string | null;
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
  // This process's pools may hand timestamps over as text.
  startedAt: new Date(row.started_at),
  finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
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

/** The entity's newest completed report (the parity gate of a promotion), or null. */
export async function newestCompletedReport(prisma: Prisma, entityName: string): Promise<ReconcileReportView | null> {
  const row = await prisma.reconcileReport.findFirst({
    where: { entityName, status: 'completed' },
    orderBy: [{ startedAt: 'desc' }, { uid: 'desc' }],
  });
  return row ? reportView(row) : null;
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
    `UPDATE reconcile_reports SET status = $2::text, error = coalesce($3::text, error),
       finished_at = CASE WHEN $2::text = 'running' THEN NULL ELSE now() END,
       duration_ms = CASE WHEN $2::text = 'running' THEN NULL
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

// ---- The normalized source of a running reconcile (reconcile_source_records) ----

/** What the source read keeps between attempts (in the report's progress): where it stands. */
export interface SourceReadState {
  sourceCursor: string | null;
  sourceDone: boolean;
  sourceRows: number;
  unsyncable: number;
}

export async function readSourceState(db: Queryable, uid: string): Promise<SourceReadState> {
  const { rows } = await db.query<{ progress: Partial<SourceReadState> | null }>(
    'SELECT progress FROM reconcile_reports WHERE uid = $1::uuid',
    [uid],
  );
  const p = rows[0]?.progress ?? {};
  return {
    sourceCursor: p.sourceCursor ?? null,
    sourceDone: p.sourceDone === true,
    sourceRows: p.sourceRows ?? 0,
    unsyncable: p.unsyncable ?? 0,
  };
}

/** One normalized source record: `parents` as `<parent entity>:<parent bk_hash>`. */
export interface SourceRecord {
  bkHash: string;
  dataHash: string;
  refStr: string | null;
  parents: string[] | null;
}

/**
 * One page of the source: its records (a bk_hash seen again replaces the earlier one, as DELTA lets the last
 * occurrence win) and the read's new position, in one transaction, so a retried read continues after it.
 */
export async function storeSourcePage(
  pool: pg.Pool,
  uid: string,
  records: readonly SourceRecord[],
  state: SourceReadState,
): Promise<void> {
  const last = new Map<string, SourceRecord>();
  for (const record of records) last.set(record.bkHash, record);
  const page = [...last.values()];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (page.length > 0) {
      await client.query(
        `INSERT INTO reconcile_source_records (report_uid, bk_hash, data_hash, ref_str, parent_hashes)
         SELECT $1::uuid, r.bk_hash, r.data_hash, r.ref_str, r.parents
           FROM jsonb_to_recordset($2::jsonb) AS r(bk_hash text, data_hash text, ref_str text, parents text[])
         ON CONFLICT (report_uid, bk_hash) DO UPDATE
           SET data_hash = EXCLUDED.data_hash, ref_str = EXCLUDED.ref_str, parent_hashes = EXCLUDED.parent_hashes`,
        [
          uid,
          jsonb(page.map((r) => ({ bk_hash: r.bkHash, data_hash: r.dataHash, ref_str: r.refStr, parents: r.parents }))),
        ],
      );
    }
    await client.query('UPDATE reconcile_reports SET progress = progress || $2::jsonb WHERE uid = $1::uuid', [
      uid,
      jsonb(state),
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** The source read starts over (a first attempt): any records of an earlier, unrecorded attempt go. */
export async function clearSourceRecords(db: Queryable, uid: string): Promise<void> {
  await db.query('DELETE FROM reconcile_source_records WHERE report_uid = $1::uuid', [uid]);
}

/** Every record of the work table, unsyncable ones included (what a lookup target's batches read). */
export async function countAllSourceRecords(db: Queryable, uid: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM reconcile_source_records WHERE report_uid = $1::uuid',
    [uid],
  );
  return Number(rows[0]!.n);
}

export async function countSourceRecords(db: Queryable, uid: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM reconcile_source_records WHERE report_uid = $1::uuid AND data_hash <> '${UNSYNCABLE}'`,
    [uid],
  );
  return Number(rows[0]!.n);
}

const sourceSegments = (uid: string): SegmentQuery => ({
  from: 'reconcile_source_records',
  keyColumn: 'bk_hash',
  dataColumn: 'data_hash',
  refColumn: 'ref_str',
  where: ['report_uid = $1::uuid'],
  params: [uid],
});

/** The source side's segment checksums: the very expression the PostgreSQL target computes. */
export function sourceSegmentChecksums(db: Queryable, uid: string, prefixLength: number, within?: readonly string[]) {
  return segmentChecksumsOf(db, sourceSegments(uid), prefixLength, within);
}

export function sourceSegmentRows(db: Queryable, uid: string, prefixes: readonly string[]) {
  return segmentRowsOf(db, sourceSegments(uid), prefixes);
}

/** Source records in bk_hash order after `after` (the lookup method's batches). */
export async function sourceRecordsAfter(
  db: Queryable,
  uid: string,
  after: string | null,
  limit: number,
): Promise<KeyedRecord[]> {
  const { rows } = await db.query<{ bk_hash: string; data_hash: string; ref_str: string | null }>(
    `SELECT bk_hash, data_hash, ref_str FROM reconcile_source_records
      WHERE report_uid = $1::uuid AND ($2::text IS NULL OR bk_hash > $2)
      ORDER BY bk_hash LIMIT ${Math.trunc(limit)}`,
    [uid, after],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, dataHash: r.data_hash, refStr: r.ref_str }));
}

/** A random sample of `size` source records (the sample method). */
export async function sampleSourceRecords(db: Queryable, uid: string, size: number): Promise<KeyedRecord[]> {
  const { rows } = await db.query<{ bk_hash: string; data_hash: string; ref_str: string | null }>(
    `SELECT bk_hash, data_hash, ref_str FROM reconcile_source_records
      WHERE report_uid = $1::uuid AND data_hash <> '${UNSYNCABLE}' ORDER BY random() LIMIT ${Math.trunc(size)}`,
    [uid],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, dataHash: r.data_hash, refStr: r.ref_str }));
}

/** The source records of `bkHashes` (what a repaired key should now hold on the target). */
export async function sourceRecordsOf(db: Queryable, uid: string, bkHashes: readonly string[]): Promise<KeyedRecord[]> {
  if (bkHashes.length === 0) return [];
  const { rows } = await db.query<{ bk_hash: string; data_hash: string; ref_str: string | null }>(
    `SELECT bk_hash, data_hash, ref_str FROM reconcile_source_records
      WHERE report_uid = $1::uuid AND bk_hash = ANY($2::text[])`,
    [uid, [...bkHashes]],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, dataHash: r.data_hash, refStr: r.ref_str }));
}

/** Source records of a child entity with their parents (`<entity>:<bk_hash>`). */
export async function sourceParents(
  db: Queryable,
  uid: string,
): Promise<Array<{ bkHash: string; refStr: string | null; parents: string[] }>> {
  const { rows } = await db.query<{ bk_hash: string; ref_str: string | null; parent_hashes: string[] }>(
    `SELECT bk_hash, ref_str, parent_hashes FROM reconcile_source_records
      WHERE report_uid = $1::uuid AND cardinality(parent_hashes) > 0 ORDER BY bk_hash`,
    [uid],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, refStr: r.ref_str, parents: r.parent_hashes }));
}

/**
 * Statistics for the work table once the source is in it. Without them the planner takes the freshly filled
 * table for a few rows and runs the identity-store anti-joins as nested loops over every pair: 22.7 s for
 * 10,000 source rows, 14 ms after ANALYZE (EXPLAIN ANALYZE, bench/lib/reconcile.ts with BENCH_RECONCILE_TRACE=1).
 */
export async function analyzeSourceRecords(db: Queryable): Promise<void> {
  await db.query('ANALYZE reconcile_source_records');
}

export async function dropSourceRecords(db: Queryable, uid: string): Promise<void> {
  await clearSourceRecords(db, uid);
}

// ---- The identity store against the source (read-only) ----

const STREAM = '(SELECT id FROM identity_streams WHERE entity_name = $2 AND target_name = $3)';
/** What the store calls held by the target: synced and not deleted. */
const STORE_HOLDS = `ir.sync_status = 'synced' AND ir.deleted_at IS NULL`;

/** Keys the store says the target holds that the normalized source lacks. */
export async function heldNotInSource(
  db: Queryable,
  uid: string,
  entityName: string,
  targetName: string,
): Promise<KeyedRecord[]> {
  const { rows } = await db.query<{ bk_hash: string; data_hash: string; ref_str: string | null }>(
    `SELECT encode(ir.bk_hash, 'hex') AS bk_hash, encode(ir.data_hash, 'hex') AS data_hash, ir.ref_str
       FROM identity_records ir
      WHERE ir.stream_id = ${STREAM} AND ${STORE_HOLDS}
        AND NOT EXISTS (SELECT 1 FROM reconcile_source_records s
                         WHERE s.report_uid = $1::uuid AND s.bk_hash = encode(ir.bk_hash, 'hex'))
      ORDER BY ir.bk_hash`,
    [uid, entityName, targetName],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, dataHash: r.data_hash, refStr: r.ref_str }));
}

/** Source keys the store does not call held by the target (never synced, failed, deleted). */
export async function sourceNotHeld(
  db: Queryable,
  uid: string,
  entityName: string,
  targetName: string,
): Promise<Set<string>> {
  const { rows } = await db.query<{ bk_hash: string }>(
    `SELECT s.bk_hash FROM reconcile_source_records s
      WHERE s.report_uid = $1::uuid AND s.data_hash <> '${UNSYNCABLE}'
        AND NOT EXISTS (SELECT 1 FROM identity_records ir
                         WHERE ir.stream_id = ${STREAM} AND ir.bk_hash = decode(s.bk_hash, 'hex') AND ${STORE_HOLDS})`,
    [uid, entityName, targetName],
  );
  return new Set(rows.map((r) => r.bk_hash));
}

// ---- Repair: queue differences for the normal write path ----

const hexBytes = (hashes: readonly string[]) => hashes.map((h) => Buffer.from(h, 'hex'));
const isHash = (text: string | null): text is string => !!text && /^(?:[0-9a-f]{2})+$/.test(text);

/**
 * Missing and different keys: their identity rows say `failed` (sync_error `reconcile: <kind>`) with no source
 * hash, so the next sync's unchanged-source screen does not set them aside and DELTA, finding no version the
 * target holds, sends them again (INSERT; the target upserts a row it already holds). Keys the store has no row
 * for are sent anyway. Returns how many rows were marked.
 */
export async function markForResend(
  db: Queryable,
  entityName: string,
  targetName: string,
  keys: ReadonlyArray<{ bkHash: string; kind: 'missing' | 'different' }>,
): Promise<number> {
  if (keys.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE identity_records ir
        SET sync_status = 'failed', sync_error = 'reconcile: ' || t.kind, source_hash = NULL
       FROM unnest($3::bytea[], $4::text[]) AS t(bk_hash, kind)
      WHERE ir.stream_id = (SELECT id FROM identity_streams WHERE entity_name = $1 AND target_name = $2)
        AND ir.bk_hash = t.bk_hash`,
    [entityName, targetName, hexBytes(keys.map((k) => k.bkHash)), keys.map((k) => k.kind)],
  );
  return rowCount ?? 0;
}

/**
 * Extra keys under a hard or soft delete policy: the store holds them as synced and not deleted, so the next
 * full sync, not seeing them in the source, deletes them from the target (its delete pass, each target its own
 * candidates).
 */
export async function holdForDelete(
  db: Queryable,
  entityName: string,
  targetName: string,
  keys: readonly KeyedRecord[],
): Promise<number> {
  const usable = keys.filter((k) => isHash(k.bkHash));
  if (usable.length === 0) return 0;
  await db.query('INSERT INTO identity_streams (entity_name, target_name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    entityName,
    targetName,
  ]);
  const { rowCount } = await db.query(
    `INSERT INTO identity_records (stream_id, bk_hash, data_hash, ref_str, sync_status, sync_error, synced_at)
     SELECT (SELECT id FROM identity_streams WHERE entity_name = $1 AND target_name = $2), t.bk_hash, t.data_hash,
            t.ref_str, 'synced', NULL, now()
       FROM unnest($3::bytea[], $4::bytea[], $5::text[]) AS t(bk_hash, data_hash, ref_str)
     ON CONFLICT (stream_id, bk_hash) DO UPDATE
       SET sync_status = 'synced', sync_error = NULL, deleted_at = NULL`,
    [
      entityName,
      targetName,
      hexBytes(usable.map((k) => k.bkHash)),
      usable.map((k) => (isHash(k.dataHash) ? Buffer.from(k.dataHash, 'hex') : Buffer.alloc(32))),
      usable.map((k) => k.refStr),
    ],
  );
  return rowCount ?? 0;
}

/** Adds to the progress's segment counts (segments, or lookup batches, of every target). */
export async function addSegmentProgress(
  db: Queryable,
  uid: string,
  add: { total?: number; checked?: number },
): Promise<void> {
  await db.query(
    `UPDATE reconcile_reports SET progress = progress || jsonb_build_object(
       'segmentsTotal', coalesce((progress->>'segmentsTotal')::int, 0) + $2::int,
       'segmentsChecked', coalesce((progress->>'segmentsChecked')::int, 0) + $3::int)
     WHERE uid = $1::uuid`,
    [uid, Math.trunc(add.total ?? 0), Math.trunc(add.checked ?? 0)],
  );
}

/** Replaces one target's entry in the report's targets (or appends it). */
export async function saveTargetReport(db: Queryable, uid: string, report: ReconcileTargetReport): Promise<void> {
  await db.query(
    `UPDATE reconcile_reports SET targets =
       (SELECT coalesce(jsonb_agg(t ORDER BY t->>'target'), '[]'::jsonb)
          FROM (SELECT t FROM jsonb_array_elements(targets) t WHERE t->>'target' <> $2
                UNION ALL SELECT $3::jsonb) AS all_targets(t))
     WHERE uid = $1::uuid`,
    [uid, report.target, jsonb(report)],
  );
}
