/**
 * The names, shapes and message definitions shared by the sync workflows and
 * the code that starts and watches them (control/, the API, the CLI). Types,
 * constants and `define*` from @temporalio/workflow (plain objects, no
 * workflow context needed): safe to import from the workflow sandbox and from
 * ordinary Node code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RecordCounts } from '../pipeline/accounting.ts';
import type { TargetConfig } from '../pipeline/connector-config.ts';
import type { MigrationState } from '../pipeline/migration/runbook.ts';
import type { ReconcileProgress } from '../pipeline/reconcile/types.ts';

/**
 * full and incremental syncs are started by users and schedules; background batches by a background load;
 * replay batches re-run dead letters (workflows/replay-dead-letters.ts).
 */
export type SyncType = 'full' | 'incremental' | 'background' | 'replay';
export const stageNames = [
  'fetch',
  'normalize',
  'validate',
  'map',
  'identity',
  'delta',
  'resolve',
  'ingest',
  'track',
] as const;
export type StageName = (typeof stageNames)[number];

export interface SyncEntityInput {
  batchUid: string;
  entityName: string;
  syncType: SyncType;
  /** true: stages 1-7 only, nothing written to any target. */
  dryRun: boolean;
  /** Pages per execution before continue-as-new (default 150; tests use a few to exercise it). */
  pagesPerRun?: number;
  /** A night of a background load (workflows/background-sync.ts): where it starts and when it stops. */
  background?: NightLimits;
  /**
   * A bounded trial run: the batch reads at most this many source rows (the last page cut to fit), then
   * completes; a full sync stopped by it applies no deletes and leaves the full-sync watermark. Carried across
   * continue-as-new with the rest of the input.
   */
  maxItems?: number;
  /** Carried across continue-as-new; absent on the first run. */
  resume?: SyncResumeState;
}

/**
 * The bounds of one background batch. Pages start from `startCursor` (the load's persisted offset) and stop
 * starting once `maxRows` were read (the night's quota left) or once a page, as long as the last one took,
 * would end after `stopAtMs` (the window's close): no page runs past the close by more than one page's time.
 * The load changes them while the batch runs (nightLimitsSignal): a pause or stop sets `stopAtMs` to 0.
 */
export interface NightLimits {
  startCursor: string | null;
  maxRows: number | null;
  stopAtMs: number;
  /** How long the load's last page took (FETCH to TRACK): a new batch knows it before its first page. */
  pageMs?: number;
}

/** What one execution hands to the next when it continues as new. */
export interface SyncResumeState {
  cursor: string | null;
  nextPage: number;
  /** The watermark read at the start of the batch (incremental); pages above it are read. */
  watermark: string | null;
  fullSyncWatermark: string | null;
  stages: StageTotals;
  /** Counts of the pages tracked so far (the batch row holds the same; this feeds the progress query). */
  counts: RecordCounts;
  targetCalls: Record<string, number>;
  startedAtMs: number;
  paused: boolean;
  /** The batch's notes so far (absent in runs started by older code). */
  notes?: string[];
  /** The circuit breaker's state: counts at the last resume, and its reading if it is open. */
  circuit?: { baseline: { fetched: number; failed: number }; open: CircuitReading | null };
}

/** What the circuit breaker saw when it opened. */
export interface CircuitReading {
  rate: number;
  fetched: number;
  failed: number;
}

/** Per-stage wall time (ms, summed over pages) and rows in / out. */
export type StageTotals = Record<StageName, { ms: number; rowsIn: number; rowsOut: number }>;

export interface SyncEntitiesInput {
  /** One per entity, already ordered parents first by the starter; each its own dry-run flag (mode per entity). */
  batches: Array<Pick<SyncEntityInput, 'batchUid' | 'entityName' | 'dryRun'>>;
  syncType: SyncType;
}

export type SyncPhase = 'starting' | 'syncing' | 'deleting' | 'releasing_children' | 'finishing' | 'done';

/** The `progress` query's answer. */
export interface SyncProgress {
  batchUid: string;
  entityName: string;
  syncType: SyncType;
  dryRun: boolean;
  phase: SyncPhase;
  paused: boolean;
  pagesCompleted: number;
  pagesInFlight: number;
  /** Source's row-count estimate, null when it cannot tell. */
  estimatedRows: number | null;
  counts: RecordCounts;
  rowsPerSecond: number;
  stages: StageTotals;
}

export const SYNC_ENTITY_WORKFLOW = 'syncEntity';
export const SYNC_ENTITIES_WORKFLOW = 'syncEntities';
export const PROGRESS_QUERY = 'progress';
export const PAUSE_SIGNAL = 'pause';
export const RESUME_SIGNAL = 'resume';
export const PAUSE_UPDATE = 'pauseSync';
export const RESUME_UPDATE = 'resumeSync';
export const STOP_UPDATE = 'stopSync';
/** The ApplicationFailure type a control update's validator refuses with once the batch's page loop is over. */
export const SYNC_FINISHING = 'SyncFinishing';

/** Live progress; the same object the pause / resume updates answer with. */
export const progressQuery = defineQuery<SyncProgress>(PROGRESS_QUERY);
/**
 * Pause: answers once the pause took effect (pages in flight tracked, the batch marked paused), with the
 * progress at that moment (`paused: true`). Refused (SyncFinishing) once the batch is finishing.
 */
export const pauseUpdate = defineUpdate<SyncProgress>(PAUSE_UPDATE);
/** Resume: answers once the page loop runs again (the batch marked running), with `paused: false`. */
export const resumeUpdate = defineUpdate<SyncProgress>(RESUME_UPDATE);
/**
 * Stop: cancels the batch's work (running target writes stop, a TRACK already running commits, nothing starts
 * after), closes the batch `cancelled` and answers once it is closed, with the final progress (`phase: 'done'`).
 * The workflow then completes normally with the batch's summary. Refused (SyncFinishing) once the batch is
 * finishing. A cancellation request (`temporal workflow cancel`) still stops a sync the same way, ending the
 * workflow as cancelled.
 */
export const stopUpdate = defineUpdate<SyncProgress>(STOP_UPDATE);
/**
 * Fire-and-forget pause / resume, kept registered for executions started (and histories recorded) before the
 * updates existed; new code sends the updates.
 */
export const pauseSignal = defineSignal(PAUSE_SIGNAL);
export const resumeSignal = defineSignal(RESUME_SIGNAL);

/** Changes a running background batch's bounds (a window change, a pause or stop of its load). */
export const nightLimitsSignal = defineSignal<[Partial<Omit<NightLimits, 'startCursor'>>]>('nightLimits');

/** One running sync per entity: Temporal refuses a second execution with the same id. */
export const syncWorkflowId = (entityName: string) => `sync-${entityName}`;

/** One dead-letter replay per entity at a time (workflows/replay-dead-letters.ts); its batch runs as `sync-<entity>`. */
export const REPLAY_WORKFLOW = 'replayDeadLetters';
export const replayWorkflowId = (entityName: string) => `replay-${entityName}`;

// ---- Background loads (workflows/background-sync.ts) ----

export const BACKGROUND_SYNC_WORKFLOW = 'backgroundSync';
/** One background load per entity: Temporal refuses a second execution with the same id. */
export const backgroundWorkflowId = (entityName: string) => `background-${entityName}`;

export interface BackgroundSyncInput {
  entityName: string;
  /** Carried across continue-as-new. */
  resume?: { paused: boolean; failuresInARow: number; nightEnded?: number | null; pageMs?: number };
}

export type BackgroundPhase =
  | 'starting'
  | 'waiting_for_window'
  | 'running'
  | 'paused'
  | 'stopped'
  | 'completed'
  | 'failed';

/** What the load's query and control updates answer. */
export interface BackgroundProgress {
  entityName: string;
  phase: BackgroundPhase;
  paused: boolean;
  /** The batch of the night running now, if any. */
  batchUid: string | null;
  /** The window as last planned: open (until closesAtMs) or opening at opensAtMs. */
  window: { open: boolean; opensAtMs: number; closesAtMs: number } | null;
  rowsDone: number;
  rowsToday: number;
  dailyQuota: number | null;
  totalRowsEstimate: number | null;
  lastError: string | null;
}

/** The ApplicationFailure type the load's update validators refuse with once it has ended. */
export const BACKGROUND_ENDED = 'BackgroundLoadEnded';

export const backgroundProgressQuery = defineQuery<BackgroundProgress>('backgroundProgress');
/** Pause: the night's batch ends after its pages in flight; answers once the load is paused. */
export const pauseBackgroundUpdate = defineUpdate<BackgroundProgress>('pauseBackground');
/** Resume: answers once the load plans again (waiting for its window, or running). */
export const resumeBackgroundUpdate = defineUpdate<BackgroundProgress>('resumeBackground');
/** Stop: the night's batch ends after its pages in flight; the offset is kept; answers once the load stopped. */
export const stopBackgroundUpdate = defineUpdate<BackgroundProgress>('stopBackground');
/**
 * The window, zone or days changed (the caller stored them): a running night's batch ends after its pages in
 * flight and the load plans again under the new settings. Answers with the state after that plan.
 */
export const reconfigureBackgroundUpdate = defineUpdate<BackgroundProgress>('reconfigureBackground');

// ---- Reconcile (workflows/reconcile.ts) ----

export const RECONCILE_WORKFLOW = 'reconcile';
/** One workflow per report: `reconcile-<reportUid>`. */
export const reconcileWorkflowId = (reportUid: string) => `reconcile-${reportUid}`;
export const RECONCILE_PROGRESS_QUERY = 'reconcileProgress';
/** A target left with unverified segments is compared again this many times, this long apart (ReconcileInput). */
export const DEFAULT_RESUME_ATTEMPTS = 2;
export const DEFAULT_RESUME_DELAY_SECONDS = 60;
/** The reconcile's live progress (the same object it writes to the report row). */
export const reconcileProgressQuery = defineQuery<ReconcileProgress>(RECONCILE_PROGRESS_QUERY);

// ---- Store migrations (workflows/migrate-target.ts) ----

export const MIGRATE_WORKFLOW = 'migrateTarget';
/** One running migration per entity: `migrate-<entity>`. */
export const migrateWorkflowId = (entityName: string) => `migrate-${entityName}`;

export interface MigrateTargetInput {
  migrationId: string;
  entityName: string;
  /** The entity's primary target the data moves away from. */
  from: string;
  /** The new store's target configuration (role set by the runbook). */
  to: TargetConfig;
  /** Proceed to each next step on its own when its gate (a clean reconcile, where it has one) is met. */
  autoApprove: boolean;
  soakMinutes: number;
  soakCheckMinutes: number;
  /** The state so far: carried across continue-as-new (the first run builds it). */
  state: MigrationState;
}

export const migrationStateQuery = defineQuery<MigrationState>('migrationState');
/** Approve the step the runbook waits for (`force`: although its reconcile is not clean; recorded). */
export const approveMigrationUpdate = defineUpdate<MigrationState, [{ step: string; force?: boolean }]>(
  'approveMigration',
);
/** Restore the entity's targets as they were before the migration (refused once `from` is retired). */
export const rollbackMigrationUpdate = defineUpdate<MigrationState>('rollbackMigration');
/** End the runbook where it is, the targets as they are now. */
export const abortMigrationUpdate = defineUpdate<MigrationState>('abortMigration');
