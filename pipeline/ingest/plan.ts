import type { TargetConfig } from '../connector-config.ts';
import type { Decision } from '../delta/delta.ts';
import type { ApplyBatch, TargetRecord } from '../target-record.ts';

/**
 * INGEST, pure part: the target batch a page's decisions call for, and what
 * it would cost (dry runs report this instead of writing).
 */
/** Record indices in the order a target answers them: inserts first, then updates (Target.apply's contract). */
export function writeOrder(
  decisions: readonly Decision[],
  ready: (index: number) => boolean,
): { inserts: number[]; updates: number[] } {
  const inserts: number[] = [];
  const updates: number[] = [];
  for (const decision of decisions) {
    if (decision.index === undefined || !ready(decision.index)) continue;
    if (decision.operation === 'INSERT') inserts.push(decision.index);
    else if (decision.operation === 'UPDATE') updates.push(decision.index);
  }
  return { inserts, updates };
}

export function applyBatchOf(
  decisions: readonly Decision[],
  records: readonly TargetRecord[],
  ready: (index: number) => boolean,
): ApplyBatch {
  const order = writeOrder(decisions, ready);
  return {
    inserts: order.inserts.map((i) => records[i]!),
    updates: order.updates.map((i) => records[i]!),
    deletes: [],
  };
}

/** Calls a target needs for a batch: PostgreSQL writes a page in one transaction; ScheduleHub per op in batches. */
export function targetCallsFor(
  target: TargetConfig,
  batch: { inserts: number; updates: number; deletes: number },
): number {
  if (batch.inserts + batch.updates + batch.deletes === 0) return 0;
  if (target.type === 'postgres') return 1;
  const calls = (n: number) => Math.ceil(n / target.batchSize);
  return calls(batch.inserts) + calls(batch.updates) + calls(batch.deletes);
}
