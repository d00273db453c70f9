/** How often and how patiently an HTTP connector retries a transient failure. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for in-process: the error goes up (transient) and Temporal retries later. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 120_000,
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
