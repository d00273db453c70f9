import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/** The dead-letter queue (failed_records): listing it and queueing records for another attempt. */
export interface DeadLetterFilter {
  entity?: string | undefined;
  stage?: string | undefined;
  errorType?: string | undefined;
  batchUid?: string | undefined;
  /** unresolved (default): still in the queue; resolved: replayed successfully; all. */
  status?: 'unresolved' | 'resolved' | 'all' | undefined;
}

function whereOf(filter: DeadLetterFilter) {
  const status = filter.status ?? 'unresolved';
  return {
    ...(filter.entity ? { entityName: filter.entity } : {}),
    ...(filter.stage ? { stage: filter.stage } : {}),
    ...(filter.errorType ? { errorType: filter.errorType } : {}),
    ...(filter.batchUid ? { batchUid: filter.batchUid } : {}),
    ...(status === 'unresolved' ? { resolvedAt: null } : status === 'resolved' ? { resolvedAt: { not: null } } : {}),
  };
}

export async function listDeadLetters(prisma: Prisma, filter: DeadLetterFilter, request: PageRequest) {
  const where = whereOf(filter);
  const [rows, total] = await Promise.all([
    prisma.failedRecord.findMany(pageQuery(request, where)),
    prisma.failedRecord.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}

/**
 * Marks unresolved records due now, so the next retry pass picks them up
 * (the partial index on next_retry_at serves exactly that query). Returns
 * how many were queued.
 */
export async function requeueDeadLetters(
  prisma: Prisma,
  filter: Omit<DeadLetterFilter, 'status'> & { entity: string },
): Promise<number> {
  const queued = await prisma.failedRecord.updateMany({
    where: whereOf({ ...filter, status: 'unresolved' }),
    data: { nextRetryAt: new Date() },
  });
  return queued.count;
}
