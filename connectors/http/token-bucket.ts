import { abortableSleep, abortError, throwIfAborted } from '../abort.ts';

/**
 * A requests-per-minute cap as a token bucket: `perMinute` tokens refill
 * evenly over a minute, at most `burst` saved up. Each request takes one
 * token, waiting for it when the bucket is empty. Waiters are served in order.
 */
export interface TokenBucketOptions {
  perMinute: number;
  /** Default: one second's worth of requests (at least 1). */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Something a client waits on before each request: a local {@link TokenBucket} or one shared by every worker. */
export interface RateLimiter {
  /** Resolves when the caller may send its request; rejects with the abort error as soon as `signal` fires. */
  take(signal?: AbortSignal): Promise<void>;
}

/**
 * Hands out the limiter of one remote system (`key`: the connection's name) at `perMinute` requests per minute.
 * The worker's implementation is shared through PostgreSQL (activities/shared-rate-limits.ts), so a cap holds
 * across every process and every entity that writes to the same system.
 */
export interface RateLimiterFactory {
  limiter(key: string, perMinute: number): RateLimiter;
}

/** The burst a cap of `perMinute` allows: one second's worth of requests, at least 1. */
export const defaultBurst = (perMinute: number) => Math.max(1, Math.ceil(perMinute / 60));

export class TokenBucket implements RateLimiter {
  private readonly ratePerMs: number;
  private readonly capacity: number;
  private tokens: number;
  private updatedAt: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    this.ratePerMs = options.perMinute / 60_000;
    this.capacity = Math.max(1, options.burst ?? defaultBurst(options.perMinute));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.tokens = this.capacity;
    this.updatedAt = this.now();
  }

  /** Takes a token now if one is there and returns 0, else reserves the next one and returns how long to wait for it. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.ratePerMs);
  }

  /**
   * Resolves when the caller may send its request. A cancelled caller stops waiting at once (its place in the
   * queue, or the token it reserved, is given up: the cap still holds).
   */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      throwIfAborted(signal);
      const wait = this.reserve();
      if (wait > 0) await (signal ? abortableSleep(wait, signal) : this.sleep(wait));
    });
    this.queue = turn.catch(() => {});
    if (!signal) return turn;
    return new Promise<void>((resolve, reject) => {
      const stop = () => reject(abortError(signal));
      if (signal.aborted) return stop();
      signal.addEventListener('abort', stop, { once: true });
      turn.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
    });
  }
}
