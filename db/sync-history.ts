import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/** The batch log (sync_batches) as the history endpoint filters and pages it. */
export interface BatchFilter {
  entity?: string | undefined;
  status?: string | undefined;
  syncType?: string | undefined;
}

export async function listBatches(prisma: Prisma, filter: BatchFilter, request: PageRequest) {
  const where = {
    ...(filter.entity ? { entityName: filter.entity } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.syncType ? { syncType: filter.syncType } : {}),
  };
  const [rows, total] = await Promise.all([
    prisma.syncBatch.findMany(pageQuery(request, where)),
    prisma.syncBatch.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}
