import type { DeltaStrategy } from '../entity-config.js';
import { compareRowversions, type RowversionFamily } from '../identity/rowversion.js';

/**
 * DELTA stage: what INGEST must do for each incoming record, against what the
 * identity store says each target holds. Pure: no I/O, same answer for the
 * same inputs.
 *
 * Per incoming record (by bk_hash):
 * - not stored, or stored but deleted → INSERT;
 * - `hash`: data_hash differs → UPDATE, else SKIP;
 * - `rowversion`: incoming rowversion newer → UPDATE; equal or older → SKIP
 *   (an older version never overwrites a newer one); either side without a
 *   rowversion → UPDATE (a change cannot be ruled out);
 * - `auto`: `rowversion` when both sides have one, `hash` otherwise;
 * - stored but never acknowledged since a later send (`unacknowledged`) → UPDATE, whatever the strategy.
 * Duplicates: when one bk_hash occurs several times in the incoming set, the
 * LAST occurrence (fetch order is rowversion / key order, so the latest state)
 * is compared with the store; each earlier one is a SKIP with reason
 * `superseded` and is counted in `duplicates`. Every incoming record gets
 * exactly one decision, so the accounting invariant holds.
 * DELETE: only when a full sync has completed: every stored bk_hash that the
 * sync did not see and that is not already deleted (see planDeletes).
 */
export type SyncType = 'full' | 'incremental' | 'background';
export type Operation = 'INSERT' | 'UPDATE' | 'SKIP' | 'DELETE';
export type DecisionReason =
  | 'new'
  | 'reappeared'
  | 'data_changed'
  | 'data_unchanged'
  | 'rowversion_newer'
  | 'rowversion_not_newer'
  | 'rowversion_missing'
  | 'superseded'
  | 'stale_replay'
  | 'unacknowledged'
  | 'not_seen';

export interface IncomingIdentity {
  bkHash: string;
  dataHash: string;
  rowversion: string | null;
}
export interface StoredIdentity {
  dataHash: string;
  rowversion: string | null;
  deletedAt?: Date | string | null;
  /** The source hash stored with the record (./unchanged-source.ts); null when none was. */
  sourceHash?: string | null;
  /** When the target acknowledged this version (a replay's raw form older than it is stale). */
  syncedAt?: Date | string | null;
  /**
   * A later version was sent and never acknowledged (the identity store's `pending`: a crash between the send
   * and the answer): the target holds this version or the one sent, so the record is sent again.
   */
  unacknowledged?: boolean;
}
export interface Decision {
  operation: Operation;
  reason: DecisionReason;
  bkHash: string;
  /** Position in the incoming array; absent for DELETE. */
  index?: number;
}
export interface DeltaCounts {
  processed: number;
  inserted: number;
  updated: number;
  skipped: number;
  deleted: number;
  /** Earlier occurrences of a bk_hash seen again later in the same input (included in skipped). */
  duplicates: number;
  /** skipped / processed (0 when nothing was processed). */
  efficiency: number;
}
export interface DeltaResult {
  decisions: Decision[];
  counts: DeltaCounts;
}

export interface DeltaOptions {
  strategy: DeltaStrategy;
  /** Needed to compare rowversions; without it the rowversion strategy degrades to UPDATE-on-doubt. */
  rowversionFamily?: RowversionFamily | undefined;
}

export interface DeltaInput extends DeltaOptions {
  incoming: readonly IncomingIdentity[];
  stored: ReadonlyMap<string, StoredIdentity>;
  syncType: SyncType;
  /** True only when a full sync has read every page: the one moment deletes are known. */
  fullSyncComplete?: boolean;
}

const isDeleted = (stored: StoredIdentity): boolean => stored.deletedAt !== undefined && stored.deletedAt !== null;

type Verdict = Pick<Decision, 'operation' | 'reason'>;
// Shared, frozen verdicts: deciding allocates nothing but the Decision itself.
const verdict = (operation: Operation, reason: DecisionReason): Verdict => Object.freeze({ operation, reason });
const NEW = verdict('INSERT', 'new');
const REAPPEARED = verdict('INSERT', 'reappeared');
const UNCHANGED = verdict('SKIP', 'data_unchanged');
const CHANGED = verdict('UPDATE', 'data_changed');
const NO_ROWVERSION = verdict('UPDATE', 'rowversion_missing');
const NEWER = verdict('UPDATE', 'rowversion_newer');
const NOT_NEWER = verdict('SKIP', 'rowversion_not_newer');
const SUPERSEDED = verdict('SKIP', 'superseded');
const UNACKNOWLEDGED = verdict('UPDATE', 'unacknowledged');

function decideOne(incoming: IncomingIdentity, stored: StoredIdentity | undefined, options: DeltaOptions): Verdict {
  if (!stored) return NEW;
  if (isDeleted(stored)) return REAPPEARED;
  if (stored.unacknowledged) return UNACKNOWLEDGED;
  const bothHaveRowversion = incoming.rowversion !== null && stored.rowversion !== null && !!options.rowversionFamily;
  const useRowversion = options.strategy === 'rowversion' || (options.strategy === 'auto' && bothHaveRowversion);
  if (!useRowversion) return incoming.dataHash === stored.dataHash ? UNCHANGED : CHANGED;
  if (!bothHaveRowversion) return NO_ROWVERSION;
  return compareRowversions(incoming.rowversion!, stored.rowversion!, options.rowversionFamily!) > 0
    ? NEWER
    : NOT_NEWER;
}

const emptyCounts = (): DeltaCounts => ({
  processed: 0,
  inserted: 0,
  updated: 0,
  skipped: 0,
  deleted: 0,
  duplicates: 0,
  efficiency: 0,
});

function tally(counts: DeltaCounts, operation: Operation): void {
  if (operation === 'INSERT') counts.inserted++;
  else if (operation === 'UPDATE') counts.updated++;
  else if (operation === 'SKIP') counts.skipped++;
  else counts.deleted++;
}

/** Decisions for one page (or any set) of incoming identities. No deletes: see planDeletes. */
export function decideOperations(
  incoming: readonly IncomingIdentity[],
  stored: ReadonlyMap<string, StoredIdentity>,
  options: DeltaOptions,
): DeltaResult {
  const lastIndex = new Map<string, number>();
  for (let i = 0; i < incoming.length; i++) lastIndex.set(incoming[i]!.bkHash, i);
  const counts = emptyCounts();
  const decisions: Decision[] = new Array(incoming.length);
  for (let index = 0; index < incoming.length; index++) {
    const identity = incoming[index]!;
    const superseded = lastIndex.get(identity.bkHash) !== index;
    if (superseded) counts.duplicates++;
    const { operation, reason } = superseded ? SUPERSEDED : decideOne(identity, stored.get(identity.bkHash), options);
    tally(counts, operation);
    decisions[index] = { operation, reason, bkHash: identity.bkHash, index };
  }
  counts.processed = incoming.length;
  counts.efficiency = counts.processed === 0 ? 0 : counts.skipped / counts.processed;
  return { decisions, counts };
}

/**
 * DELETE decisions after a completed full sync: stored, not deleted, not seen.
 * `seen` is every bk_hash the whole sync read (all pages), not just one page.
 */
export function planDeletes(
  stored: Iterable<readonly [string, StoredIdentity]>,
  seen: { has(bkHash: string): boolean },
): Decision[] {
  const deletes: Decision[] = [];
  for (const [bkHash, identity] of stored) {
    if (!isDeleted(identity) && !seen.has(bkHash)) deletes.push({ operation: 'DELETE', reason: 'not_seen', bkHash });
  }
  return deletes.sort((a, b) => (a.bkHash < b.bkHash ? -1 : a.bkHash > b.bkHash ? 1 : 0));
}

/**
 * The whole delta for a set of incoming identities that is everything the
 * sync saw: per-record decisions, then deletes when (and only when) this is a
 * completed full sync. Incremental and background syncs never delete.
 */
export function computeDelta(input: DeltaInput): DeltaResult {
  const result = decideOperations(input.incoming, input.stored, input);
  if (input.syncType === 'full' && input.fullSyncComplete === true) {
    const seen = new Set(input.incoming.map((i) => i.bkHash));
    const deletes = planDeletes(input.stored, seen);
    result.decisions.push(...deletes);
    result.counts.deleted = deletes.length;
  }
  return result;
}

const STALE = verdict('SKIP', 'stale_replay');

/**
 * A replay re-runs each dead letter from the raw form it failed with. When any target holds a version of the
 * record acknowledged after that failure (a later sync read the source row again and it landed), the raw form
 * is older than what the targets hold: writing it would undo that sync. Such records are SKIPped on every
 * target with reason `stale_replay` (their dead letters are resolved as superseded; a later failure of the
 * newer version has its own dead letter). `failedAtMs(i)` is when the record at `incoming[i]` failed.
 * Answers new decision arrays; the counts of `result` are adjusted in place of a copy.
 */
export function skipStaleReplays(
  result: DeltaResult,
  incoming: readonly IncomingIdentity[],
  failedAtMs: (index: number) => number,
  storedByTarget: Iterable<ReadonlyMap<string, StoredIdentity>>,
): { result: DeltaResult; stale: Set<number> } {
  const stores = [...storedByTarget];
  const stale = new Set<number>();
  for (let i = 0; i < incoming.length; i++) {
    const failedAt = failedAtMs(i);
    const later = stores.some((store) => {
      const syncedAt = store.get(incoming[i]!.bkHash)?.syncedAt;
      return syncedAt !== undefined && syncedAt !== null && new Date(syncedAt).getTime() > failedAt;
    });
    if (later) stale.add(i);
  }
  if (stale.size === 0) return { result, stale };
  const counts = emptyCounts();
  counts.duplicates = result.counts.duplicates;
  const decisions = result.decisions.map((d) => {
    const next = d.index !== undefined && stale.has(d.index) && d.operation !== 'SKIP' ? { ...d, ...STALE } : d;
    tally(counts, next.operation);
    return next;
  });
  counts.processed = result.counts.processed;
  counts.efficiency = counts.processed === 0 ? 0 : counts.skipped / counts.processed;
  return { result: { decisions, counts }, stale };
}
