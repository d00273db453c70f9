import { redactSecrets } from '../connectors/config.ts';
import type { StoredEntity } from '../db/entities.ts';

/** What the API shows of stored rows: connector secrets redacted, bigints as numbers, dates as ISO strings. */
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function entityView(entity: StoredEntity) {
  return {
    uid: entity.uid,
    name: entity.name,
    mode: entity.mode,
    enabled: entity.enabled,
    configVersion: entity.configVersion,
    config: redactSecrets(entity.config) as unknown as Record<string, unknown>,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}

interface BatchRowLike {
  uid: string;
  entityName: string;
  syncType: string;
  status: string;
  dryRun: boolean;
  workflowId: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  totalFetched: bigint;
  inserted: bigint;
  updated: bigint;
  skipped: bigint;
  failed: bigint;
  pending: bigint;
  deleted: bigint;
  pagesCompleted: number;
  errorMessage: string | null;
}

export function batchView(b: BatchRowLike) {
  return {
    batchUid: b.uid,
    entityName: b.entityName,
    syncType: b.syncType,
    status: b.status,
    dryRun: b.dryRun,
    workflowId: b.workflowId,
    createdAt: b.createdAt.toISOString(),
    startedAt: iso(b.startedAt),
    completedAt: iso(b.completedAt),
    durationMs: b.startedAt && b.completedAt ? b.completedAt.getTime() - b.startedAt.getTime() : null,
    counts: {
      fetched: Number(b.totalFetched),
      inserted: Number(b.inserted),
      updated: Number(b.updated),
      skipped: Number(b.skipped),
      failed: Number(b.failed),
      pending: Number(b.pending),
      deleted: Number(b.deleted),
    },
    pagesCompleted: b.pagesCompleted,
    error: b.errorMessage,
  };
}
