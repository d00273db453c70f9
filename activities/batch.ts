import { ApplicationFailure } from '@temporalio/activity';
import { recordEvent } from '../db/events.ts';
import { type RecordCounts, unaccounted } from '../pipeline/accounting.ts';
import type { ActivityDeps } from './deps.ts';

export type BatchStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
export type FinalStatus = 'completed' | 'failed' | 'cancelled';

export interface StartBatchInput {
  batchUid: string;
  entityName: string;
  syncType: 'full' | 'incremental' | 'background';
  dryRun: boolean;
  workflowId: string;
}

/** sync_batches lifecycle: pending → running → completed / failed / cancelled, with events. */
export function createBatchActivities({ prisma }: ActivityDeps) {
  return {
    /** Idempotent: a retried or replayed start finds the row already running. */
    async markBatchRunning(input: StartBatchInput): Promise<void> {
      const existing = await prisma.syncBatch.findUnique({ where: { uid: input.batchUid } });
      if (existing && existing.status !== 'pending') return; // a retry: already running
      const running = { status: 'running', startedAt: new Date(), workflowId: input.workflowId };
      if (existing) {
        await prisma.syncBatch.update({ where: { uid: input.batchUid }, data: running });
      } else {
        await prisma.syncBatch.create({
          data: {
            uid: input.batchUid,
            entityName: input.entityName,
            syncType: input.syncType,
            dryRun: input.dryRun,
            ...running,
          },
        });
      }
      await recordEvent(prisma, {
        type: 'sync.started',
        entityName: input.entityName,
        batchUid: input.batchUid,
        payload: { syncType: input.syncType, dryRun: input.dryRun, workflowId: input.workflowId },
      });
    },

    /**
     * Adds one page's counts. Keyed by page number in the batch's metrics so a
     * retried activity never counts a page twice.
     */
    async recordPageCounts(batchUid: string, page: number, counts: RecordCounts): Promise<void> {
      if (unaccounted(counts) !== 0) {
        throw ApplicationFailure.nonRetryable(
          `Page ${page} of batch ${batchUid} does not balance: fetched ${counts.fetched} ≠ inserted + updated + skipped + failed + pending (${JSON.stringify(counts)}).`,
          'AccountingError',
        );
      }
      await prisma.$transaction(async (tx) => {
        const claimed = await tx.$executeRaw`
          UPDATE sync_batches
             SET metrics = jsonb_set(metrics, '{pagesCounted}', COALESCE(metrics->'pagesCounted', '[]'::jsonb) || to_jsonb(${page}::int)),
                 total_fetched = total_fetched + ${counts.fetched},
                 total_processed = total_processed + ${counts.fetched},
                 inserted = inserted + ${counts.inserted},
                 updated = updated + ${counts.updated},
                 skipped = skipped + ${counts.skipped},
                 failed = failed + ${counts.failed},
                 pending = pending + ${counts.pending},
                 deleted = deleted + ${counts.deleted},
                 pages_completed = pages_completed + 1,
                 updated_at = now()
           WHERE uid = ${batchUid}::uuid
             AND NOT (COALESCE(metrics->'pagesCounted', '[]'::jsonb) @> to_jsonb(${page}::int))`;
        if (claimed === 0) return;
        const batch = await tx.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
        await tx.syncEvent.create({
          data: {
            type: 'sync.page_completed',
            entityName: batch.entityName,
            batchUid,
            payload: { page, ...counts },
          },
        });
      });
    },

    async finishBatch(batchUid: string, status: FinalStatus, error?: string): Promise<void> {
      const batch = await prisma.syncBatch.update({
        where: { uid: batchUid },
        data: { status, completedAt: new Date(), errorMessage: error ?? null },
      });
      await recordEvent(prisma, {
        type: `sync.${status}`,
        entityName: batch.entityName,
        batchUid,
        payload: {
          fetched: Number(batch.totalFetched),
          inserted: Number(batch.inserted),
          updated: Number(batch.updated),
          skipped: Number(batch.skipped),
          failed: Number(batch.failed),
          pending: Number(batch.pending),
          deleted: Number(batch.deleted),
          ...(error ? { error } : {}),
        },
      });
    },
  };
}
export type BatchActivities = ReturnType<typeof createBatchActivities>;
