import type pg from 'pg';
import { abortableSleep, throwIfAborted } from '../connectors/abort.ts';
import { defaultBurst, type RateLimiter, type RateLimiterFactory } from '../connectors/http/token-bucket.ts';
import { strictestRpmCap, takeRateLimitToken } from '../db/rate-limits.ts';

/** How often a process re-reads the strictest cap configured for a connection (entities change at runtime). */
const CAP_RECHECK_MS = 10_000;

/**
 * `rpmCap` shared by every worker process through SyncFlow's own database: one bucket per connection
 * (rate_limits, db/rate-limits.ts), so N workers and M entities writing to one system send at most the
 * cap between them, not N × M times it. When entities set different caps on one connection, the strictest
 * one applies to all of them (re-read every few seconds). Burst: one second's worth, like the local bucket.
 */
export class SharedRateLimits implements RateLimiterFactory {
  private readonly caps = new Map<string, { at: number; cap: Promise<number | null> }>();

  constructor(private readonly pool: pg.Pool) {}

  limiter(key: string, perMinute: number): RateLimiter {
    return { take: (signal) => this.take(key, perMinute, signal) };
  }

  /** A cancelled activity stops waiting for its slot at once (the slot it reserved stays taken: the cap holds). */
  private async take(key: string, perMinute: number, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const strictest = await this.strictest(key);
    const cap = Math.min(perMinute, strictest ?? perMinute);
    const waitMs = await takeRateLimitToken(this.pool, key, cap / 60, defaultBurst(cap));
    if (waitMs > 0) await abortableSleep(waitMs, signal);
  }

  private strictest(key: string): Promise<number | null> {
    const now = Date.now();
    const known = this.caps.get(key);
    if (known && now - known.at < CAP_RECHECK_MS) return known.cap;
    const cap = strictestRpmCap(this.pool, key);
    this.caps.set(key, { at: now, cap });
    cap.catch(() => this.caps.delete(key));
    return cap;
  }
}
