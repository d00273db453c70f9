import { Context } from '@temporalio/activity';
import type { ApplyResult } from '../connectors/types.ts';
import { addBatchMetricCounts, addDeleted, mergeBatchMetrics, readBatchMetricCounts } from '../db/batches.ts';
import {
  type DeadLetter,
  deadLetterKey,
  hasOpenDeadLetters,
  insertDeadLetters,
  resolveLandedDeadLetters,
} from '../db/dead-letters.ts';
import { insertEventSql } from '../db/events.ts';
import {
  countDeleteCandidates,
  failureText,
  markDeleted,
  markDeleteFailed,
  nextDeleteCandidates,
} from '../db/identity-store.ts';
import { applyToTargets, targetDeadLetter, targetsInWriteOrder } from './apply-to-targets.ts';
import type { DeleteActivities, DeleteInput, DeleteReport } from './contract.ts';
import type { WorkerContext } from './deps.ts';

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
 *
 * The deletes go to every target through applyToTargets (primary first, one rule for a failing secondary),
 * each target its own candidates.
 * A delete a target refused or could not take is recorded per record, on the primary and on a secondary
 * alike: that target's identity-store row says `failed` with the reason (deleted_at stays null: the target
 * still holds the record; see markDeleteFailed) and the DLQ holds a row with the target's name (stage
 * ingest, operation delete). On the primary that takes the record out of the candidates (the batch notes
 * count it); a secondary's count goes to the batch's `secondaryFailures`, as for INGEST.
 */
export function createDeleteActivities(ctx: WorkerContext): DeleteActivities {
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
      if (input.dryRun) {
        report.deleted = candidates; // what ingest would delete
        return report;
      }
      // Each target's own candidates (what it holds that the sync did not see): a secondary that missed an
      // earlier delete while the primary took it still gets it.
      const targets = targetsInWriteOrder(rt).map((t) => t.name);
      if (candidates === 0 && rt.config.targets.length === 1) return report;
      for (;;) {
        Context.current().heartbeat(report);
        const chunks = new Map<string, Awaited<ReturnType<typeof nextDeleteCandidates>>>();
        for (const name of targets) {
          chunks.set(name, await nextDeleteCandidates(ctx.pool, input.entityName, name, input.batchUid, CHUNK));
        }
        if ([...chunks.values()].every((chunk) => chunk.length === 0)) break;
        const outcomes = await applyToTargets(
          rt,
          (name) => ({ inserts: [], updates: [], deletes: chunks.get(name)! }),
          { softDelete: policy === 'soft', signal: Context.current().cancellationSignal },
        );
        const letters: DeadLetter[] = [];
        const secondaryFailures: Record<string, number> = {};
        for (const outcome of outcomes) {
          const deletes = chunks.get(outcome.target)!;
          if (deletes.length === 0) continue;
          report.targetCalls[outcome.target] = (report.targetCalls[outcome.target] ?? 0) + 1;
          const resultOf = new Map(outcome.results.map((r) => [r.bkHash, r]));
          const answer = (bkHash: string): ApplyResult => resultOf.get(bkHash) ?? { bkHash, op: 'delete', ok: false };
          const ok = deletes.filter((d) => answer(d.bkHash).ok).map((d) => d.bkHash);
          const failed = deletes.filter((d) => !answer(d.bkHash).ok);
          await markDeleted(ctx.pool, input.entityName, outcome.target, input.batchUid, ok);
          if (ok.length > 0 && (await hasOpenDeadLetters(ctx.pool, input.entityName))) {
            // The record is gone from the source and now from this target: its dead letters there are settled.
            const landed = ok.map((bkHash) => ({ bkHash, sourceKey: null }));
            await resolveLandedDeadLetters(ctx.pool, input.entityName, outcome.target, input.batchUid, landed);
          }
          await markDeleteFailed(
            ctx.pool,
            input.entityName,
            outcome.target,
            input.batchUid,
            failed.map((d) => ({ bkHash: d.bkHash, error: failureText(answer(d.bkHash)) })),
          );
          for (const d of failed) {
            letters.push({
              batchUid: input.batchUid,
              entityName: input.entityName,
              bkHash: d.bkHash,
              refStr: d.refStr,
              idempotencyKey: deadLetterKey(input.entityName, `${d.bkHash}:delete`, outcome.target),
              ...targetDeadLetter(answer(d.bkHash), outcome.target, rt.config.childRetryBaseSeconds),
            });
          }
          if (outcome.primary) {
            report.deleted += ok.length;
            report.failed += failed.length;
            await addDeleted(ctx.pool, input.batchUid, ok.length);
          } else if (failed.length > 0) {
            secondaryFailures[outcome.target] = failed.length;
          }
        }
        await insertDeadLetters(ctx.pool, letters);
        await addBatchMetricCounts(ctx.pool, input.batchUid, { secondaryFailures });
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
