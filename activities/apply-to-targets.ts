import type pg from 'pg';
import type { ApplyOperation, ApplyResult, Target } from '../connectors/types.ts';
import type { DeadLetter } from '../db/dead-letters.ts';
import { markSent } from '../db/identity-store.ts';
import type { TargetConfig } from '../pipeline/connector-config.ts';
import { childRetryDelayMs } from '../pipeline/resolve/parents.ts';
import type { ApplyBatch } from '../pipeline/target-record.ts';
import { connectorCall } from './failures.ts';

/** What writing to an entity's targets needs of its runtime (an EntityRuntime; a test passes fakes). */
export interface EntityTargets {
  primary: Pick<TargetConfig, 'name'>;
  config: { targets: ReadonlyArray<Pick<TargetConfig, 'name'>> };
  target(name: string): Pick<Target, 'apply'>;
}

/** The `beforeWrite` of INGEST and the release of children: what each target is sent becomes `pending` first. */
export const markingSent =
  (pool: pg.Pool, entityName: string, batchUid: string) =>
  (target: string, batch: ApplyBatch): Promise<void> =>
    markSent(pool, entityName, target, batchUid, [...batch.inserts, ...batch.updates]);

/** One target's answer: one result per record, in Target.apply's order (inserts, updates, then deletes). */
export interface TargetOutcome {
  target: string;
  primary: boolean;
  results: ApplyResult[];
}

export interface ApplyToTargetsOptions {
  /** The activity's cancellation: a write in progress stops, no further target is written. */
  signal: AbortSignal;
  /** Deletes mark the records deleted instead of removing them (delete policy soft). */
  softDelete?: boolean;
  /** Told the name of each target before it is written (heartbeat details). */
  onTarget?: (target: string) => void;
  /**
   * Awaited before each target's call with what it is sent (INGEST and the release of children record the
   * inserts and updates `pending`: db/identity-store.ts markSent). An error here is SyncFlow's, not the
   * target's: it goes out, whichever the target.
   */
  beforeWrite?: (target: string, batch: ApplyBatch) => Promise<void>;
}

/** An entity's targets in the order they are written: the primary first. */
export const targetsInWriteOrder = <T extends Pick<TargetConfig, 'name'>>(rt: {
  primary: T;
  config: { targets: readonly T[] };
}): T[] => [rt.primary, ...rt.config.targets.filter((t) => t.name !== rt.primary.name)];

/**
 * The one way SyncFlow writes to targets: INGEST, the release of waiting children and the deletes all come
 * through here, with one rule for a target that fails. `batchFor` is one batch for every target, or each
 * target's own (INGEST: what DELTA decided for that target); a target with nothing to write is not called.
 *
 * - The primary is written first. When its call fails the error goes out: the activity fails and Temporal
 *   retries it (targets are idempotent by bk_hash, so what landed before lands again unchanged), and no
 *   secondary is written before the primary has the records.
 * - A secondary whose call fails never blocks the primary, and is never swallowed either: each record of the
 *   batch gets a failed result (type `target_unavailable`, permanent false) like a record the target refused,
 *   and the caller records every failed result per record: the identity store's row for that target says
 *   failed, and the DLQ holds a row with the target's name (TRACK for INGEST, the release, the deletes).
 * - A cancelled activity (the signal fired) rethrows whatever the write threw: nothing more is written.
 *
 * A target that answers per record (some records refused) is not an error here: its results say which.
 */
export async function applyToTargets(
  rt: EntityTargets,
  batchFor: ApplyBatch | ((target: string) => ApplyBatch),
  options: ApplyToTargetsOptions,
): Promise<TargetOutcome[]> {
  const outcomes: TargetOutcome[] = [];
  for (const target of targetsInWriteOrder(rt)) {
    const primary = target.name === rt.primary.name;
    const batch = typeof batchFor === 'function' ? batchFor(target.name) : batchFor;
    // Each target gets what it lacks (DELTA decides per target): nothing to send, no call.
    if (batch.inserts.length + batch.updates.length + batch.deletes.length === 0) {
      outcomes.push({ target: target.name, primary, results: [] });
      continue;
    }
    options.onTarget?.(target.name);
    await options.beforeWrite?.(target.name, batch);
    try {
      const results = await connectorCall(() =>
        rt.target(target.name).apply(batch, {
          signal: options.signal,
          ...(options.softDelete ? { softDelete: true } : {}),
        }),
      );
      outcomes.push({ target: target.name, primary, results });
    } catch (error) {
      if (options.signal.aborted || primary) throw error;
      outcomes.push({ target: target.name, primary, results: unavailable(batch, error) });
    }
  }
  return outcomes;
}

/** Every record of the batch, failed: the target could not be written at all (retrying later may help). */
function unavailable(batch: ApplyBatch, error: unknown): ApplyResult[] {
  const failed = (bkHash: string, op: ApplyOperation): ApplyResult => ({
    bkHash,
    op,
    ok: false,
    error: { type: 'target_unavailable', message: (error as Error).message ?? String(error), permanent: false },
  });
  return [
    ...batch.inserts.map((r) => failed(r.bkHash, 'insert')),
    ...batch.updates.map((r) => failed(r.bkHash, 'update')),
    ...batch.deletes.map((r) => failed(r.bkHash, 'delete')),
  ];
}

/** Why a target did not take a record, as the DLQ says it (TRACK's quarantined rows carry the same fields). */
export interface TargetFailure {
  errorType: string;
  message: string;
  details: { permanent: boolean; operation: ApplyOperation };
}

export function targetFailure(result: ApplyResult): TargetFailure {
  return {
    errorType: result.error?.type ?? 'target_error',
    message: result.error?.message ?? 'the target refused the record',
    details: { permanent: result.error?.permanent ?? true, operation: result.op },
  };
}

/** When a dead letter is tried again: a transient failure after the first back-off; a permanent one on request only. */
export function retryAtOf(details: unknown, retryBaseSeconds: number): Date | null {
  const transient = details !== undefined && (details as { permanent?: boolean } | null)?.permanent === false;
  return transient ? new Date(Date.now() + childRetryDelayMs(retryBaseSeconds, 1)) : null;
}

/** The DLQ fields of a record `target` refused or could not take (the caller adds the record's own). */
export function targetDeadLetter(
  result: ApplyResult,
  target: string,
  retryBaseSeconds: number,
): Pick<DeadLetter, 'stage' | 'targetName' | 'errorType' | 'errorMessage' | 'errorDetails' | 'nextRetryAt'> {
  const failure = targetFailure(result);
  return {
    stage: 'ingest',
    targetName: target,
    errorType: failure.errorType,
    errorMessage: failure.message,
    errorDetails: failure.details,
    nextRetryAt: retryAtOf(failure.details, retryBaseSeconds),
  };
}
