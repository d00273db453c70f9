/** How often and how patiently an HTTP connector retries a transient failure. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * A Retry-After longer than this is not waited for in-process: the error goes up (transient, with its
   * retryAfterMs) and Temporal retries the activity after that delay (nextRetryDelay, activities/failures.ts).
   */
  maxRetryAfterMs: number;
}

/**
 * One quick retry in-process (a dropped keep-alive connection, a blip), no more: everything longer is
 * Temporal's retry policy, so in-process attempts do not multiply with the activity's attempts.
 */
export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 2,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 5_000,
};

/**
 * Exponential backoff with "equal jitter": half the exponential step is kept
 * (so retries never collapse to zero delay), the other half randomised (so
 * many workers hitting the same outage do not retry in lock step).
 * `attempt` is the attempt that just failed, starting at 1.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/** The delay before the next attempt: the server's Retry-After when given, else backoff. */
export function nextDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  return retryAfterMs !== undefined ? retryAfterMs : backoffDelay(policy, attempt, random);
}
