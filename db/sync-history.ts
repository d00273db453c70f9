import { type PageRequest, pageArgs, toPage } from './pagination.ts';
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
  const { keyset, orderBy, skip, take } = pageArgs(request);
  const [rows, total] = await Promise.all([
    prisma.syncBatch.findMany({ where: { ...where, ...keyset }, orderBy, skip, take }),
    prisma.syncBatch.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}
