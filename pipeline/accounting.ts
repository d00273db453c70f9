/**
 * Per-batch and per-page record counts. Every fetched record ends in exactly
 * one of inserted / updated / skipped / failed / pending (deletes are counted
 * apart: they are records the source no longer has).
 */
export interface RecordCounts {
  fetched: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  pending: number;
  deleted: number;
}

export const zeroCounts = (): RecordCounts => ({
  fetched: 0,
  inserted: 0,
  updated: 0,
  skipped: 0,
  failed: 0,
  pending: 0,
  deleted: 0,
});

export function addCounts(a: RecordCounts, b: RecordCounts): RecordCounts {
  return {
    fetched: a.fetched + b.fetched,
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    skipped: a.skipped + b.skipped,
    failed: a.failed + b.failed,
    pending: a.pending + b.pending,
    deleted: a.deleted + b.deleted,
  };
}

/** The accounting invariant: nothing fetched is silently dropped. Returns the unaccounted difference (0 = balanced). */
export function unaccounted(c: RecordCounts): number {
  return c.fetched - (c.inserted + c.updated + c.skipped + c.failed + c.pending);
}
