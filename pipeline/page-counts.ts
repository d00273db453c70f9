import { type RecordCounts, zeroCounts } from './accounting.ts';
import type { Decision } from './delta/delta.ts';

/**
 * One page's accounting: every fetched row ends in exactly one bucket.
 * - rows quarantined before DELTA (normalize / validate / map) → failed;
 * - SKIP, and rows found unchanged since the last sync before NORMALIZE → skipped;
 * - INSERT / UPDATE waiting for a parent → pending;
 * - INSERT / UPDATE the primary target refused → failed;
 * - otherwise inserted / updated (in a dry run: what ingest would do).
 */
export interface PageOutcome {
  fetched: number;
  quarantinedBeforeDelta: number;
  /** Rows found unchanged since the last sync before NORMALIZE: SKIPs that never reached DELTA's decisions. */
  unchanged?: number;
  decisions: readonly Decision[];
  isWaiting: (recordIndex: number) => boolean;
  /** Records the primary target refused (by record index); empty in a dry run. */
  refusedByPrimary: ReadonlySet<number>;
}

export function countPage(outcome: PageOutcome): RecordCounts {
  const counts = zeroCounts();
  counts.fetched = outcome.fetched;
  counts.failed = outcome.quarantinedBeforeDelta;
  counts.skipped = outcome.unchanged ?? 0;
  for (const decision of outcome.decisions) {
    if (decision.index === undefined) continue;
    if (decision.operation === 'SKIP') counts.skipped++;
    else if (outcome.isWaiting(decision.index)) counts.pending++;
    else if (outcome.refusedByPrimary.has(decision.index)) counts.failed++;
    else if (decision.operation === 'INSERT') counts.inserted++;
    else if (decision.operation === 'UPDATE') counts.updated++;
  }
  return counts;
}
