import { listEntities, type StoredEntity } from '../db/entities.ts';
import type { Prisma } from '../db/prisma.ts';
import {
  fieldErrorsMessage,
  maskAll,
  maskFieldErrors,
  maskSourceRow,
  maskTargetRecord,
  type SensitiveFields,
  sensitiveFields,
} from '../pipeline/mask.ts';

/** What the API shows of stored rows: bigints as numbers, dates as ISO strings. */
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function entityView(entity: StoredEntity) {
  return {
    uid: entity.uid,
    name: entity.name,
    mode: entity.mode,
    enabled: entity.enabled,
    configVersion: entity.configVersion,
    // Entity configurations hold no secrets: credentials live in connections.
    config: entity.config as unknown as Record<string, unknown>,
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

/**
 * Who sees which record data: keys below `recordData` (viewers) see none;
 * the rest see it with sensitive fields masked, per the entity's fields (all
 * of it masked when the entity's configuration is gone).
 */
export interface RecordDataAccess {
  show: boolean;
  sensitive: ReadonlyMap<string, SensitiveFields>;
}

export async function recordDataAccess(prisma: Prisma, show: boolean): Promise<RecordDataAccess> {
  if (!show) return { show, sensitive: new Map() };
  const entities = await listEntities(prisma);
  return { show, sensitive: new Map(entities.map((e) => [e.name, sensitiveFields(e.config)])) };
}

export function recordData(access: RecordDataAccess, entityName: string) {
  const fields = access.sensitive.get(entityName);
  const bySource = (row: unknown) => (!access.show ? null : fields ? maskSourceRow(row, fields) : maskAll(row));
  const byTarget = (row: unknown) => (!access.show ? null : fields ? maskTargetRecord(row, fields) : maskAll(row));
  // A field error's value is record data: viewers (and unknown configurations) get every value masked.
  const errors = (details: unknown) => maskFieldErrors(details, access.show && fields ? fields : 'all');
  /** The stored message quotes the values of its field errors: rebuilt from the masked ones when it is theirs. */
  const message = (stored: string, details: unknown) => {
    const masked = fieldErrorsMessage(errors(details));
    return masked !== null && fieldErrorsMessage(details) === stored ? masked : stored;
  };
  return { bySource, byTarget, errors, message };
}

interface FailedRecordRow {
  uid: string;
  batchUid: string;
  entityName: string;
  bkHash: string | null;
  refStr: string | null;
  targetName: string | null;
  stage: string;
  errorType: string;
  errorMessage: string;
  errorDetails: unknown;
  rawData: unknown;
  normalizedData: unknown;
  mappedData: unknown;
  retryCount: number;
  maxRetries: number;
  nextRetryAt: Date | null;
  lastRetryAt: Date | null;
  resolvedAt: Date | null;
  createdAt: Date;
}

export function failedRecordView(r: FailedRecordRow, access: RecordDataAccess) {
  const data = recordData(access, r.entityName);
  return {
    uid: r.uid,
    batchUid: r.batchUid,
    entityName: r.entityName,
    bkHash: r.bkHash,
    refStr: r.refStr,
    targetName: r.targetName,
    stage: r.stage,
    errorType: r.errorType,
    errorMessage: data.message(r.errorMessage, r.errorDetails),
    errorDetails: data.errors(r.errorDetails),
    rawData: data.bySource(r.rawData),
    normalizedData: data.byTarget(r.normalizedData),
    mappedData: data.byTarget(r.mappedData),
    retryCount: r.retryCount,
    maxRetries: r.maxRetries,
    nextRetryAt: iso(r.nextRetryAt),
    lastRetryAt: iso(r.lastRetryAt),
    resolvedAt: iso(r.resolvedAt),
    createdAt: r.createdAt.toISOString(),
  };
}

interface PendingChildRow {
  uid: string;
  batchUid: string;
  entityName: string;
  childBkHash: string;
  childRefStr: string | null;
  parentEntity: string;
  parentBkHash: string;
  parentRefStr: string | null;
  childPayload: unknown;
  status: string;
  retryCount: number;
  maxRetries: number;
  nextRetryAt: Date | null;
  lastError: string | null;
  releasedAt: Date | null;
  createdAt: Date;
}

/** The stored child (`{ record: { data, … }, operation, raw }`): data masked by target, raw by source. */
function childPayloadView(payload: unknown, data: ReturnType<typeof recordData>, show: boolean) {
  if (!show) return null;
  if (!payload || typeof payload !== 'object') return payload;
  const p = payload as { record?: { data?: unknown }; raw?: unknown };
  return {
    ...p,
    ...(p.record && typeof p.record === 'object'
      ? { record: { ...p.record, data: data.byTarget(p.record.data) } }
      : {}),
    ...('raw' in p ? { raw: data.bySource(p.raw) } : {}),
  };
}

export function pendingChildView(r: PendingChildRow, access: RecordDataAccess) {
  return {
    uid: r.uid,
    batchUid: r.batchUid,
    entityName: r.entityName,
    childBkHash: r.childBkHash,
    childRefStr: r.childRefStr,
    parentEntity: r.parentEntity,
    parentBkHash: r.parentBkHash,
    parentRefStr: r.parentRefStr,
    childPayload: childPayloadView(r.childPayload, recordData(access, r.entityName), access.show),
    status: r.status,
    retryCount: r.retryCount,
    maxRetries: r.maxRetries,
    nextRetryAt: iso(r.nextRetryAt),
    lastError: r.lastError,
    releasedAt: iso(r.releasedAt),
    createdAt: r.createdAt.toISOString(),
  };
}
