import type { ApplyBatch } from '../../pipeline/target-record.ts';
import type { ApplyOperation, ApplyResult, RecordError } from '../types.ts';
import type { StagedRow } from './staging.ts';

/**
 * Turns a batch into staging rows and back into one result per input record.
 * Upserts get seq 0..u-1 and deletes u..n-1, so each statement works on a
 * contiguous seq range (what bisection splits). Within the upserts, the
 * inserts come first (0..i-1): the target COPYs those straight into the
 * table. A bk_hash written twice in one batch is staged once, last version
 * wins (ON CONFLICT cannot touch a row twice in one statement); both records
 * share its outcome.
 */
export interface BatchPlan {
  staged: StagedRow[];
  /** Staged rows 0..insertCount-1 came from `batch.inserts` (a bk_hash also updated keeps the later data). */
  insertCount: number;
  upsertCount: number;
  failStaged(seq: number, error: RecordError): void;
  results(): ApplyResult[];
}

interface Slot {
  bkHash: string;
  op: ApplyOperation;
  seq?: number;
  error?: RecordError;
}

export function planBatch(batch: ApplyBatch, knownColumns: Set<string>): BatchPlan {
  const slots: Slot[] = [];
  const staged: StagedRow[] = [];
  const stagedErrors = new Map<number, RecordError>();
  const upsertSeq = new Map<string, number>();
  let insertCount = 0;

  for (const [op, records] of [
    ['insert', batch.inserts],
    ['update', batch.updates],
  ] as const) {
    for (const record of records) {
      const slot: Slot = { bkHash: record.bkHash, op };
      slots.push(slot);
      const unknown = Object.keys(record.data).filter((name) => !knownColumns.has(name));
      if (unknown.length > 0) {
        slot.error = {
          type: 'unknown_field',
          message: `the target table has no column for: ${unknown.join(', ')}`,
          permanent: true,
        };
        continue;
      }
      const row: StagedRow = {
        seq: 0,
        op: 'u',
        bkHash: record.bkHash,
        dataHash: record.dataHash,
        rowversion: record.rowversion,
        refStr: record.refStr,
        data: record.data,
      };
      const existing = upsertSeq.get(record.bkHash);
      if (existing !== undefined) {
        staged[existing] = { ...row, seq: existing };
        slot.seq = existing;
      } else {
        row.seq = staged.length;
        upsertSeq.set(record.bkHash, row.seq);
        staged.push(row);
        slot.seq = row.seq;
      }
    }
    if (op === 'insert') insertCount = staged.length;
  }
  const upsertCount = staged.length;
  const deleteSeq = new Map<string, number>();
  for (const record of batch.deletes) {
    const slot: Slot = { bkHash: record.bkHash, op: 'delete' };
    slots.push(slot);
    let seq = deleteSeq.get(record.bkHash);
    if (seq === undefined) {
      seq = staged.length;
      deleteSeq.set(record.bkHash, seq);
      staged.push({
        seq,
        op: 'd',
        bkHash: record.bkHash,
        dataHash: null,
        rowversion: null,
        refStr: record.refStr,
        data: null,
      });
    }
    slot.seq = seq;
  }

  return {
    staged,
    insertCount,
    upsertCount,
    failStaged(seq, error) {
      stagedErrors.set(seq, error);
    },
    results() {
      return slots.map((slot) => {
        const error = slot.error ?? (slot.seq !== undefined ? stagedErrors.get(slot.seq) : undefined);
        return error
          ? { bkHash: slot.bkHash, op: slot.op, ok: false, error }
          : { bkHash: slot.bkHash, op: slot.op, ok: true, targetUid: slot.bkHash };
      });
    },
  };
}
