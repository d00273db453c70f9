import { Context } from '@temporalio/activity';
import { addDeleted, mergeBatchMetrics, readBatchMetricCounts } from '../db/batches.ts';
import { insertEventSql } from '../db/events.ts';
import { countDeleteCandidates, markDeleted, markDeleteRefused, nextDeleteCandidates } from '../db/identity-store.ts';
import type { WorkerContext } from './deps.ts';

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

const CHUNK = 5_000;

/**
 * DELETE after a completed full sync: what the primary target holds (per the
 * identity store) that the sync did not see. Policy per entity: hard delete,
 * soft delete (the target marks it), or none (reported only). A dry run
 * reports the candidates and writes nothing.
 *
 * "Seen" includes the keys of rows that failed NORMALIZE / VALIDATE / MAP
 * (TRACK records them): a bad update in the source never deletes the
 * record's last good version. A failed row whose key could not be computed
 * at all might be any candidate, so then the deletes are held, not guessed:
 * reported in the batch's metrics (`deletesHeld`), notes and a
 * `sync.deletes_held` event.
 */
export function createDeleteActivities(ctx: WorkerContext) {
  return {
    async applyDeletes(input: DeleteInput): Promise<DeleteReport> {
      const rt = await ctx.runtimes.get(input.entityName, input.configVersion);
      const policy = rt.config.deletePolicy;
      // Policy none: the sync does not track what it saw (no cost per row), so there is nothing to compare.
      if (policy === 'none') return { candidates: 0, deleted: 0, failed: 0, held: 0, policy, targetCalls: {} };
      const target = rt.primary.name;
      const candidates = await countDeleteCandidates(ctx.pool, input.entityName, target, input.batchUid);
      const report: DeleteReport = { candidates, deleted: 0, failed: 0, held: 0, policy, targetCalls: {} };
      const { unkeyedFailures } = await readBatchMetricCounts(ctx.pool, input.batchUid);
      if (unkeyedFailures > 0) {
        report.held = unkeyedFailures;
        await mergeBatchMetrics(ctx.pool, input.batchUid, { deletesHeld: { unkeyedFailures, candidates, policy } });
        await insertEventSql(ctx.pool, 'sync.deletes_held', input.entityName, input.batchUid, {
          count: unkeyedFailures,
          candidates,
          policy,
          dryRun: input.dryRun,
        });
        return report;
      }
      if (input.dryRun || candidates === 0) {
        if (input.dryRun) report.deleted = candidates; // what ingest would delete
        return report;
      }
      for (;;) {
        Context.current().heartbeat(report);
        const deletes = await nextDeleteCandidates(ctx.pool, input.entityName, target, input.batchUid, CHUNK);
        if (deletes.length === 0) break;
        const okOnPrimary = new Set<string>();
        for (const each of [rt.primary, ...rt.config.targets.filter((t) => t.name !== rt.primary.name)]) {
          const results = await rt
            .target(each.name)
            .apply(
              { inserts: [], updates: [], deletes },
              { softDelete: policy === 'soft', signal: Context.current().cancellationSignal },
            )
            .catch((error) => {
              if (Context.current().cancellationSignal.aborted) throw error; // stopped: nothing more is written
              if (each.name === rt.primary.name) throw error;
              return [];
            });
          report.targetCalls[each.name] = (report.targetCalls[each.name] ?? 0) + 1;
          const ok = results.filter((r) => r.ok).map((r) => r.bkHash);
          await markDeleted(ctx.pool, input.entityName, each.name, input.batchUid, ok);
          if (each.name === rt.primary.name) for (const bk of ok) okOnPrimary.add(bk);
        }
        const refused = deletes.filter((d) => !okOnPrimary.has(d.bkHash)).map((d) => d.bkHash);
        // Out of the candidate set, so the loop ends; visible in the identity store and the batch notes.
        await markDeleteRefused(ctx.pool, input.entityName, target, refused);
        report.deleted += okOnPrimary.size;
        report.failed += refused.length;
        await addDeleted(ctx.pool, input.batchUid, okOnPrimary.size);
      }
      await insertEventSql(ctx.pool, 'sync.page_completed', input.entityName, input.batchUid, {
        phase: 'deletes',
        deleted: report.deleted,
        failed: report.failed,
        policy,
      });
      return report;
    },
  };
}
export type DeleteActivities = ReturnType<typeof createDeleteActivities>;
