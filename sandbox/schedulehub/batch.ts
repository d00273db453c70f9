import type { BatchResponse, RecordInput, RecordOutcome } from '../../connectors/schedulehub/protocol.ts';
import type { FaultInjector } from '../common/faults.ts';
import type { PlanningStore } from './store.ts';
import { type ResourceRules, validateRecord } from './validation.ts';

function summarise(results: RecordOutcome[]): BatchResponse {
  const failed = results.filter(
    (r) => r.status === 'rejected' || r.status === 'exists' || r.status === 'not_found',
  ).length;
  return { results, succeeded: results.length - failed, failed };
}

/** A batch insert or update: invalid records rejected one by one, the valid ones written in one statement. */
export async function batchWrite(
  op: 'insert' | 'update',
  store: PlanningStore,
  resource: string,
  records: RecordInput[],
  rules: ResourceRules | undefined,
  faults: FaultInjector,
): Promise<BatchResponse> {
  const results: RecordOutcome[] = new Array(records.length);
  const valid: Array<{ record: RecordInput; index: number }> = [];
  records.forEach((record, index) => {
    const problem = validateRecord(record, rules, faults.isRejected(record.bk_hash));
    if (problem) results[index] = { index, bk_hash: record.bk_hash, status: 'rejected', uid: null, error: problem };
    else valid.push({ record, index });
  });
  const written =
    op === 'insert'
      ? await store.insert(
          resource,
          valid.map((v) => v.record),
        )
      : await store.update(
          resource,
          valid.map((v) => v.record),
        );
  const untouched = valid.filter((v) => !written.has(v.record.bk_hash)).map((v) => v.record.bk_hash);
  const existing =
    op === 'insert' && untouched.length
      ? new Map((await store.byBkHashes(resource, untouched)).map((r) => [r.bk_hash, r.uid]))
      : new Map<string, string>();
  for (const { record, index } of valid) {
    const uid = written.get(record.bk_hash);
    if (uid)
      results[index] = {
        index,
        bk_hash: record.bk_hash,
        status: op === 'insert' ? 'created' : 'updated',
        uid,
        error: null,
      };
    else if (op === 'insert')
      results[index] = {
        index,
        bk_hash: record.bk_hash,
        status: 'exists',
        uid: existing.get(record.bk_hash) ?? null,
        error: { code: 'exists', message: 'a record with this bk_hash exists' },
      };
    else
      results[index] = {
        index,
        bk_hash: record.bk_hash,
        status: 'not_found',
        uid: null,
        error: { code: 'not_found', message: 'no record with this bk_hash' },
      };
  }
  return summarise(results);
}

export async function batchDelete(store: PlanningStore, resource: string, bkHashes: string[]): Promise<BatchResponse> {
  const deleted = await store.delete(resource, bkHashes);
  return summarise(
    bkHashes.map((bk_hash, index) => {
      const uid = deleted.get(bk_hash);
      return uid
        ? { index, bk_hash, status: 'deleted' as const, uid, error: null }
        : {
            index,
            bk_hash,
            status: 'not_found' as const,
            uid: null,
            error: { code: 'not_found', message: 'no record with this bk_hash' },
          };
    }),
  );
}
