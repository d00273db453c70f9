/**
 * The names and shapes shared by the sync workflows and the code that starts
 * and watches them (control/, the API, the CLI). Types and constants only:
 * safe to import from the workflow sandbox and from ordinary Node code.
 */
import type { RecordCounts } from '../pipeline/accounting.ts';

export type SyncType = 'full' | 'incremental';
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
  /** Carried across continue-as-new; absent on the first run. */
  resume?: SyncResumeState;
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

/** One running sync per entity: Temporal refuses a second execution with the same id. */
export const syncWorkflowId = (entityName: string) => `sync-${entityName}`;
