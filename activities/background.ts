import { ApplicationFailure } from '@temporalio/activity';
import { v7 as uuidv7 } from 'uuid';
import { type BackgroundLoad, loadStateOf, updateBackgroundState } from '../db/background.ts';
import { planNight } from '../pipeline/background/plan.ts';
import type { BackgroundActivities, BackgroundPlan } from './contract.ts';
import type { WorkerContext } from './deps.ts';
import { connectorCall } from './failures.ts';

/** The activities of the backgroundSync workflow: the load's row in background_sync_schedule, its events. */
export function createBackgroundActivities(ctx: WorkerContext): BackgroundActivities {
  const { prisma } = ctx;
  const loadOf = async (entityName: string): Promise<BackgroundLoad> => {
    const row = await prisma.backgroundSyncSchedule.findUnique({ where: { entityName } });
    if (!row) {
      throw ApplicationFailure.nonRetryable(
        `Entity "${entityName}" has no background load (it was deleted).`,
        'BackgroundLoadNotFound',
      );
    }
    return row;
  };
  const estimateOf = async (entityName: string): Promise<number | null> => {
    const rt = await ctx.runtimes.get(entityName);
    return rt
      .source()
      .estimateRowCount()
      .catch(() => null);
  };

  return {
    async beginBackgroundLoad({ entityName, workflowId }) {
      const row = await loadOf(entityName);
      const rt = await ctx.runtimes.get(entityName);
      const first = row.startedAt === null || row.status === 'completed';
      // The highest rowversion before the first page: rows changed after it are read by the incremental syncs
      // that follow the load (read once more at worst, never missed). Kept across stops and resumes.
      const startWatermark =
        row.startWatermark !== null && !first
          ? row.startWatermark
          : rt.rowversionColumn
            ? ((await connectorCall(async () => rt.source().maxRowversion?.(rt.rowversionColumn!))) ?? null)
            : null;
      await updateBackgroundState(prisma, entityName, {
        workflowId,
        startWatermark,
        ...(first ? { startedAt: new Date(), completedAt: null, totalRowsEstimate: null } : {}),
        ...(row.status === 'completed'
          ? { currentOffset: null, rowsDone: 0n, rowsToday: 0, nightsUsed: 0, nightOpenedAt: null, dailyQuota: null }
          : {}),
        lastError: null,
      });
    },

    async planBackgroundNight({ entityName, nowMs }): Promise<BackgroundPlan> {
      const row = await loadOf(entityName);
      const rt = await ctx.runtimes.get(entityName);
      // The estimate is read when a night opens (planNight asks): a source that cannot tell keeps the last one.
      let estimate: number | null = null;
      const state = loadStateOf(row);
      const wantsEstimate = planNight(state, nowMs, () => null, rt.config.pageSize).openedNight;
      if (wantsEstimate) estimate = await estimateOf(entityName);
      const plan = planNight(state, nowMs, () => estimate, rt.config.pageSize);
      if (plan.closedNight || plan.openedNight) {
        await prisma.$transaction([
          prisma.backgroundSyncSchedule.update({
            where: { entityName },
            data: {
              nightOpenedAt: plan.state.nightOpenedAtMs === null ? null : new Date(plan.state.nightOpenedAtMs),
              rowsToday: plan.state.rowsToday,
              dailyQuota: plan.state.dailyQuota,
              totalRowsEstimate: plan.state.totalRowsEstimate === null ? null : BigInt(plan.state.totalRowsEstimate),
            },
          }),
          ...plan.events.map((event) =>
            prisma.syncEvent.create({ data: { type: event.type, entityName, payload: event.payload } }),
          ),
        ]);
      }
      return {
        window: plan.window,
        offset: row.currentOffset,
        rowsDone: plan.state.rowsDone,
        rowsToday: plan.state.rowsToday,
        dailyQuota: plan.state.dailyQuota,
        quotaLeft: plan.quotaLeft,
        totalRowsEstimate: plan.state.totalRowsEstimate,
        closedNight: plan.closedNight,
      };
    },

    async setBackgroundStatus({ entityName, status, nextRunAtMs, error }) {
      await loadOf(entityName);
      await updateBackgroundState(prisma, entityName, {
        status,
        ...(nextRunAtMs !== undefined ? { nextRunAt: nextRunAtMs === null ? null : new Date(nextRunAtMs) } : {}),
        ...(error !== undefined ? { lastError: error } : {}),
      });
    },

    async prepareBackgroundBatch({ entityName, batchUid, nightOpenedAtMs }) {
      const nightOpenedAt = new Date(nightOpenedAtMs);
      await prisma.$transaction(async (tx) => {
        // The night counts as used by the first batch that runs in it (a paused night does not count).
        await tx.$executeRaw`UPDATE background_sync_schedule
                                SET nights_used = nights_used + 1
                              WHERE entity_name = ${entityName}
                                AND (last_run_at IS NULL OR last_run_at < ${nightOpenedAt})`;
        await tx.backgroundSyncSchedule.update({ where: { entityName }, data: { lastRunAt: new Date() } });
        await tx.syncBatch.createMany({
          data: [
            {
              uid: batchUid,
              entityName,
              syncType: 'background',
              dryRun: false,
              status: 'pending',
              workflowId: `sync-${entityName}`,
              metrics: { nightOpenedAt: nightOpenedAt.toISOString() },
            },
          ],
          skipDuplicates: true,
        });
      });
    },

    async discardBackgroundBatch({ batchUid }) {
      await prisma.syncBatch.deleteMany({ where: { uid: batchUid, status: 'pending' } });
    },

    async completeBackgroundLoad({ entityName }) {
      const row = await loadOf(entityName);
      const final = { rowsDone: Number(row.rowsDone), rowsToday: row.rowsToday };
      if (row.status === 'completed') return final;
      const rt = await ctx.runtimes.get(entityName);
      const now = new Date();
      await prisma.$transaction([
        prisma.backgroundSyncSchedule.update({
          where: { entityName },
          data: { status: 'completed', completedAt: now, nightOpenedAt: null, nextRunAt: null },
        }),
        // As a full sync: the watermark is the source's highest rowversion read before the first page.
        ...(row.startWatermark !== null
          ? [
              prisma.erpSyncState.upsert({
                where: { entityName_sourceSystem: { entityName, sourceSystem: rt.sourceSystem } },
                create: {
                  uid: uuidv7(),
                  entityName,
                  sourceSystem: rt.sourceSystem,
                  lastSyncRowversion: row.startWatermark,
                  lastSyncTimestamp: now,
                  lastFullSyncAt: now,
                },
                update: { lastSyncRowversion: row.startWatermark, lastSyncTimestamp: now, lastFullSyncAt: now },
              }),
            ]
          : []),
        // The night it completed in closes with it.
        ...(row.nightOpenedAt !== null
          ? [
              prisma.syncEvent.create({
                data: {
                  type: 'background.window_closed',
                  entityName,
                  payload: {
                    nightOpenedAt: row.nightOpenedAt.toISOString(),
                    rows: row.rowsToday,
                    rowsDone: Number(row.rowsDone),
                  },
                },
              }),
            ]
          : []),
        prisma.syncEvent.create({
          data: {
            type: 'background.completed',
            entityName,
            payload: {
              rowsDone: Number(row.rowsDone),
              nightsUsed: row.nightsUsed,
              watermark: row.startWatermark,
              startedAt: row.startedAt?.toISOString() ?? null,
            },
          },
        }),
      ]);
      return final;
    },
  };
}
