/**
 * What the pipeline hands a target: records with their identity computed and their data already mapped,
 * and the batch of them a page's decisions call for (pipeline/ingest/plan.ts). Target.apply
 * (connectors/types.ts) takes them as they are.
 */

/** A record ready for a target: identity computed by the pipeline, data already mapped. */
export interface TargetRecord {
  bkHash: string;
  dataHash: string;
  rowversion: string | null;
  refStr: string;
  data: Record<string, unknown>;
}

export interface ApplyBatch {
  inserts: TargetRecord[];
  updates: TargetRecord[];
  /** Only the bk_hash and refStr matter for deletes. */
  deletes: Array<Pick<TargetRecord, 'bkHash' | 'refStr'>>;
}
