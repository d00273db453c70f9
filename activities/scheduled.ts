import { ApplicationFailure } from '@temporalio/activity';
import { isBackgroundLoadActive } from '../db/background.ts';
import { type EntityMode, isDryRun } from '../db/entities.ts';
import { type EventType, recordEvent } from '../db/events.ts';
import {
  type PreparedScheduledSync,
  SCHEDULED_ENTITY_DISABLED,
  SCHEDULED_ENTITY_NOT_FOUND,
  type ScheduledActivities,
  type ScheduledSyncInput,
} from './contract.ts';
import type { ActivityDeps } from './deps.ts';

/** The event a skipped run records (its reason in the payload). */
const SCHEDULE_SKIPPED: EventType = 'schedule.skipped';

/**
 * The mode of an entity a scheduled run or a replay is about to sync; a non-retryable failure (nothing to retry)
 * when the entity is gone or disabled, with the caller's words for each.
 */
export async function enabledEntityMode(
  prisma: ActivityDeps['prisma'],
  entityName: string,
  messages: { notFound: string; disabled: string },
): Promise<EntityMode> {
  const entity = await prisma.entity.findUnique({ where: { name: entityName }, select: { enabled: true, mode: true } });
  if (!entity) {
    throw ApplicationFailure.create({
      message: messages.notFound,
      type: SCHEDULED_ENTITY_NOT_FOUND,
      nonRetryable: true,
    });
  }
  if (!entity.enabled) {
    throw ApplicationFailure.create({
      message: messages.disabled,
      type: SCHEDULED_ENTITY_DISABLED,
      nonRetryable: true,
    });
  }
  return entity.mode as EntityMode;
}

/** The activities of a recurring sync's run (workflows/scheduled-sync.ts), on the shared queue. */
export function createScheduledActivities({ prisma }: ActivityDeps): ScheduledActivities {
  return {
    async prepareScheduledSync(input: ScheduledSyncInput): Promise<PreparedScheduledSync> {
      const mode = await enabledEntityMode(prisma, input.entityName, {
        notFound: `No entity named "${input.entityName}": delete its schedules (syncflow schedule delete ${input.entityName}).`,
        disabled: `Entity "${input.entityName}" is disabled: its scheduled ${input.syncType} sync does not run.`,
      });
      if (await isBackgroundLoadActive(prisma, input.entityName)) {
        return { skipped: true, reason: `a background load of "${input.entityName}" is under way` };
      }
      const dryRun = isDryRun(mode, undefined);
      await prisma.syncBatch.createMany({
        data: [
          {
            uid: input.batchUid,
            entityName: input.entityName,
            syncType: input.syncType,
            dryRun,
            status: 'pending',
            workflowId: input.workflowId,
          },
        ],
        // A retried activity, or the sync's beginBatch, may have written the row already.
        skipDuplicates: true,
      });
      return { skipped: false, dryRun };
    },

    async skipScheduledSync(input): Promise<void> {
      // Only a row that never ran: a sync that did start owns its row.
      await prisma.syncBatch.deleteMany({ where: { uid: input.batchUid, status: 'pending' } });
      await recordEvent(prisma, {
        type: SCHEDULE_SKIPPED,
        entityName: input.entityName,
        payload: { syncType: input.syncType, reason: input.reason, batchUid: input.batchUid },
      });
    },
  };
}
