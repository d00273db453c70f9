import type pg from 'pg';
import {
  recordChecksumSql,
  type SegmentQuery,
  segmentChecksumsOf,
  segmentChecksumsSql,
  segmentRowsOf,
} from '../connectors/postgres/segments.ts';
import { type KeyedRecord, type SegmentSummary, UNSYNCABLE } from '../pipeline/reconcile/compare.ts';
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
import { inTransaction } from './transaction.ts';

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

/** One target's segment counts as stored (setSegmentProgress). */
interface TargetSegmentCounts {
  total: number;
  checked: number;
}

/**
 * The progress as the API shows it (the row also keeps the source read's resume state): the segment counts are
 * the sums of the targets' (`segments`); a report from before they were kept per target has the sums only.
 */
function progressView(
  stored: Partial<ReconcileProgress> & { segments?: Record<string, TargetSegmentCounts> },
): ReconcileProgress {
  const empty = emptyProgress();
  const perTarget = stored.segments ? Object.values(stored.segments) : null;
  const sum = (key: keyof TargetSegmentCounts) => perTarget?.reduce((n, t) => n + t[key], 0);
  return {
    phase: stored.phase ?? empty.phase,
    sourceRows: stored.sourceRows ?? 0,
    segmentsChecked: sum('checked') ?? stored.segmentsChecked ?? 0,
    segmentsTotal: sum('total') ?? stored.segmentsTotal ?? 0,
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
  await inTransaction(pool, async (client) => {
    if (page.length > 0) {
      await client.query(
        `INSERT INTO reconcile_source_records (report_uid, bk_hash, data_hash, ref_str, parent_hashes, checksum)
         SELECT $1::uuid, r.bk_hash, r.data_hash, r.ref_str, r.parents, ${recordChecksumSql('r.bk_hash', 'r.data_hash')}
           FROM jsonb_to_recordset($2::jsonb) AS r(bk_hash text, data_hash text, ref_str text, parents text[])
         ON CONFLICT (report_uid, bk_hash) DO UPDATE
           SET data_hash = EXCLUDED.data_hash, ref_str = EXCLUDED.ref_str, parent_hashes = EXCLUDED.parent_hashes,
               checksum = EXCLUDED.checksum`,
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
  });
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
  checksumColumn: 'checksum',
  where: ['report_uid = $1::uuid'],
  params: [uid],
});

/** The source side's segment checksums: the very expression the PostgreSQL target computes, stored per record. */
export function sourceSegmentChecksums(db: Queryable, uid: string, prefixLength: number, within?: readonly string[]) {
  return segmentChecksumsOf(db, sourceSegments(uid), prefixLength, within);
}

/**
 * The source's segment checksums at a comparison's first prefix length, kept (reconcile_source_segments): computed
 * once when the source read ends, so each target's comparison starts from them instead of scanning the work table.
 */
export async function keepSourceSegments(db: Queryable, uid: string, prefixLength: number): Promise<void> {
  const { text, params } = segmentChecksumsSql(sourceSegments(uid), prefixLength);
  await db.query('DELETE FROM reconcile_source_segments WHERE report_uid = $1::uuid', [uid]);
  await db.query(
    `INSERT INTO reconcile_source_segments (report_uid, prefix, count, checksum)
     SELECT $1::uuid, c.prefix, c.n, c.checksum FROM (${text}) AS c`,
    params,
  );
}

/** The kept segment checksums of that length; none kept (a reconcile from before they were): computed and kept. */
export async function keptSourceSegments(
  db: Queryable,
  uid: string,
  prefixLength: number,
): Promise<Map<string, SegmentSummary>> {
  const read = async () => {
    const { rows } = await db.query<{ prefix: string; count: number; checksum: string }>(
      `SELECT prefix, count, checksum FROM reconcile_source_segments
        WHERE report_uid = $1::uuid AND length(prefix) = $2::int`,
      [uid, Math.trunc(prefixLength)],
    );
    return new Map(rows.map((r) => [r.prefix, { count: r.count, checksum: r.checksum }]));
  };
  const kept = await read();
  if (kept.size > 0 || (await countAllSourceRecords(db, uid)) === 0) return kept;
  await keepSourceSegments(db, uid, prefixLength);
  return read();
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

/** A finished reconcile keeps its report only: its source records, segment checksums and difference keys go. */
export async function dropWorkRows(db: Queryable, uid: string): Promise<void> {
  await clearSourceRecords(db, uid);
  await db.query('DELETE FROM reconcile_source_segments WHERE report_uid = $1::uuid', [uid]);
  await db.query('DELETE FROM reconcile_differences WHERE report_uid = $1::uuid', [uid]);
}

// ---- The identity store against the source (read-only) ----

const STREAM = '(SELECT id FROM identity_streams WHERE entity_name = $2 AND target_name = $3)';
/** What the store calls held by the target: synced and not deleted. */
const STORE_HOLDS = `ir.sync_status = 'synced' AND ir.deleted_at IS NULL`;

/** The identity store against the normalized source, for one target. */
export interface StoreAgainstSource {
  /** Keys the store says the target holds that the normalized source lacks. */
  heldNotInSource: KeyedRecord[];
  /** Source keys (unsyncable ones aside) the store does not call held by the target (never synced, failed, deleted). */
  sourceNotHeld: Set<string>;
}

/** A 60-bit integer from a hex key's first 15 digits (keys are hashes: their bits are already spread). */
const keyTermSql = (hexKey: string) => `('x' || substr(${hexKey}, 1, 15))::bit(60)::bigint`;

/**
 * Both sides of the identity-store check. First the two key sets are compared by count and sum of key terms (one
 * aggregate over each, no join): when they agree, as they do for a target in step, no key is on one side only.
 * Otherwise a full join of the work table and the stream's held records keeps the keys on one side only.
 */
export async function storeAgainstSource(
  db: Queryable,
  uid: string,
  entityName: string,
  targetName: string,
): Promise<StoreAgainstSource> {
  const sums = await db.query<{
    source_n: string;
    source_sum: string | null;
    store_n: string;
    store_sum: string | null;
  }>(
    `SELECT s.n AS source_n, s.total AS source_sum, h.n AS store_n, h.total AS store_sum
       FROM (SELECT count(*) AS n, sum(${keyTermSql('bk_hash')})::text AS total
               FROM reconcile_source_records WHERE report_uid = $1::uuid AND data_hash <> '${UNSYNCABLE}') s,
            (SELECT count(*) AS n, sum(${keyTermSql("encode(substr(ir.bk_hash, 1, 8), 'hex')")})::text AS total
               FROM identity_records ir WHERE ir.stream_id = ${STREAM} AND ${STORE_HOLDS}) h`,
    [uid, entityName, targetName],
  );
  const agg = sums.rows[0]!;
  if (agg.source_n === agg.store_n && agg.source_sum === agg.store_sum) {
    return { heldNotInSource: [], sourceNotHeld: new Set() };
  }
  const { rows } = await db.query<{
    source_key: string | null;
    source_data: string | null;
    store_key: string | null;
    store_data: string | null;
    store_ref: string | null;
  }>(
    `SELECT s.bk_hash AS source_key, s.data_hash AS source_data,
            h.bk_hash AS store_key, h.data_hash AS store_data, h.ref_str AS store_ref
       FROM (SELECT bk_hash, data_hash FROM reconcile_source_records WHERE report_uid = $1::uuid) s
       FULL JOIN (SELECT encode(ir.bk_hash, 'hex') AS bk_hash, encode(ir.data_hash, 'hex') AS data_hash, ir.ref_str
                    FROM identity_records ir WHERE ir.stream_id = ${STREAM} AND ${STORE_HOLDS}) h
         ON h.bk_hash = s.bk_hash
      WHERE s.bk_hash IS NULL OR (h.bk_hash IS NULL AND s.data_hash <> '${UNSYNCABLE}')`,
    [uid, entityName, targetName],
  );
  const heldNotInSource: KeyedRecord[] = [];
  const sourceNotHeld = new Set<string>();
  for (const r of rows) {
    if (r.source_key === null)
      heldNotInSource.push({ bkHash: r.store_key!, dataHash: r.store_data, refStr: r.store_ref });
    else sourceNotHeld.add(r.source_key);
  }
  heldNotInSource.sort((a, b) => (a.bkHash < b.bkHash ? -1 : a.bkHash > b.bkHash ? 1 : 0));
  return { heldNotInSource, sourceNotHeld };
}

// ---- Repair: queue differences for the normal write path ----

/** The differences of one target, every key (reconcile_differences): what its repair works from. */
export interface TargetDifferences {
  missing: readonly KeyedRecord[];
  different: readonly KeyedRecord[];
  extra: readonly KeyedRecord[];
}

export type DifferenceKind = keyof TargetDifferences;

/** Rows per INSERT when the differences are kept (a wiped target has as many as the source has records). */
const DIFFERENCES_PER_INSERT = 50_000;

/** Keeps a target's differences (replacing what an earlier attempt kept), in one transaction. */
export async function keepDifferences(
  pool: pg.Pool,
  uid: string,
  target: string,
  differences: TargetDifferences,
): Promise<void> {
  const rows = (['missing', 'different', 'extra'] as const).flatMap((kind) =>
    differences[kind].map((r) => ({ ...r, kind })),
  );
  await inTransaction(pool, async (client) => {
    await client.query('DELETE FROM reconcile_differences WHERE report_uid = $1::uuid AND target = $2', [uid, target]);
    for (let i = 0; i < rows.length; i += DIFFERENCES_PER_INSERT) {
      const part = rows.slice(i, i + DIFFERENCES_PER_INSERT);
      await client.query(
        `INSERT INTO reconcile_differences (report_uid, target, bk_hash, kind, data_hash, ref_str)
         SELECT $1::uuid, $2, t.bk_hash, t.kind, t.data_hash, t.ref_str
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(bk_hash, kind, data_hash, ref_str)`,
        [
          uid,
          target,
          part.map((r) => r.bkHash),
          part.map((r) => r.kind),
          part.map((r) => r.dataHash),
          part.map((r) => r.refStr),
        ],
      );
    }
  });
}

/** How many differences of each kind a target has kept. */
export async function countDifferences(
  db: Queryable,
  uid: string,
  target: string,
): Promise<Record<DifferenceKind, number>> {
  const { rows } = await db.query<{ kind: DifferenceKind; n: number }>(
    `SELECT kind, count(*)::int AS n FROM reconcile_differences WHERE report_uid = $1::uuid AND target = $2 GROUP BY 1`,
    [uid, target],
  );
  const counts = { missing: 0, different: 0, extra: 0 };
  for (const r of rows) counts[r.kind] = r.n;
  return counts;
}

const IS_HASH = `'^([0-9a-f]{2})+$'`;

/**
 * Missing and different keys: their identity rows say `failed` (sync_error `reconcile: <kind>`) with no source
 * hash, so the next sync's unchanged-source screen does not set them aside and DELTA, finding no version the
 * target holds, sends them again (INSERT; the target upserts a row it already holds). Keys the store has no row
 * for are sent anyway. Returns how many rows were marked.
 */
export async function markDifferencesForResend(
  db: Queryable,
  uid: string,
  entityName: string,
  target: string,
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE identity_records ir
        SET sync_status = 'failed', sync_error = 'reconcile: ' || d.kind, source_hash = NULL
       FROM reconcile_differences d
      WHERE d.report_uid = $1::uuid AND d.target = $3 AND d.kind IN ('missing', 'different')
        AND d.bk_hash ~ ${IS_HASH}
        AND ir.stream_id = ${STREAM} AND ir.bk_hash = decode(d.bk_hash, 'hex')`,
    [uid, entityName, target],
  );
  return rowCount ?? 0;
}

/**
 * Extra keys under a hard or soft delete policy: the store holds them as synced and not deleted, so the next
 * full sync, not seeing them in the source, deletes them from the target (its delete pass, each target its own
 * candidates). Returns how many identity rows now hold them.
 */
export async function holdDifferencesForDelete(
  db: Queryable,
  uid: string,
  entityName: string,
  target: string,
): Promise<number> {
  await db.query('INSERT INTO identity_streams (entity_name, target_name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    entityName,
    target,
  ]);
  const { rowCount } = await db.query(
    `INSERT INTO identity_records (stream_id, bk_hash, data_hash, ref_str, sync_status, sync_error, synced_at)
     SELECT ${STREAM}, decode(d.bk_hash, 'hex'),
            CASE WHEN d.data_hash ~ ${IS_HASH} THEN decode(d.data_hash, 'hex') ELSE decode(repeat('00', 32), 'hex') END,
            d.ref_str, 'synced', NULL, now()
       FROM reconcile_differences d
      WHERE d.report_uid = $1::uuid AND d.target = $3 AND d.kind = 'extra' AND d.bk_hash ~ ${IS_HASH}
     ON CONFLICT (stream_id, bk_hash) DO UPDATE
       SET sync_status = 'synced', sync_error = NULL, deleted_at = NULL`,
    [uid, entityName, target],
  );
  return rowCount ?? 0;
}

/** A repaired key to re-read: what the target should now hold of it (the source's data hash), or null: nothing. */
export interface RepairedKey {
  bkHash: string;
  expected: string | null;
}

/** The differences of `kinds` after `after` in bk_hash order, with the source's data hash of each. */
export async function differencesAfter(
  db: Queryable,
  uid: string,
  target: string,
  kinds: readonly DifferenceKind[],
  after: string | null,
  limit: number,
): Promise<RepairedKey[]> {
  const { rows } = await db.query<{ bk_hash: string; expected: string | null }>(
    `SELECT d.bk_hash, s.data_hash AS expected
       FROM reconcile_differences d
       LEFT JOIN reconcile_source_records s ON s.report_uid = d.report_uid AND s.bk_hash = d.bk_hash
      WHERE d.report_uid = $1::uuid AND d.target = $2 AND d.kind = ANY($3::text[])
        AND ($4::text IS NULL OR d.bk_hash > $4)
      ORDER BY d.bk_hash LIMIT ${Math.trunc(limit)}`,
    [uid, target, [...kinds], after],
  );
  return rows.map((r) => ({ bkHash: r.bk_hash, expected: r.expected }));
}

/**
 * One target's segment counts (segments, or lookup batches): set, not added, so a comparison that is retried
 * (an activity attempt, a target compared again after it was down) counts its segments once. The report's
 * progress shows their sums over the targets (progressView).
 */
export async function setSegmentProgress(
  db: Queryable,
  uid: string,
  target: string,
  counts: TargetSegmentCounts,
): Promise<void> {
  await db.query(
    `UPDATE reconcile_reports SET progress = jsonb_set(progress, '{segments}',
       coalesce(progress->'segments', '{}'::jsonb)
         || jsonb_build_object($2::text, jsonb_build_object('total', $3::int, 'checked', $4::int)))
     WHERE uid = $1::uuid`,
    [uid, target, Math.trunc(counts.total), Math.trunc(counts.checked)],
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
