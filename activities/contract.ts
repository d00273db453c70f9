/**
 * The contract between the sync workflows and their activities: what each activity takes, what it answers,
 * and the activity interfaces the workflows proxy (`proxyActivities<PageStageActivities>()`). Types only:
 * the workflows import this module with `import type` (the workflow sandbox never loads activity code) and
 * the activities implement the interfaces (`createXActivities(ctx): XActivities`), so a change on one side
 * that the other does not follow fails the type check.
 *
 * It lives with the activities, the inner layer: the workflows depend on it, as imports point inward. Its one
 * outward reference is to the vocabulary the workflows share with control/, the API and the CLI
 * (workflows/contract.ts: SyncType, StageTotals), as types only.
 */

import type { ReplaySelection } from '../db/replay.ts';
import type { RecordCounts } from '../pipeline/accounting.ts';
import type { EntityConfig } from '../pipeline/entity-config.ts';
import type {
  ReconcileInput,
  ReconcileMethod,
  ReconcileOutcome,
  ReconcileSourceSummary,
  ReconcileTargetReport,
} from '../pipeline/reconcile/types.ts';
import type { StageTotals, SyncType } from '../workflows/contract.ts';

// ---- Page stages (the worker's own queue) ----

/** One page of one batch: every page stage takes it; the page's data stays in that worker's page cache. */
export interface PageRef {
  batchUid: string;
  entityName: string;
  configVersion: number;
  page: number;
  syncType: SyncType;
  dryRun: boolean;
}

export interface FetchRequest {
  /**
   * incremental needs a rowversion column; otherwise every row is read and DELTA decides. replay: the pages
   * are the replay batch's dead letters (db/replay.ts), re-run from their raw form.
   */
  mode: 'full' | 'incremental' | 'replay';
  cursor: string | null;
  /** Incremental reads: rows above this rowversion. */
  watermark: string | null;
  pageSize: number;
}

/** What every stage reports: its wall time and rows in / out (the batch's per-stage metrics). */
export interface StageReport {
  ms: number;
  rowsIn: number;
  rowsOut: number;
}
export interface FetchReport extends StageReport {
  nextCursor: string | null;
  done: boolean;
}
export interface DeltaReport extends StageReport {
  inserts: number;
  updates: number;
  skips: number;
}
export interface ResolveReport extends StageReport {
  /** Records that wait for a parent (pending_children). */
  waiting: number;
}
export interface IngestReport extends StageReport {
  /** Calls made (or, in a dry run, that would be made) per target. */
  targetCalls: Record<string, number>;
}
export interface TrackReport extends StageReport {
  counts: RecordCounts;
}
/** The fused NORMALIZE → … → RESOLVE: each stage's report apart. */
export type TransformReport = Record<'normalize' | 'validate' | 'map' | 'identity' | 'delta' | 'resolve', StageReport>;

/** The nine stages of a page, each its own activity (and the six middle ones fused, for `stageActivities: fused`). */
export interface PageStageActivities {
  fetchPage(ref: PageRef, request: FetchRequest): Promise<FetchReport>;
  normalizePage(ref: PageRef): Promise<StageReport>;
  validatePage(ref: PageRef): Promise<StageReport>;
  mapPage(ref: PageRef): Promise<StageReport>;
  identifyPage(ref: PageRef): Promise<StageReport>;
  deltaPage(ref: PageRef): Promise<DeltaReport>;
  resolvePage(ref: PageRef): Promise<ResolveReport>;
  ingestPage(ref: PageRef): Promise<IngestReport>;
  trackPage(ref: PageRef): Promise<TrackReport>;
  transformPage(ref: PageRef): Promise<TransformReport>;
}

// ---- Batch lifecycle (the shared queue) ----

export type FinalStatus = 'completed' | 'failed' | 'cancelled';

export interface BeginBatchInput {
  batchUid: string;
  entityName: string;
  syncType: SyncType;
  dryRun: boolean;
  workflowId: string;
}

export interface BatchPlan {
  configVersion: number;
  pageSize: number;
  /** How pages are read: incremental needs a rowversion column; without one every row is read and delta decides. */
  readMode: 'full' | 'incremental' | 'replay';
  watermark: string | null;
  /** Full syncs: the source's highest rowversion before the first page; the watermark once the sync completes. */
  fullSyncWatermark: string | null;
  estimatedRows: number | null;
  hasParents: boolean;
  childWaitSeconds: number;
  stageActivities: 'split' | 'fused';
  circuitBreaker: EntityConfig['circuitBreaker'] | null;
  /** Entities whose parents include this one: their waiting children may be released when this batch lands. */
  childEntities: string[];
}

export interface FinishBatchInput {
  batchUid: string;
  status: FinalStatus;
  error?: string;
  stages: StageTotals;
  targetCalls: Record<string, number>;
  elapsedMs: number;
  notes: string[];
  /** Set on a completed full sync whose source could tell its highest rowversion at the start. */
  fullSyncWatermark?: string | null;
}

export interface BatchSummary extends RecordCounts {
  batchUid: string;
  entityName: string;
  status: FinalStatus;
  dryRun: boolean;
  rowsPerSecond: number;
  elapsedMs: number;
  estimatedCost: number;
  /** Background batches (set by the workflow): the cursor after the last page read, where the next one starts. */
  endCursor?: string | null;
  /** Background batches: the source has no row after this batch's last page. */
  sourceDone?: boolean;
  /**
   * Background batches: why it stopped starting pages: the source's end, the night's quota, the window's close
   * coming (no page would end before it), or neither (told to end: a pause, stop or window change).
   */
  endedBy?: 'source' | 'quota' | 'window' | null;
  /** Background batches: how long its last page took, FETCH to TRACK. */
  pageMs?: number;
}

/** The circuit breaker's reading when it pauses a batch (an event's payload, hence a type, not an interface). */
export type CircuitReading = { rate: number; fetched: number; failed: number };

/** sync_batches lifecycle: pending → running → completed / failed / cancelled, with events. */
export interface BatchActivities {
  /** Runs on the shared queue: whichever worker takes it hands back its own queue for the page stages. */
  claimPageWorker(): Promise<string>;
  /** Idempotent: a retried start finds the row already running and answers the same plan. */
  beginBatch(input: BeginBatchInput): Promise<BatchPlan>;
  /** A batch whose workflow never started (a group's child refused): it ends failed with the reason. */
  abandonBatch(batchUid: string, reason: string): Promise<void>;
  /** Paused by a signal, or by the circuit breaker (`circuit` says at what failure rate). */
  setBatchPaused(batchUid: string, paused: boolean, circuit?: CircuitReading): Promise<void>;
  finishBatch(input: FinishBatchInput): Promise<BatchSummary>;
}

// ---- Deletes (the shared queue) ----

export interface DeleteInput {
  batchUid: string;
  entityName: string;
  configVersion: number;
  dryRun: boolean;
}

export interface DeleteReport {
  /** Records the target held that this full sync did not see. */
  candidates: number;
  deleted: number;
  failed: number;
  /**
   * Rows of this sync that failed before DELTA without a computable business key: while there are any, no
   * record is deleted (a candidate may be one of them, still in the source); 0 when the deletes ran.
   */
  held: number;
  policy: 'hard' | 'soft' | 'none';
  targetCalls: Record<string, number>;
}

export interface DeleteActivities {
  applyDeletes(input: DeleteInput): Promise<DeleteReport>;
}

// ---- Children waiting for their parents (the shared queue) ----

export interface ReleaseInput {
  entityName: string;
  /**
   * true: the child's own retry (due children only; a still-missing parent
   * counts an attempt and, past the limit, sends the child to the DLQ);
   * false: a parent just landed (every waiting child is checked, no attempt counted).
   */
  countAttempt: boolean;
}

export interface ReleaseReport {
  released: number;
  deadLettered: number;
  refused: number;
  /** Still waiting after this call. */
  waiting: number;
  /** When the next waiting child is due, ISO 8601; null when none waits. */
  nextRetryAt: string | null;
  /**
   * A batch of one of the entity's parent entities (other than itself) is open (pending, running, paused): it
   * releases this entity's children when it lands, so a waiting batch can expect some. Absent in results
   * recorded by older code.
   */
  parentBatchRunning?: boolean;
}

export interface ChildActivities {
  /** Configured entities that have children waiting (the background retry's worklist). */
  entitiesWithWaitingChildren(): Promise<string[]>;
  releasePendingChildren(input: ReleaseInput): Promise<ReleaseReport>;
}

// ---- Background loads (the shared queue) ----

/** The load's window as it stands: open now (and until when), or when it next opens. */
export interface BackgroundWindow {
  open: boolean;
  opensAtMs: number;
  closesAtMs: number;
}

export interface BackgroundPlan {
  window: BackgroundWindow;
  /** Where the next page starts: the cursor after the last page TRACK accounted. */
  offset: string | null;
  rowsDone: number;
  rowsToday: number;
  /** Tonight's quota (null: the whole window). */
  dailyQuota: number | null;
  /** Rows tonight may still read; null: no bound but the window; 0: met. */
  quotaLeft: number | null;
  totalRowsEstimate: number | null;
  /** A night ended since the last plan. */
  closedNight: boolean;
}

export interface BackgroundActivities {
  /**
   * Marks the load started by this workflow; on its first start, reads the source's highest rowversion (the
   * entity's watermark once the load completes, so incremental syncs take over without a gap) and its row estimate.
   */
  beginBackgroundLoad(input: { entityName: string; workflowId: string }): Promise<void>;
  /** Opens and closes nights (events, quota) at `nowMs`, the workflow's time, and answers the load's position. */
  planBackgroundNight(input: { entityName: string; nowMs: number }): Promise<BackgroundPlan>;
  /** The load's state as the API shows it (and when it next runs, when it waits for a window). */
  setBackgroundStatus(input: {
    entityName: string;
    status: 'waiting_for_window' | 'running' | 'paused' | 'stopped' | 'failed';
    nextRunAtMs?: number | null;
    error?: string | null;
  }): Promise<void>;
  /** The pending `background` batch row of the night's next batch (counts a night the first time one runs in it). */
  prepareBackgroundBatch(input: { entityName: string; batchUid: string; nightOpenedAtMs: number }): Promise<void>;
  /** A batch whose workflow could not start (another sync of the entity runs): its pending row goes. */
  discardBackgroundBatch(input: { batchUid: string; reason: string }): Promise<void>;
  /** The source is read to its end: the load is completed and the entity's watermark is the one read at its start. */
  completeBackgroundLoad(input: { entityName: string }): Promise<{ rowsDone: number; rowsToday: number }>;
}

// ---- Smoke ----

export interface SmokeActivities {
  /** Writes one `smoke` event and returns its id (as a string: bigint does not cross the wire as JSON). */
  recordSmokeEvent(message: string): Promise<string>;
}

// ---- Scheduled syncs (the shared queue) ----

/** A run of a recurring sync (workflows/scheduled-sync.ts), before it starts the entity's `syncEntity`. */
export interface ScheduledSyncInput {
  entityName: string;
  syncType: 'full' | 'incremental';
  batchUid: string;
  /** The sync's workflow id (`sync-<entity>`), written on the pending batch row as control/syncs.ts does. */
  workflowId: string;
}

/** Go ahead (the pending batch row is written) or skip (nothing written; not a failure). */
export type PreparedScheduledSync = { skipped: false; dryRun: boolean } | { skipped: true; reason: string };

/** ApplicationFailure types (non-retryable) of prepareScheduledSync. */
export const SCHEDULED_ENTITY_NOT_FOUND = 'ScheduledEntityNotFound';
export const SCHEDULED_ENTITY_DISABLED = 'ScheduledEntityDisabled';

export interface ScheduledActivities {
  /**
   * The entity must exist and be enabled (else a non-retryable failure); a background load under way skips the
   * run; otherwise decides the dry run from the entity's mode and writes the batch row `pending`.
   */
  prepareScheduledSync(input: ScheduledSyncInput): Promise<PreparedScheduledSync>;
  /** The sync could not start (one of the entity runs): deletes the pending row and records `schedule.skipped`. */
  skipScheduledSync(input: ScheduledSyncInput & { reason: string }): Promise<void>;
}

// ---- Dead-letter replay (the shared queue) ----

/** A replay (workflows/replay-dead-letters.ts): an operator's, or a pass of the background retry. */
export interface ReplayInput {
  batchUid: string;
  entityName: string;
  /** Which dead letters (db/replay.ts). */
  selection: ReplaySelection;
  /** true: report what would land and what would still fail, writing nothing; absent: the entity's mode decides. */
  dryRun?: boolean | undefined;
  trigger: 'operator' | 'retry';
  /** The sync's workflow id (`sync-<entity>`), written on the pending batch row. */
  workflowId: string;
}

/** Go ahead (the selection is frozen in the pending batch row) or skip (nothing written). */
export type PreparedReplay = { skipped: false; dryRun: boolean; selected: number } | { skipped: true; reason: string };

/** What the background retry pass finds to do: the entities with due dead letters, and how many each may take. */
export interface DueDeadLetters {
  entities: string[];
  limitPerEntity: number;
}

export interface ReplayActivities {
  /**
   * The entity must exist and be enabled (else a non-retryable failure); a background load under way, or an
   * entity in dry-run mode on an automatic retry, skips; otherwise freezes the selection into a pending
   * `replay` batch row (idempotent).
   */
  prepareReplay(input: ReplayInput): Promise<PreparedReplay>;
  /** The replay could not start: its batch ends failed with the reason (an operator's), or is removed (a retry's). */
  skipReplay(input: ReplayInput & { reason: string }): Promise<void>;
  /** The background retry's worklist. */
  dueDeadLetters(): Promise<DueDeadLetters>;
  /** What the finished replay did with its dead letters (the batch's metrics.replay); records `replay.completed`. */
  replayReport(batchUid: string): Promise<ReplayTallyReport>;
}

export interface ReplayTallyReport {
  resolved: number;
  failedAgain: number;
  abandoned: number;
  waiting: number;
}

// ---- Reconcile (workflows/reconcile.ts, the shared queue) ----

/** A target as the reconcile compares it. */
export interface ReconcileTargetPlan {
  name: string;
  /** postgres | schedulehub */
  type: string;
  method: ReconcileMethod;
}

export interface OpenedReconcile {
  /** The targets to compare (the input's, or every target of the entity). */
  targets: ReconcileTargetPlan[];
  /** The entity is live; a repair writes either way (it is an explicit request to write, as `execute: true`). */
  live: boolean;
  /** The report already ended (a rerun of a finished reconcile): its outcome, nothing to do. */
  finished: ReconcileOutcome | null;
}

export interface ReconcileTargetInput {
  reportUid: string;
  entityName: string;
  target: string;
  sample?: number | undefined;
  /** Keep the differences' keys for planRepair. */
  repair?: boolean | undefined;
}

/** What a repair queued on one target (the keys are re-verified after the sync). */
export interface RepairPlan {
  target: string;
  resent: number;
  deleted: number;
  reportedOnly: number;
}

export interface ReconcileActivities {
  /** Opens the report (inserted when absent: idempotent) and plans the targets; non-retryable for an unknown entity. */
  openReconcile(input: ReconcileInput): Promise<OpenedReconcile>;
  /**
   * Reads the whole source page by page (keyset cursor kept in the report: a retry continues), runs
   * NORMALIZE…IDENTITY with the entity's configuration and keeps (bk_hash, data_hash, ref_str, parents) in
   * reconcile_source_records. Writes nothing else.
   */
  reconcileSource(input: ReconcileInput): Promise<ReconcileSourceSummary>;
  /** Compares one target with the normalized source (segments, lookups or a sample); writes its report. */
  reconcileTarget(input: ReconcileTargetInput): Promise<ReconcileTargetReport>;
  /** Marks the target's missing / different keys for resend and its extras for delete (delete policy allowing). */
  planRepair(input: ReconcileTargetInput): Promise<RepairPlan>;
  /** Re-reads the repaired keys of one target after the repair's sync; writes `repaired` into its report. */
  verifyRepair(
    input: ReconcileTargetInput & { plan: RepairPlan; syncError: string | null },
  ): Promise<ReconcileTargetReport>;
  /** Closes the report (status, clean, duration), empties its source records and records the event. */
  finishReconcile(input: {
    reportUid: string;
    entityName: string;
    status: 'completed' | 'failed' | 'cancelled';
    error?: string | null;
  }): Promise<ReconcileOutcome>;
}
