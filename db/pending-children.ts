import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/** Children waiting for their parent (pending_children), as the monitoring endpoint lists them. */
export interface PendingChildFilter {
  entity?: string | undefined;
  parentEntity?: string | undefined;
  status?: 'waiting' | 'released' | 'dead_lettered' | undefined;
  batchUid?: string | undefined;
}

export async function listPendingChildren(prisma: Prisma, filter: PendingChildFilter, request: PageRequest) {
  const where = {
    ...(filter.entity ? { entityName: filter.entity } : {}),
    ...(filter.parentEntity ? { parentEntity: filter.parentEntity } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.batchUid ? { batchUid: filter.batchUid } : {}),
  };
  const [rows, total] = await Promise.all([
    prisma.pendingChild.findMany(pageQuery(request, where)),
    prisma.pendingChild.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}
