import type { DeclaredKind } from '../pipeline/declared-type.ts';
import type { KeyedRecord, SegmentSummary } from '../pipeline/reconcile/compare.ts';
import type { ApplyBatch } from '../pipeline/target-record.ts';
import type { RetryPolicy } from './http/backoff.ts';
import type { RetryEvent } from './http/json-client.ts';
import type { RateLimiterFactory } from './http/token-bucket.ts';
import type { ConnectorLogger } from './logger.ts';
import type { PoolRegistry } from './pools.ts';

/**
 * The contracts between SyncFlow's pipeline and the systems it reads from and
 * writes to. Every call is safe to retry: the sync workflow calls these from
 * Temporal activities, which may run twice.
 */

/** One column as the source declares it. */
export interface ColumnMeta {
  name: string;
  /** The source's own type name (`VARCHAR2(40)`, `numeric(12,2)`, `string`...). */
  sourceType: string;
  /** What normalization coerces by (pipeline/declared-type.ts). */
  kind: DeclaredKind;
  /** False when SyncFlow does not recognise `sourceType` (the value is then read as a string). */
  knownType: boolean;
  nullable?: boolean;
}

export type Row = Record<string, unknown>;

export interface FetchPageRequest {
  /** full: every row ordered by `keyColumns`; incremental: rows with rowversion > watermark, ordered by (rowversion, keys). */
  mode: 'full' | 'incremental';
  /** Columns that order rows uniquely (business or primary key). File sources keep file order and ignore them. */
  keyColumns: string[];
  /** Required for incremental reads. */
  rowversionColumn?: string;
  /** null for the first page; then the previous page's `nextCursor`. */
  cursor: string | null;
  /** Incremental only: the last fully accounted rowversion (null = from the beginning). */
  watermark?: string | null;
  pageSize: number;
  /** Stops the read promptly (an abort error) when it fires: the activity was cancelled. */
  signal?: AbortSignal;
}

export interface Page {
  rows: Row[];
  /** Hand back to read the next page; null when `done`. The same cursor always gives the same page. */
  nextCursor: string | null;
  done: boolean;
}

export interface StreamProgress {
  pages: number;
  rows: number;
  /** Rows held in memory right now (the current page plus the read-ahead buffer). */
  rowsHeld: number;
  peakRowsHeld: number;
}

export interface StreamRequest extends Omit<FetchPageRequest, 'cursor'> {
  cursor?: string | null;
  /** Called after each page is yielded (for progress bars and memory checks). */
  onProgress?: (progress: StreamProgress) => void;
  signal?: AbortSignal;
}

/** One key column and the value a record holds in it (as text). */
export interface SourceKeyValue {
  column: string;
  value: string;
}

export interface HealthStatus {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface Source {
  readonly kind: 'postgres' | 'apismith' | 'file';
  describe(): Promise<ColumnMeta[]>;
  fetchPage(request: FetchPageRequest): Promise<Page>;
  /** All pages from `cursor` (or the start) in one streamed read; memory bounded by the page size. */
  stream(request: StreamRequest): AsyncIterable<Page>;
  /**
   * The highest rowversion the source holds right now (text), null when empty, undefined when the
   * source cannot tell. A full sync reads it first and, once complete, makes it the watermark.
   */
  maxRowversion?(column: string): Promise<string | null | undefined>;
  /** A cheap estimate (planner statistics, file size...), null when the source cannot tell. */
  estimateRowCount(): Promise<number | null>;
  /**
   * The rows whose key columns hold exactly the given values (text, as a record's source key gives them), at
   * most `limit` (default 2: more than one says the key is not unique in the source). Only sources that can
   * look a row up by key have it (PostgreSQL); the trace of one record (control/trace.ts) uses it.
   */
  readByKey?(key: readonly SourceKeyValue[], options?: { limit?: number; signal?: AbortSignal }): Promise<Row[]>;
  health(): Promise<HealthStatus>;
  close(): Promise<void>;
}

/** One mapped field the target must hold. */
export interface TargetField {
  name: string;
  kind: DeclaredKind;
  /** Informational: targets never reject nulls themselves unless their schema says so. */
  required?: boolean;
}

export interface EnsureResult {
  created: boolean;
  addedFields: string[];
}

export interface ApplyOptions {
  /** Mark deleted records (erp_deleted_at / a soft-delete flag) instead of removing them. */
  softDelete?: boolean;
  /**
   * Stops the write promptly (an abort error) when it fires: the activity was cancelled. What was not
   * committed is not written (PostgreSQL rolls back; ScheduleHub sends no further batch call).
   */
  signal?: AbortSignal;
}

export type ApplyOperation = 'insert' | 'update' | 'delete';

export interface RecordError {
  /** e.g. `validation_failed`, `constraint_violation`, `unknown_field`, `server_error`. */
  type: string;
  message: string;
  /** true: retrying the same record will fail again (goes to the DLQ); false: retry later. */
  permanent: boolean;
}

export interface ApplyResult {
  bkHash: string;
  op: ApplyOperation;
  ok: boolean;
  /** The target's own id for the record (ScheduleHub uid; the bk_hash for PostgreSQL). */
  targetUid?: string;
  error?: RecordError;
}

/** What a target holds for a bk_hash (reconciliation, delta against the target itself). */
export interface StoredRecord {
  bkHash: string;
  dataHash: string | null;
  rowversion: string | null;
  refStr: string | null;
  targetUid: string;
  data: Row;
  deletedAt: string | null;
}

export interface Target {
  readonly kind: 'postgres' | 'schedulehub';
  /** Creates the target's schema for the entity's fields, or checks (and extends) an existing one. */
  ensure(fields: TargetField[]): Promise<EnsureResult>;
  /** One result per input record, in input order: inserts, then updates, then deletes. Idempotent. */
  apply(batch: ApplyBatch, options?: ApplyOptions): Promise<ApplyResult[]>;
  fetchByBkHash(bkHashes: string[]): Promise<StoredRecord[]>;
  /**
   * Reconcile, targets that can compute inside their own store (PostgreSQL): per bk_hash-prefix segment of
   * `prefixLength` hex digits (only within the shorter prefixes `within`, when given), the count and checksum of
   * the live records (connectors/postgres/segments.ts). Read-only. Targets without it are looked up by bk_hash.
   */
  segmentChecksums?(request: SegmentChecksumRequest): Promise<Map<string, SegmentSummary>>;
  /** Reconcile: the live records (bk_hash, data_hash, ref_str) of the segments `prefixes`. Read-only. */
  segmentRows?(prefixes: string[], options?: { signal?: AbortSignal }): Promise<KeyedRecord[]>;
  health(): Promise<HealthStatus>;
  close(): Promise<void>;
}

export interface SegmentChecksumRequest {
  prefixLength: number;
  within?: string[];
  signal?: AbortSignal;
}

export interface ConnectorContext {
  /** Shared PostgreSQL pools (one per connection per process); without it each connector opens its own. */
  pools?: PoolRegistry;
  logger?: ConnectorLogger;
  /** HTTP connectors only: tuning (tests use small backoffs) and observation hooks. */
  http?: HttpTuning;
  /**
   * Request caps (`rpmCap`) shared by every worker, keyed by connection name; without it each connector
   * keeps a token bucket of its own (tests, one-off tools).
   */
  rateLimiter?: RateLimiterFactory;
}

export interface HttpTuning {
  retry?: Partial<RetryPolicy>;
  /** Default deadline per request (30 s). */
  timeoutMs?: number;
  /** Deadline for data calls: APISmith execute (60 s). */
  dataTimeoutMs?: number;
  /** Deadline for ScheduleHub batch calls (120 s). */
  batchTimeoutMs?: number;
  /** Renew tokens this long before expiry (30 s, capped at half the lifetime). */
  refreshSkewMs?: number;
  onRetry?: (event: RetryEvent) => void;
  onTokenRenew?: (how: 'login' | 'refresh') => void;
}
