import { isBackgroundLoadActive } from '../db/background.ts';
import { mergeBatchMetrics } from '../db/batches.ts';
import { isDryRun } from '../db/entities.ts';
import { recordEvent } from '../db/events.ts';
import { entitiesWithDueDeadLetters, freezeSelection } from '../db/replay.ts';
import type { DueDeadLetters, PreparedReplay, ReplayActivities, ReplayInput, ReplayTallyReport } from './contract.ts';
import type { WorkerContext } from './deps.ts';
import { enabledEntityMode } from './scheduled.ts';

/** Dead letters a background retry pass takes per entity unless the worker is told otherwise. */
export const DEFAULT_RETRY_MAX_PER_ENTITY = 50;

/** The activities of a dead-letter replay (workflows/replay-dead-letters.ts), on the shared queue. */
export function createReplayActivities(ctx: WorkerContext): ReplayActivities {
  const { prisma } = ctx;
  return {
    async prepareReplay(input: ReplayInput): Promise<PreparedReplay> {
      const mode = await enabledEntityMode(prisma, input.entityName, {
        notFound: `No entity named "${input.entityName}".`,
        disabled: `Entity "${input.entityName}" is disabled: its dead letters are not replayed.`,
      });
      const existing = await prisma.syncBatch.findUnique({ where: { uid: input.batchUid } });
      const frozen = (existing?.metrics as { replay?: { selection?: { selected?: number } } } | undefined)?.replay
        ?.selection;
      // A retried activity: the selection was frozen by the first attempt.
      if (existing && frozen) return { skipped: false, dryRun: existing.dryRun, selected: frozen.selected ?? 0 };
      if (await isBackgroundLoadActive(prisma, input.entityName)) {
        return { skipped: true, reason: `a background load of "${input.entityName}" is under way` };
      }
      if (input.trigger === 'retry' && mode !== 'live') {
        return {
          skipped: true,
          reason: `"${input.entityName}" is in ${mode} mode: the automatic retry writes nothing`,
        };
      }
      const dryRun = existing?.dryRun ?? input.dryRun ?? isDryRun(mode, undefined);
      const selection = await freezeSelection(ctx.pool, { ...input.selection, entity: input.entityName });
      // As JSON (undefined filters dropped): FETCH reads the selection back from here, page by page.
      const replay = JSON.parse(JSON.stringify({ trigger: input.trigger, selection, selected: selection.selected }));
      if (existing) {
        // An operator's replay: control wrote the pending row.
        await mergeBatchMetrics(ctx.pool, input.batchUid, { replay });
      } else {
        await prisma.syncBatch.create({
          data: {
            uid: input.batchUid,
            entityName: input.entityName,
            syncType: 'replay',
            dryRun,
            status: 'pending',
            workflowId: input.workflowId,
            metrics: { replay },
          },
        });
      }
      return { skipped: false, dryRun, selected: selection.selected };
    },

    async skipReplay(input): Promise<void> {
      if (input.trigger === 'retry') {
        // A pass that found the entity busy: nothing happened, the next pass tries again.
        await prisma.syncBatch.deleteMany({ where: { uid: input.batchUid, status: 'pending' } });
      } else {
        await prisma.syncBatch.updateMany({
          where: { uid: input.batchUid, status: 'pending' },
          data: { status: 'failed', completedAt: new Date(), errorMessage: `Not started: ${input.reason}` },
        });
      }
      await recordEvent(prisma, {
        type: 'replay.skipped',
        entityName: input.entityName,
        ...(input.trigger === 'retry' ? {} : { batchUid: input.batchUid }),
        payload: { trigger: input.trigger, reason: input.reason },
      });
    },

    async replayReport(batchUid: string): Promise<ReplayTallyReport> {
      const batch = await prisma.syncBatch.findUnique({
        where: { uid: batchUid },
        select: { entityName: true, status: true, dryRun: true, metrics: true },
      });
      const replay = ((batch?.metrics ?? {}) as { replay?: Record<string, unknown> }).replay ?? {};
      const n = (key: string) => Number(replay[key] ?? 0);
      const report = {
        resolved: n('resolved'),
        failedAgain: n('failedAgain'),
        abandoned: n('abandoned'),
        waiting: n('waiting'),
      };
      const recorded = await prisma.syncEvent.findFirst({ where: { batchUid, type: 'replay.completed' } });
      if (batch && !recorded) {
        await recordEvent(prisma, {
          type: 'replay.completed',
          entityName: batch.entityName,
          batchUid,
          payload: {
            trigger: replay.trigger,
            status: batch.status,
            dryRun: batch.dryRun,
            selected: n('selected'),
            ...report,
          },
        });
      }
      return report;
    },

    async dueDeadLetters(): Promise<DueDeadLetters> {
      return {
        entities: await entitiesWithDueDeadLetters(ctx.pool),
        limitPerEntity: ctx.retryMaxPerEntity ?? DEFAULT_RETRY_MAX_PER_ENTITY,
      };
    },
  };
}
