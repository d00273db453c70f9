import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

/** The events of the workflow's current run. */
export async function historyOf(handle: WorkflowHandle): Promise<Event[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** One scheduled activity as the workflow's history records it, with how its last attempt ended. */
export interface ScheduledActivity {
  eventId: number;
  activityType: string;
  taskQueue: string;
  /** How it closed: completed, failed, timed out (with the timeout type), cancelled, or still open. */
  closed: 'completed' | 'failed' | 'timedOut' | 'canceled' | 'open';
  timeoutType: string | null;
  /** Event id of the close (ordering against other events). */
  closedEventId: number | null;
}

// temporal.api.enums.v1.TimeoutType
const timeoutTypes: Record<number, string> = {
  1: 'START_TO_CLOSE',
  2: 'SCHEDULE_TO_START',
  3: 'SCHEDULE_TO_CLOSE',
  4: 'HEARTBEAT',
};

const id = (value: unknown) => Number(value ?? 0);

/** Every activity the workflow scheduled, in history order (one run's history). */
export function scheduledActivities(events: readonly Event[]): ScheduledActivity[] {
  const byId = new Map<number, ScheduledActivity>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byId.set(id(event.eventId), {
        eventId: id(event.eventId),
        activityType: scheduled.activityType?.name ?? '?',
        taskQueue: scheduled.taskQueue?.name ?? '?',
        closed: 'open',
        timeoutType: null,
        closedEventId: null,
      });
      continue;
    }
    const close = (
      scheduledEventId: unknown,
      closed: ScheduledActivity['closed'],
      timeoutType: string | null = null,
    ) => {
      const activity = byId.get(id(scheduledEventId));
      if (activity) Object.assign(activity, { closed, timeoutType, closedEventId: id(event.eventId) });
    };
    const a = event;
    if (a.activityTaskCompletedEventAttributes)
      close(a.activityTaskCompletedEventAttributes.scheduledEventId, 'completed');
    if (a.activityTaskFailedEventAttributes) close(a.activityTaskFailedEventAttributes.scheduledEventId, 'failed');
    if (a.activityTaskCanceledEventAttributes)
      close(a.activityTaskCanceledEventAttributes.scheduledEventId, 'canceled');
    if (a.activityTaskTimedOutEventAttributes) {
      const failure = a.activityTaskTimedOutEventAttributes.failure;
      const info = failure?.timeoutFailureInfo ?? failure?.cause?.timeoutFailureInfo;
      close(
        a.activityTaskTimedOutEventAttributes.scheduledEventId,
        'timedOut',
        timeoutTypes[id(info?.timeoutType)] ?? null,
      );
    }
  }
  return [...byId.values()];
}

/** Event id of the first event matching `has`, or null. */
export function firstEventId(events: readonly Event[], has: (event: Event) => unknown): number | null {
  const event = events.find((e) => has(e));
  return event ? id(event.eventId) : null;
}

/**
 * True when the workflow has taken in everything that happened to it: its last event is a completed workflow
 * task (no activity result, signal or update waits for one). Used before a cancellation in the Java test server,
 * which fails a workflow task that cancels an activity whose completion arrived during that task.
 */
export function idle(events: readonly Event[]): boolean {
  return Boolean(events.at(-1)?.workflowTaskCompletedEventAttributes);
}
