import { type RecordCounts, zeroCounts } from '../pipeline/accounting.ts';
import type { Prisma } from './prisma.ts';

/**
 * Per-entity figures for the monitoring endpoint and the CLI: batches by
 * status, the last batch, record totals per operation (live and dry-run
 * apart: a dry run writes nothing), DLQ size and waiting children.
 */
export type OperationTotals = RecordCounts;

export interface EntityStats {
  entityName: string;
  batches: { total: number; byStatus: Record<string, number> };
  lastBatch: {
    batchUid: string;
    status: string;
    syncType: string;
    dryRun: boolean;
    startedAt: Date | null;
    completedAt: Date | null;
  } | null;
  totals: OperationTotals;
  dryRunTotals: OperationTotals;
  dlqSize: number;
  pendingChildren: number;
}

/** Stats for the given entity names (configured entities, usually), in that order. */
export async function entityStats(prisma: Prisma, names: string[]): Promise<EntityStats[]> {
  if (names.length === 0) return [];
  const inNames = { entityName: { in: names } };
  const [sums, statuses, lastBatches, dlq, waiting] = await Promise.all([
    prisma.syncBatch.groupBy({
      by: ['entityName', 'dryRun'],
      where: inNames,
      _sum: {
        totalFetched: true,
        inserted: true,
        updated: true,
        skipped: true,
        failed: true,
        pending: true,
        deleted: true,
      },
    }),
    prisma.syncBatch.groupBy({ by: ['entityName', 'status'], where: inNames, _count: { _all: true } }),
    prisma.syncBatch.findMany({
      where: inNames,
      distinct: ['entityName'],
      orderBy: [{ entityName: 'asc' }, { createdAt: 'desc' }],
    }),
    prisma.failedRecord.groupBy({
      by: ['entityName'],
      where: { ...inNames, resolvedAt: null },
      _count: { _all: true },
    }),
    prisma.pendingChild.groupBy({
      by: ['entityName'],
      where: { ...inNames, status: 'waiting' },
      _count: { _all: true },
    }),
  ]);
  return names.map((name) => {
    const stats: EntityStats = {
      entityName: name,
      batches: { total: 0, byStatus: {} },
      lastBatch: null,
      totals: zeroCounts(),
      dryRunTotals: zeroCounts(),
      dlqSize: dlq.find((d) => d.entityName === name)?._count._all ?? 0,
      pendingChildren: waiting.find((w) => w.entityName === name)?._count._all ?? 0,
    };
    for (const row of statuses.filter((s) => s.entityName === name)) {
      stats.batches.byStatus[row.status] = row._count._all;
      stats.batches.total += row._count._all;
    }
    for (const row of sums.filter((s) => s.entityName === name)) {
      const into = row.dryRun ? stats.dryRunTotals : stats.totals;
      into.fetched = Number(row._sum.totalFetched ?? 0);
      into.inserted = Number(row._sum.inserted ?? 0);
      into.updated = Number(row._sum.updated ?? 0);
      into.skipped = Number(row._sum.skipped ?? 0);
      into.failed = Number(row._sum.failed ?? 0);
      into.pending = Number(row._sum.pending ?? 0);
      into.deleted = Number(row._sum.deleted ?? 0);
    }
    const last = lastBatches.find((b) => b.entityName === name);
    if (last) {
      stats.lastBatch = {
        batchUid: last.uid,
        status: last.status,
        syncType: last.syncType,
        dryRun: last.dryRun,
        startedAt: last.startedAt,
        completedAt: last.completedAt,
      };
    }
    return stats;
  });
}
