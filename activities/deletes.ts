import { Context } from '@temporalio/activity';
import { insertEventSql } from '../db/events.ts';
import { markDeleted } from '../db/identity-store.ts';
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
  policy: 'hard' | 'soft' | 'none';
  targetCalls: Record<string, number>;
}

const CHUNK = 5_000;

/**
 * DELETE after a completed full sync: what the primary target holds (per the
 * identity store) that the sync did not see. Policy per entity: hard delete,
 * soft delete (the target marks it), or none (reported only). A dry run
 * reports the candidates and writes nothing.
 */
export function createDeleteActivities(ctx: WorkerContext) {
  return {
    async applyDeletes(input: DeleteInput): Promise<DeleteReport> {
      const rt = await ctx.runtimes.get(input.entityName, input.configVersion);
      const policy = rt.config.deletePolicy;
      // Policy none: the sync does not track what it saw (no cost per row), so there is nothing to compare.
      if (policy === 'none') return { candidates: 0, deleted: 0, failed: 0, policy, targetCalls: {} };
      const unseen = `FROM identity_records ir
        WHERE ir.entity_name = $1 AND ir.target_name = $2 AND ir.deleted_at IS NULL AND ir.sync_status = 'synced'
          AND NOT EXISTS (SELECT 1 FROM sync_seen_keys s WHERE s.batch_uid = $3::uuid AND s.bk_hash = ir.bk_hash)`;
      const args = [input.entityName, rt.primary.name, input.batchUid];
      const { rows } = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n ${unseen}`, args);
      const candidates = Number(rows[0]!.n);
      const report: DeleteReport = { candidates, deleted: 0, failed: 0, policy, targetCalls: {} };
      if (input.dryRun || candidates === 0) {
        if (input.dryRun) report.deleted = candidates; // what ingest would delete
        return report;
      }
      for (;;) {
        Context.current().heartbeat(report);
        const chunk = await ctx.pool.query<{ bk_hash: string; ref_str: string | null }>(
          `SELECT ir.bk_hash, ir.ref_str ${unseen} ORDER BY ir.bk_hash LIMIT ${CHUNK}`,
          args,
        );
        if (chunk.rows.length === 0) break;
        const deletes = chunk.rows.map((r) => ({ bkHash: r.bk_hash, refStr: r.ref_str ?? r.bk_hash }));
        const okOnPrimary = new Set<string>();
        for (const target of [rt.primary, ...rt.config.targets.filter((t) => t.name !== rt.primary.name)]) {
          const results = await rt
            .target(target.name)
            .apply({ inserts: [], updates: [], deletes }, { softDelete: policy === 'soft' })
            .catch((error) => {
              if (target.name === rt.primary.name) throw error;
              return [];
            });
          report.targetCalls[target.name] = (report.targetCalls[target.name] ?? 0) + 1;
          const ok = results.filter((r) => r.ok).map((r) => r.bkHash);
          await markDeleted(ctx.pool, input.entityName, target.name, input.batchUid, ok);
          if (target.name === rt.primary.name) for (const bk of ok) okOnPrimary.add(bk);
        }
        const refused = deletes.filter((d) => !okOnPrimary.has(d.bkHash)).map((d) => d.bkHash);
        if (refused.length > 0) {
          // Out of the candidate set, so the loop ends; visible in the identity store and the batch notes.
          await ctx.pool.query(
            `UPDATE identity_records SET sync_status = 'failed', sync_error = 'delete refused by the target', last_attempt_at = now()
              WHERE entity_name = $1 AND target_name = $2 AND bk_hash = ANY($3::varchar[])`,
            [input.entityName, rt.primary.name, refused],
          );
        }
        report.deleted += okOnPrimary.size;
        report.failed += refused.length;
        await ctx.pool.query(
          'UPDATE sync_batches SET deleted = deleted + $2, updated_at = now() WHERE uid = $1::uuid',
          [input.batchUid, okOnPrimary.size],
        );
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
