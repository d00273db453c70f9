import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { addBatchMetricCounts, anyBatchOpen, moveCounts } from '../db/batches.ts';
import { type DeadLetter, deadLetterKey, insertDeadLetters } from '../db/dead-letters.ts';
import { insertEventSql } from '../db/events.ts';
import { failureText, identityWriteOf, presentIn, writeIdentities } from '../db/identity-store.ts';
import {
  claimWaitingChildren,
  entitiesWithWaitingChildren,
  markChildrenDeadLettered,
  markChildrenReleased,
  type PendingChildRow,
  postponeChild,
  waitingChildren,
} from '../db/pending-children.ts';
import { inTransaction } from '../db/transaction.ts';
import { childRetryDelayMs } from '../pipeline/resolve/parents.ts';
import { applyToTargets, markingSent, type TargetOutcome, targetDeadLetter } from './apply-to-targets.ts';
import type { ChildActivities, ReleaseInput, ReleaseReport } from './contract.ts';
import type { WorkerContext } from './deps.ts';
import type { EntityRuntime } from './entity-runtime.ts';

const CHUNK = 500;

/** RESOLVE, the waiting side: children whose parents have landed are ingested; the others back off, then go to the DLQ. */
export function createChildActivities(ctx: WorkerContext): ChildActivities {
  return {
    async entitiesWithWaitingChildren(): Promise<string[]> {
      return entitiesWithWaitingChildren(ctx.pool);
    },

    async releasePendingChildren(input: ReleaseInput): Promise<ReleaseReport> {
      const rt = await ctx.runtimes.get(input.entityName);
      const report: ReleaseReport = { released: 0, deadLettered: 0, refused: 0, waiting: 0, nextRetryAt: null };
      const seen = new Set<string>();
      for (;;) {
        Context.current().heartbeat(report);
        const rows = await claimWaitingChildren(ctx.pool, input.entityName, {
          dueOnly: input.countAttempt,
          exclude: [...seen],
          limit: CHUNK,
        });
        if (rows.length === 0) break;
        for (const row of rows) seen.add(row.uid);
        await releaseChunk(ctx, rt, input, rows, report);
      }
      const still = await waitingChildren(ctx.pool, input.entityName);
      report.waiting = still.waiting;
      report.nextRetryAt = still.nextRetryAt?.toISOString() ?? null;
      // An entity that is its own parent (a hierarchy): its open batch is the one asking, which releases nothing more.
      const parents = [...new Set(rt.config.parents.map((p) => p.entity))].filter((e) => e !== input.entityName);
      report.parentBatchRunning = still.waiting > 0 && (await anyBatchOpen(ctx.pool, parents));
      return report;
    },
  };
}

/** A child that leaves the queue for the DLQ: its parent never came, or the primary target refused it. */
interface DeadChild {
  row: PendingChildRow;
  kind: 'parent_missing' | 'refused';
  /** pending_children.last_error */
  message: string;
  letter: DeadLetter;
}

async function releaseChunk(
  ctx: WorkerContext,
  rt: EntityRuntime,
  input: ReleaseInput,
  rows: PendingChildRow[],
  report: ReleaseReport,
): Promise<void> {
  const refs = rows.map((row) => ({ row, parents: rt.parents ? rt.parents(row.child_payload.record.data) : [] }));
  const present = new Map<string, Set<string>>();
  for (const [parentEntity, parentTarget] of rt.parentPrimary) {
    const wanted = refs.flatMap((r) =>
      r.parents.filter((p) => p.parentEntity === parentEntity).map((p) => p.parentBkHash),
    );
    present.set(parentEntity, await presentIn(ctx.pool, parentEntity, parentTarget, wanted));
  }
  const isReady = (r: (typeof refs)[number]) =>
    r.parents.every((p) => present.get(p.parentEntity)?.has(p.parentBkHash));
  const missing = refs.filter((r) => !isReady(r)).map((r) => r.row);
  // The ready ones in the order every target answers them: inserts, then updates.
  const ready = [
    ...refs.filter((r) => isReady(r) && r.row.child_payload.operation === 'INSERT'),
    ...refs.filter((r) => isReady(r) && r.row.child_payload.operation === 'UPDATE'),
  ].map((r) => r.row);

  // Ingest the ready ones through the one write path (primary first; targets are idempotent by bk_hash), and
  // record every target's answer per record in the identity store.
  let outcomes: TargetOutcome[] = [];
  if (ready.length > 0) {
    const records = ready.map((r) => r.child_payload.record);
    const inserts = records.filter((_, i) => ready[i]!.child_payload.operation === 'INSERT');
    outcomes = await applyToTargets(
      rt,
      { inserts, updates: records.slice(inserts.length), deletes: [] },
      {
        signal: Context.current().cancellationSignal,
        beforeWrite: markingSent(ctx.pool, input.entityName, ready[0]!.batch_uid),
      },
    );
    for (const outcome of outcomes) {
      const writes = outcome.results.map((result, i) => identityWriteOf(records[i]!, result));
      await writeIdentities(ctx.pool, input.entityName, outcome.target, ready[0]!.batch_uid, writes);
    }
  }

  const base = rt.config.childRetryBaseSeconds;
  const letterOf = (row: PendingChildRow, fields: ReturnType<typeof targetDeadLetter>): DeadLetter => ({
    batchUid: row.batch_uid,
    entityName: input.entityName,
    bkHash: row.child_bk_hash,
    dataHash: row.child_payload.record.dataHash,
    refStr: row.child_ref_str,
    idempotencyKey: deadLetterKey(
      input.entityName,
      `${row.child_bk_hash}:${row.child_payload.record.dataHash}`,
      fields.targetName,
    ),
    rawData: row.child_payload.raw ?? null,
    mappedData: row.child_payload.record.data,
    retryCount: row.retry_count,
    ...fields,
  });
  const released: PendingChildRow[] = [];
  const dead: DeadChild[] = [];
  /** Records a secondary target did not take: DLQ rows with its name, counted on the child's batch. */
  const secondaryLetters: DeadLetter[] = [];
  const secondaryFailures = new Map<string, Record<string, number>>();
  const primary = outcomes.find((o) => o.primary);
  ready.forEach((row, i) => {
    const result = primary?.results[i] ?? { bkHash: row.child_bk_hash, op: 'insert' as const, ok: false };
    if (result.ok) released.push(row);
    else {
      const letter = letterOf(row, targetDeadLetter(result, rt.primary.name, base));
      dead.push({ row, kind: 'refused', message: failureText(result), letter });
    }
  });
  for (const outcome of outcomes.filter((o) => !o.primary)) {
    outcome.results.forEach((result, i) => {
      if (result.ok) return;
      const row = ready[i]!;
      secondaryLetters.push(letterOf(row, targetDeadLetter(result, outcome.target, base)));
      const counts = secondaryFailures.get(row.batch_uid) ?? {};
      counts[outcome.target] = (counts[outcome.target] ?? 0) + 1;
      secondaryFailures.set(row.batch_uid, counts);
    });
  }

  await inTransaction(ctx.pool, async (client) => {
    for (const row of missing) {
      const attempts = row.retry_count + (input.countAttempt ? 1 : 0);
      const parent = row.parent_ref_str ?? row.parent_entity;
      if (input.countAttempt && attempts >= row.max_retries) {
        const message = `parent ${parent} never arrived (${attempts} attempts)`;
        dead.push({
          row,
          kind: 'parent_missing',
          message,
          letter: letterOf(row, {
            stage: 'resolve',
            targetName: null,
            errorType: 'parent_missing',
            errorMessage: message,
            errorDetails: null,
            nextRetryAt: null,
          }),
        });
      } else {
        await postponeChild(client, row.uid, {
          attempts,
          due: new Date(Date.now() + childRetryDelayMs(base, attempts + 1)),
          lastError: `parent ${parent} not in its target yet`,
        });
      }
    }
    if (released.length > 0) {
      await markChildrenReleased(
        client,
        released.map((r) => r.uid),
      );
      await moveCountsOf(client, released, (row) =>
        row.child_payload.operation === 'INSERT' ? 'inserted' : 'updated',
      );
      await insertEventSql(client, 'child.released', input.entityName, released[0]!.batch_uid, {
        count: released.length,
        children: released.slice(0, 20).map((r) => r.child_ref_str),
      });
    }
    await insertDeadLetters(client, [...dead.map((d) => d.letter), ...secondaryLetters]);
    for (const [batchUid, counts] of secondaryFailures) {
      await addBatchMetricCounts(client, batchUid, { secondaryFailures: counts });
    }
    if (dead.length > 0) {
      await markChildrenDeadLettered(
        client,
        dead.map((d) => ({ uid: d.row.uid, message: d.message })),
      );
      await moveCountsOf(
        client,
        dead.map((d) => d.row),
        () => 'failed',
      );
    }
    if (dead.length + secondaryLetters.length > 0) {
      const quarantined = [...dead.map((d) => d.letter), ...secondaryLetters];
      await insertEventSql(client, 'record.quarantined', input.entityName, quarantined[0]!.batchUid, {
        count: quarantined.length,
        stage: 'resolve',
        examples: quarantined.slice(0, 5).map((q) => ({
          ref: q.refStr,
          errorType: q.errorType,
          message: q.errorMessage,
          ...(q.targetName ? { target: q.targetName } : {}),
        })),
      });
    }
  });
  report.released += released.length;
  report.deadLettered += dead.filter((d) => d.kind === 'parent_missing').length;
  report.refused += dead.filter((d) => d.kind === 'refused').length;
}

/** Moves each child from `pending` to its bucket on the batch that read it: one update per batch and bucket. */
async function moveCountsOf(
  client: Pick<pg.PoolClient, 'query'>,
  rows: readonly PendingChildRow[],
  bucketOf: (row: PendingChildRow) => 'inserted' | 'updated' | 'failed',
): Promise<void> {
  const moves = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.batch_uid} ${bucketOf(row)}`;
    moves.set(key, (moves.get(key) ?? 0) + 1);
  }
  for (const [key, n] of moves) {
    const [batchUid, bucket] = key.split(' ') as [string, 'inserted' | 'updated' | 'failed'];
    await moveCounts(client, batchUid, 'pending', bucket, n);
  }
}
