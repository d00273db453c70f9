import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export const RETRY_WAITING_SCHEDULE_ID = 'syncflow-retry-waiting-children';

/**
 * The Temporal Schedule behind the background retry of waiting children (SPEC: every 5 minutes, bounded).
 * Created once per cluster; a later start finds it and leaves it (an operator may have paused it).
 */
export async function ensureRetrySchedule(client: Client, taskQueue: string, everyMinutes = 5): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: RETRY_WAITING_SCHEDULE_ID,
      spec: { intervals: [{ every: `${everyMinutes} minutes` }] },
      action: { type: 'startWorkflow', workflowType: 'retryWaitingChildren', taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}
