import type { ApplyBatch, TargetRecord } from '../../pipeline/target-record.ts';
import { throwIfAborted } from '../abort.ts';
import { type ConnectorError, isConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import type {
  ApplyOperation,
  ApplyOptions,
  ApplyResult,
  EnsureResult,
  RecordError,
  StoredRecord,
  Target,
  TargetField,
} from '../types.ts';
import type { SchedulehubClient } from './client.ts';
import type { RecordInput, RecordOutcome } from './protocol.ts';

type Slot = { op: ApplyOperation; record: Pick<TargetRecord, 'bkHash'> & Partial<TargetRecord>; index: number };
type BatchOp = 'insert' | 'update' | 'delete';

/**
 * Failures after which the batch may or may not have been applied: a 2xx
 * answer that is not the JSON the contract promises, or no complete answer
 * (timeout, connection lost once connected). A refused connection or a
 * non-2xx status says nothing was done and is not one of these.
 */
export function isUnknownOutcome(error: ConnectorError): boolean {
  return ['content_type', 'malformed_body', 'schema_mismatch', 'timeout', 'connection'].includes(error.code);
}

export interface SchedulehubTargetOptions {
  client: SchedulehubClient;
  resource: string;
  batchSize: number;
  logger: ConnectorLogger;
}

const toInput = (r: TargetRecord): RecordInput => ({
  bk_hash: r.bkHash,
  data_hash: r.dataHash,
  rowversion: r.rowversion,
  ref: r.refStr,
  data: r.data,
});

/**
 * Records of one ScheduleHub resource, written with the batch endpoints.
 * Idempotent by bk_hash: an insert that finds the record already there is
 * re-sent as an update, an update that finds nothing as an insert, a delete
 * of an absent record counts as done. So a retried activity converges to the
 * same state instead of failing or duplicating.
 */
export class SchedulehubTarget implements Target {
  readonly kind = 'schedulehub' as const;

  constructor(private readonly options: SchedulehubTargetOptions) {}

  /** ScheduleHub owns its schema; the resource's field rules are checked per record on write. */
  async ensure(_fields: TargetField[]): Promise<EnsureResult> {
    await this.options.client.getManyByBkHash(this.options.resource, ['00000000']); // proves credentials and that the resource exists
    return { created: false, addedFields: [] };
  }

  async apply(batch: ApplyBatch, options: ApplyOptions = {}): Promise<ApplyResult[]> {
    const { signal } = options;
    const results = new Map<number, ApplyResult>();
    const order: Array<{ op: ApplyOperation; record: Pick<TargetRecord, 'bkHash'> }> = [
      ...batch.inserts.map((record) => ({ op: 'insert' as const, record })),
      ...batch.updates.map((record) => ({ op: 'update' as const, record })),
      ...batch.deletes.map((record) => ({ op: 'delete' as const, record })),
    ];
    const slots = order.map((entry, index) => ({ ...entry, index }));
    const writes = slots.filter((s) => s.op !== 'delete') as Array<{
      op: ApplyOperation;
      record: TargetRecord;
      index: number;
    }>;

    // First pass as asked; second pass for the records that were not where the operation expected them.
    const retryAsUpdate = await this.write(
      'insert',
      writes.filter((s) => s.op === 'insert'),
      results,
      signal,
    );
    const retryAsInsert = await this.write(
      'update',
      [...writes.filter((s) => s.op === 'update'), ...retryAsUpdate],
      results,
      signal,
    );
    const stillMissing = await this.write('insert', retryAsInsert, results, signal);
    for (const slot of stillMissing)
      results.set(
        slot.index,
        failure(slot, 'conflict', 'the record changed between insert and update (concurrent writer?)', false),
      );

    const deletes = slots.filter((s) => s.op === 'delete');
    for (const chunk of chunks(deletes, this.options.batchSize)) {
      const outcomes = await this.guard('delete', chunk, results, signal);
      outcomes.forEach((outcome, i) => {
        const slot = chunk[i]!;
        if (!outcome) return;
        results.set(
          slot.index,
          outcome.status === 'rejected'
            ? failure(slot, outcome.error?.code ?? 'rejected', outcome.error?.message ?? 'rejected', true)
            : success(slot, outcome.uid),
        );
      });
    }
    return slots.map((s) => results.get(s.index)!);
  }

  async fetchByBkHash(bkHashes: string[]): Promise<StoredRecord[]> {
    const records = await this.options.client.getManyByBkHash(this.options.resource, bkHashes);
    return records.map((r) => ({
      bkHash: r.bk_hash,
      dataHash: r.data_hash,
      rowversion: r.rowversion,
      refStr: r.ref,
      targetUid: r.uid,
      data: r.data,
      deletedAt: null,
    }));
  }

  health() {
    return probe(async () => {
      await this.options.client.health();
      await this.options.client.getManyByBkHash(this.options.resource, ['00000000']);
    });
  }

  close(): Promise<void> {
    return this.options.client.close();
  }

  /** Sends the slots in batches; returns those answered `exists` (for inserts) or `not_found` (for updates). */
  private async write<S extends { op: ApplyOperation; record: TargetRecord; index: number }>(
    as: 'insert' | 'update',
    slots: S[],
    results: Map<number, ApplyResult>,
    signal?: AbortSignal,
  ): Promise<S[]> {
    const redirected: S[] = [];
    for (const chunk of chunks(slots, this.options.batchSize)) {
      const outcomes = await this.guard(as, chunk, results, signal);
      outcomes.forEach((outcome, i) => {
        const slot = chunk[i]!;
        if (!outcome) return;
        if ((as === 'insert' && outcome.status === 'exists') || (as === 'update' && outcome.status === 'not_found'))
          redirected.push(slot);
        else results.set(slot.index, toResult(slot, outcome));
      });
    }
    return redirected;
  }

  /** One batch call as it is sent: the records (insert / update) or their bk_hashes (delete). */
  private send(op: BatchOp, chunk: Slot[], signal?: AbortSignal): Promise<{ results: RecordOutcome[] }> {
    const { client, resource } = this.options;
    if (op === 'delete')
      return client.batchDelete(
        resource,
        chunk.map((s) => s.record.bkHash),
        signal,
      );
    const inputs = chunk.map((s) => toInput(s.record as TargetRecord));
    return op === 'insert'
      ? client.batchInsert(resource, inputs, signal)
      : client.batchUpdate(resource, inputs, signal);
  }

  /**
   * Runs one batch call; answers one outcome per slot, in order (undefined: already settled in `results`).
   * Transient failures (after the client's own retries) propagate: the activity retries the whole batch,
   * which is idempotent. A permanent refusal of the call itself is reported on every record of it. An
   * answer that leaves the outcome unknown is settled by reading the records back (see settle()).
   */
  private async guard(
    op: BatchOp,
    chunk: Slot[],
    results: Map<number, ApplyResult>,
    signal?: AbortSignal,
    resend = true,
  ): Promise<Array<RecordOutcome | undefined>> {
    // Cancelled: no further batch call (an abort error, which is not a ConnectorError, propagates as is).
    throwIfAborted(signal);
    try {
      const response = await this.send(op, chunk, signal);
      return [...response.results].sort((a, b) => a.index - b.index);
    } catch (error) {
      if (!isConnectorError(error)) throw error;
      if (isUnknownOutcome(error)) return this.settle(op, chunk, results, error, resend, signal);
      if (error.transient) throw error;
      this.options.logger.warn(`schedulehub refused a batch of ${chunk.length}`, { reason: error.message });
      for (const slot of chunk) results.set(slot.index, failure(slot, error.code, error.message, true));
      return chunk.map(() => undefined);
    }
  }

  /**
   * After an answer that does not say what happened (a 200 in text/html, a
   * cut body, a timeout once sent), asks ScheduleHub what it holds: a write
   * whose record is there with this data_hash, or a delete whose record is
   * gone, landed. The others are sent once more; if that answer is unknown
   * too, a transient cause propagates (the activity retries, idempotently)
   * and any other is reported on those records with the real reason,
   * retryable. So no record that landed is ever called failed.
   */
  private async settle(
    op: BatchOp,
    chunk: Slot[],
    results: Map<number, ApplyResult>,
    cause: ConnectorError,
    resend: boolean,
    signal?: AbortSignal,
  ): Promise<Array<RecordOutcome | undefined>> {
    this.options.logger.warn(`schedulehub batch ${op} of ${chunk.length}: outcome unknown, reading the records back`, {
      reason: cause.message,
    });
    const stored = new Map(
      (
        await this.options.client.getManyByBkHash(
          this.options.resource,
          chunk.map((s) => s.record.bkHash),
        )
      ).map((r) => [r.bk_hash, r]),
    );
    const outcomes: Array<RecordOutcome | undefined> = chunk.map((slot, index) => {
      const found = stored.get(slot.record.bkHash);
      const landed = op === 'delete' ? !found : found !== undefined && found.data_hash === slot.record.dataHash;
      if (!landed) return undefined;
      const status = op === 'insert' ? 'created' : op === 'update' ? 'updated' : 'deleted';
      return { index, bk_hash: slot.record.bkHash, status, uid: found?.uid ?? null, error: null };
    });
    const rest = chunk.flatMap((slot, i) => (outcomes[i] ? [] : [{ slot, i }]));
    if (rest.length === 0) return outcomes;
    if (resend) {
      const again = await this.guard(
        op,
        rest.map((r) => r.slot),
        results,
        signal,
        false,
      );
      rest.forEach(({ i }, j) => {
        const outcome = again[j];
        outcomes[i] = outcome ? { ...outcome, index: i } : undefined;
      });
      return outcomes;
    }
    if (cause.transient) throw cause;
    for (const { slot } of rest) {
      const message = `${cause.message}; read back, ScheduleHub does not hold this ${op === 'delete' ? 'deletion' : 'version'}`;
      results.set(slot.index, failure(slot, 'unknown_outcome', message, false));
    }
    return outcomes;
  }
}

function toResult(slot: { op: ApplyOperation; record: { bkHash: string } }, outcome: RecordOutcome): ApplyResult {
  if (outcome.status === 'rejected') {
    return failure(slot, outcome.error?.code ?? 'rejected', outcome.error?.message ?? 'rejected by ScheduleHub', true);
  }
  return success(slot, outcome.uid);
}

function success(slot: { op: ApplyOperation; record: { bkHash: string } }, uid: string | null): ApplyResult {
  return { bkHash: slot.record.bkHash, op: slot.op, ok: true, targetUid: uid ?? undefined };
}

function failure(
  slot: { op: ApplyOperation; record: { bkHash: string } },
  type: string,
  message: string,
  permanent: boolean,
): ApplyResult {
  const error: RecordError = { type, message, permanent };
  return { bkHash: slot.record.bkHash, op: slot.op, ok: false, error };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
