import { CancelledFailure, Context } from '@temporalio/activity';

/** How often a working activity tells Temporal it is alive (well under every heartbeatTimeout in the workflows). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * Runs an activity's work while heartbeating every {@link HEARTBEAT_INTERVAL_MS}
 * for as long as its promise is pending, with `details()` (progress) as the
 * heartbeat details, and hands the activity's cancellation signal to the work
 * so connectors stop their I/O when the workflow cancels the activity (or the
 * server says the activity timed out). Every activity scheduled with a
 * `heartbeatTimeout` runs through here: a slow source query or a
 * `Retry-After` wait is then a live, heartbeating activity, never mistaken for
 * a lost worker. (samples-typescript: activities-cancellation-heartbeating.)
 *
 * Heartbeats only carry cancellation: an activity that never heartbeats never
 * learns it was cancelled. When the signal has fired, whatever the work throws
 * (a connector's abort error, a rolled-back transaction) is reported as the
 * activity's cancellation.
 */
export async function withHeartbeat<T>(
  work: (signal: AbortSignal) => Promise<T>,
  details?: () => unknown,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Promise<T> {
  const context = Context.current();
  const beat = () => context.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, intervalMs);
  try {
    return await work(context.cancellationSignal);
  } catch (error) {
    const signal = context.cancellationSignal;
    if (signal.aborted && !(error instanceof CancelledFailure)) {
      throw signal.reason instanceof Error ? signal.reason : new CancelledFailure(String(signal.reason ?? 'cancelled'));
    }
    throw error;
  } finally {
    clearInterval(timer);
  }
}
