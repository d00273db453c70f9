import { isConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import type {
  ApplyBatch,
  ApplyOperation,
  ApplyResult,
  EnsureResult,
  RecordError,
  StoredRecord,
  Target,
  TargetField,
  TargetRecord,
} from '../types.ts';
import type { SchedulehubClient } from './client.ts';
import type { RecordInput, RecordOutcome } from './protocol.ts';

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

  async apply(batch: ApplyBatch): Promise<ApplyResult[]> {
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
    );
    const retryAsInsert = await this.write(
      'update',
      [...writes.filter((s) => s.op === 'update'), ...retryAsUpdate],
      results,
    );
    const stillMissing = await this.write('insert', retryAsInsert, results);
    for (const slot of stillMissing)
      results.set(
        slot.index,
        failure(slot, 'conflict', 'the record changed between insert and update (concurrent writer?)', false),
      );

    const deletes = slots.filter((s) => s.op === 'delete');
    for (const chunk of chunks(deletes, this.options.batchSize)) {
      const outcomes = await this.guard(
        chunk,
        () =>
          this.options.client.batchDelete(
            this.options.resource,
            chunk.map((s) => s.record.bkHash),
          ),
        results,
      );
      outcomes?.forEach((outcome, i) => {
        const slot = chunk[i]!;
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
  ): Promise<S[]> {
    const redirected: S[] = [];
    const { client, resource } = this.options;
    for (const chunk of chunks(slots, this.options.batchSize)) {
      const inputs = chunk.map((s) => toInput(s.record));
      const outcomes = await this.guard(
        chunk,
        () => (as === 'insert' ? client.batchInsert(resource, inputs) : client.batchUpdate(resource, inputs)),
        results,
      );
      outcomes?.forEach((outcome, i) => {
        const slot = chunk[i]!;
        if ((as === 'insert' && outcome.status === 'exists') || (as === 'update' && outcome.status === 'not_found'))
          redirected.push(slot);
        else results.set(slot.index, toResult(slot, outcome));
      });
    }
    return redirected;
  }

  /**
   * Runs one batch call. Transient failures (after the client's own retries)
   * propagate: the activity retries the whole batch, which is idempotent. A
   * permanent refusal of the call itself is reported on every record of it.
   */
  private async guard<S extends { op: ApplyOperation; record: { bkHash: string }; index: number }>(
    chunk: S[],
    call: () => Promise<{ results: RecordOutcome[] }>,
    results: Map<number, ApplyResult>,
  ): Promise<RecordOutcome[] | null> {
    try {
      const response = await call();
      return [...response.results].sort((a, b) => a.index - b.index);
    } catch (error) {
      if (!isConnectorError(error) || error.transient) throw error;
      this.options.logger.warn(`schedulehub refused a batch of ${chunk.length}`, { reason: error.message });
      for (const slot of chunk) results.set(slot.index, failure(slot, error.code, error.message, true));
      return null;
    }
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
