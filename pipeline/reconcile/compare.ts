import { FIRST_KEYS, type ReconcileFirstKeys, type ReconcileKey, type ReconcileTargetReport } from './types.ts';

/**
 * The pure part of a reconcile: how finely to segment the key space, which segments differ, the key-level diff
 * of one segment's two sides, and whether a target's report is clean. The database work (checksums per segment,
 * rows of a segment) is db/reconcile.ts's on the source side and the target connector's on the target side; both
 * compute the same checksum (connectors/postgres/segments.ts's SQL expression).
 */

/** One segment's summary: how many live records whose bk_hash (hex) starts with the prefix, and their checksum. */
export interface SegmentSummary {
  count: number;
  /** Sum of a 60-bit integer per record (from md5 of `bk_hash:data_hash`), as decimal text (it exceeds 2^53). */
  checksum: string;
}

/** Rows per segment a comparison aims at (a differing segment is read key by key). */
export const TARGET_ROWS_PER_SEGMENT = 500;
/** The longest prefix (in hex digits) a comparison segments by. */
export const MAX_PREFIX_LENGTH = 8;

/** The prefix length (hex digits, 1..MAX) that gives about TARGET_ROWS_PER_SEGMENT rows per segment for `rows` rows. */
export function prefixLengthFor(rows: number, rowsPerSegment = TARGET_ROWS_PER_SEGMENT): number {
  const segments = Math.max(1, rows / rowsPerSegment);
  return Math.min(MAX_PREFIX_LENGTH, Math.max(1, Math.ceil(Math.log(segments) / Math.log(16))));
}

/** The prefixes whose segments differ: present on one side only, or with another count or checksum. Sorted. */
export function differingSegments(
  source: ReadonlyMap<string, SegmentSummary>,
  target: ReadonlyMap<string, SegmentSummary>,
): string[] {
  const differ = new Set<string>();
  for (const [prefix, s] of source) {
    const t = target.get(prefix);
    if (!t || t.count !== s.count || t.checksum !== s.checksum) differ.add(prefix);
  }
  for (const prefix of target.keys()) if (!source.has(prefix)) differ.add(prefix);
  return [...differ].sort();
}

/** The records differing segments hold, per side, when the comparison decides to read them or segment further. */
export function rowsIn(prefixes: readonly string[], side: ReadonlyMap<string, SegmentSummary>): number {
  let n = 0;
  for (const prefix of prefixes) n += side.get(prefix)?.count ?? 0;
  return n;
}

/**
 * Records read key by key at most per step; differing segments holding more are segmented further first. A finer
 * checksum scans both tables (it groups by prefix), while a read costs its rows (an index range where the key
 * compares bytewise), so a bisection round only pays when it spares reading many more rows than this: 100
 * scattered differences in 1M records (about 24,000 records in their segments) are read at once.
 */
export const MAX_ROWS_PER_READ = 50_000;

/**
 * Whether to split the differing segments 256 ways before reading them: they hold more records than one read, a
 * finer prefix exists, and they are at most half the segments compared. When most segments differ (a wiped or
 * rebuilt target) the finer ones would differ just the same, and each round would only cost a scan of both sides.
 */
export function shouldBisect(
  differ: readonly string[],
  source: ReadonlyMap<string, SegmentSummary>,
  target: ReadonlyMap<string, SegmentSummary>,
  prefixLength: number,
  maxRows = MAX_ROWS_PER_READ,
): boolean {
  if (differ.length === 0 || prefixLength + 2 > MAX_PREFIX_LENGTH) return false;
  if (rowsIn(differ, source) + rowsIn(differ, target) <= maxRows) return false;
  const compared = new Set([...source.keys(), ...target.keys()]).size;
  return differ.length * 2 <= compared;
}

/** One record as either side lists it. */
export interface KeyedRecord {
  bkHash: string;
  dataHash: string | null;
  refStr: string | null;
}

export interface KeyDiff {
  /** In the source, not in the target. */
  missing: KeyedRecord[];
  /** In the target, not in the source. */
  extra: KeyedRecord[];
  /** Same bk_hash, other data_hash (the source's record: its reference). */
  different: KeyedRecord[];
  /** Keys both sides hold with the same data_hash. */
  matching: number;
}

/**
 * The data_hash a source record carries when its row fails NORMALIZE / VALIDATE (its key still computes): it
 * belongs in the DLQ, not in a target, and the sync never deletes what a target holds of it (a failed row is
 * still seen). Such a record is neither missing nor different, and a target holding it is no extra.
 */
export const UNSYNCABLE = '-';

/** The key-level diff of two sides of the same segments. Each list sorted by bk_hash. */
export function diffKeys(source: Iterable<KeyedRecord>, target: Iterable<KeyedRecord>): KeyDiff {
  const targetBy = new Map<string, KeyedRecord>();
  for (const record of target) targetBy.set(record.bkHash, record);
  const diff: KeyDiff = { missing: [], extra: [], different: [], matching: 0 };
  const seen = new Set<string>();
  for (const record of source) {
    seen.add(record.bkHash);
    if (record.dataHash === UNSYNCABLE) continue;
    const held = targetBy.get(record.bkHash);
    if (!held) diff.missing.push(record);
    else if ((held.dataHash ?? '') !== (record.dataHash ?? ''))
      diff.different.push({ ...record, refStr: record.refStr ?? held.refStr });
    else diff.matching++;
  }
  for (const [bkHash, record] of targetBy) if (!seen.has(bkHash)) diff.extra.push(record);
  const byKey = (a: KeyedRecord, b: KeyedRecord) => (a.bkHash < b.bkHash ? -1 : a.bkHash > b.bkHash ? 1 : 0);
  diff.missing.sort(byKey);
  diff.extra.sort(byKey);
  diff.different.sort(byKey);
  return diff;
}

/** The first FIRST_KEYS keys of a list, as a report lists them. */
export const firstKeys = (records: readonly KeyedRecord[], n = FIRST_KEYS): ReconcileKey[] =>
  records.slice(0, n).map((r) => ({ bkHash: r.bkHash, refStr: r.refStr }));

export const emptyFirstKeys = (): ReconcileFirstKeys => ({ missing: [], extra: [], different: [], orphans: [] });

/**
 * Clean: no missing, extra, different or orphan record, no identity-store mismatch, and every segment verified.
 * A sample proves no more than its confidence: a sample with nothing found is clean for what it checked (the
 * report's `confidence` says how much that is).
 */
export function isClean(
  report: Pick<
    ReconcileTargetReport,
    'missing' | 'extra' | 'different' | 'orphans' | 'identityMismatch' | 'unverifiedSegments'
  >,
): boolean {
  return (
    report.missing === 0 &&
    report.extra === 0 &&
    report.different === 0 &&
    report.orphans === 0 &&
    report.identityMismatch === 0 &&
    report.unverifiedSegments.length === 0
  );
}

/** The report is clean when every target's is. */
export const allClean = (targets: ReadonlyArray<Pick<ReconcileTargetReport, 'clean'>>): boolean =>
  targets.every((t) => t.clean);
