/**
 * The shapes of a reconcile (issue 14): the parity report between an entity's normalized source and each of its
 * targets, as stored in reconcile_reports and answered by GET /api/v1/reconcile/:uid. Pure types: the API, the
 * CLI, the control functions and the workflow all type against them.
 */

export type ReconcileStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type ReconcilePhase = 'source' | 'targets' | 'repair' | 'verify' | 'done';
/**
 * How a target was compared: `segments` (checksums of bk_hash-prefix segments inside the target database, then
 * only the differing segments key by key), `lookup` (every key looked up by bk_hash), `sample` (a random sample
 * of the keys looked up; the report's `confidence` says what it proves).
 */
export type ReconcileMethod = 'segments' | 'lookup' | 'sample';

/** One key in a report: the bk_hash (hex) and the record's reference string when known. */
export interface ReconcileKey {
  bkHash: string;
  refStr: string | null;
}

export interface ReconcileFirstKeys {
  missing: ReconcileKey[];
  extra: ReconcileKey[];
  different: ReconcileKey[];
  orphans: ReconcileKey[];
}

/** What a repair did on one target. */
export interface ReconcileRepaired {
  /** Missing and different keys queued for the normal write path (their identity rows marked failed). */
  resent: number;
  /** Extra keys the entity's delete policy removes (hard or soft). */
  deleted: number;
  /** Extra keys only reported (delete policy `none`). */
  reportedOnly: number;
  /** Repaired keys that, re-read from the target after the sync, now match the source. */
  verified: number;
  /** Repaired keys that still differ after the sync. */
  stillDifferent: number;
}

export interface ReconcileTargetReport {
  target: string;
  /** The target's connector: postgres | schedulehub. */
  type: string;
  method: ReconcileMethod;
  /** Normalized source records the target should hold. */
  sourceCount: number;
  /** Records the target holds (live rows; for lookup targets: source keys found plus extras found). */
  targetCount: number;
  /** In the source, not in the target. */
  missing: number;
  /** In the target, not in the source. */
  extra: number;
  /** Same bk_hash, other data_hash. */
  different: number;
  /** Children in the target whose parent is absent from the parent entity's target of the same name. */
  orphans: number;
  /** Identity store against the target: the store says synced but the target lacks it, or absent but it holds it. */
  identityMismatch: number;
  /** Segments (bk_hash hex prefixes, or `lookup:<n>` batches) that could not be verified (target down). */
  unverifiedSegments: string[];
  /** Sample mode: 95% upper bound on the difference rate the sample proves (0..1); null otherwise. */
  confidence: number | null;
  /** The sample's confidence in words ("0 of 400 sampled differ: at most 0.75% of records differ, 95% confidence"). */
  confidenceNote?: string | null;
  clean: boolean;
  /** Why segments stayed unverified (the target's error), or why a repair's sync did not run. */
  note?: string | null;
  /** The first 20 keys of each kind. */
  firstKeys: ReconcileFirstKeys;
  repaired: ReconcileRepaired | null;
}

export interface ReconcileProgress {
  phase: ReconcilePhase;
  sourceRows: number;
  segmentsChecked: number;
  segmentsTotal: number;
}

export interface ReconcileSourceSummary {
  /** Source rows read. */
  rows: number;
  /** Normalized records (distinct bk_hash) the targets should hold. */
  records: number;
  /** Rows that fail NORMALIZE / VALIDATE / MAP (they belong in the DLQ, not in a target). */
  unsyncable: number;
}

/** The report as the API answers it (camelCase). */
export interface ReconcileReportView {
  uid: string;
  entityName: string;
  status: ReconcileStatus;
  repair: boolean;
  sample: number | null;
  workflowId: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  clean: boolean | null;
  error: string | null;
  progress: ReconcileProgress;
  source: ReconcileSourceSummary;
  targets: ReconcileTargetReport[];
}

/** workflows/reconcile.ts's input. */
export interface ReconcileInput {
  reportUid: string;
  entityName: string;
  /** Default: every target of the entity. */
  targets?: string[];
  repair?: boolean;
  /** Lookup targets only: check a random sample of this many keys instead of every key. */
  sample?: number;
  /**
   * A target left with unverified segments (down mid-reconcile) is compared again after `resumeDelaySeconds`,
   * up to `resumeAttempts` times (defaults in workflows/contract.ts: 2 attempts, 60 s apart); the report says
   * what stayed unverified.
   */
  resumeAttempts?: number;
  resumeDelaySeconds?: number;
}

/** workflows/reconcile.ts's result. */
export interface ReconcileOutcome {
  reportUid: string;
  clean: boolean;
  targets: Array<{
    target: string;
    clean: boolean;
    missing: number;
    extra: number;
    different: number;
    orphans: number;
    unverifiedSegments: string[];
  }>;
}

/** How many keys of each kind a report lists. */
export const FIRST_KEYS = 20;

export const emptyProgress = (): ReconcileProgress => ({
  phase: 'source',
  sourceRows: 0,
  segmentsChecked: 0,
  segmentsTotal: 0,
});

export const emptySourceSummary = (): ReconcileSourceSummary => ({ rows: 0, records: 0, unsyncable: 0 });
