import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConnectorError } from '../../../connectors/errors.ts';
import { backoffDelay, defaultRetryPolicy, nextDelay } from '../../../connectors/http/backoff.ts';
import { JsonHttpClient } from '../../../connectors/http/json-client.ts';
import { parseRetryAfter } from '../../../connectors/http/retry-after.ts';
import { TokenBucket } from '../../../connectors/http/token-bucket.ts';
import { TokenSession } from '../../../connectors/http/token-session.ts';
import { silentLogger } from '../../../connectors/logger.ts';

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates, ignores junk', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(['0'], now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});

describe('backoff', () => {
  const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially with equal jitter and a cap', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(50);
    expect(backoffDelay(policy, 1, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 3, () => 1)).toBe(400);
    expect(backoffDelay(policy, 10, () => 1)).toBe(1000);
    expect(backoffDelay(policy, 10, () => 0)).toBe(500);
  });
  it("prefers the server's Retry-After", () => {
    expect(nextDelay(policy, 1, 7000, () => 0)).toBe(7000);
    expect(nextDelay(policy, 2, undefined, () => 1)).toBe(200);
  });
});

describe('token bucket', () => {
  it('lets a burst through, then spaces requests at the per-minute rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ perMinute: 60, burst: 2, now: () => now });
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(1000); // one per second
    expect(bucket.reserve()).toBe(2000);
    now = 10_000;
    expect(bucket.reserve()).toBe(0); // refilled, capped at the burst
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(1000);
  });
  it('waits in order through take()', async () => {
    let now = 0;
    const waits: number[] = [];
    const bucket = new TokenBucket({
      perMinute: 600,
      burst: 1,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    expect(waits).toEqual([100, 100]);
  });
  it('a cancelled caller stops waiting at once, in the queue or for its slot; the others keep their turns', async () => {
    const bucket = new TokenBucket({ perMinute: 60, burst: 1 }); // the second request waits a whole second
    await bucket.take();
    const stop = new AbortController();
    const started = Date.now();
    const waiting = bucket.take(stop.signal);
    const queued = bucket.take(stop.signal);
    setTimeout(() => stop.abort(new Error('stopped by the operator')), 20);
    await expect(waiting).rejects.toThrow('stopped by the operator');
    await expect(queued).rejects.toThrow('stopped by the operator');
    expect(Date.now() - started).toBeLessThan(500);
    await expect(bucket.take(AbortSignal.abort(new Error('already stopped')))).rejects.toThrow('already stopped');
  });
});

describe('a JSON client waiting on its rate cap', () => {
  it('ends with the abort error when cancelled, not as an unreadable request budget, and sends nothing', async () => {
    let taken = 0;
    const client = new JsonHttpClient({
      connector: 'schedulehub',
      baseUrl: 'http://127.0.0.1:9', // nothing listens: a request that got through would fail differently
      logger: silentLogger,
      rateLimiter: {
        take: (signal) =>
          new Promise<void>((_, reject) => {
            taken++;
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          }),
      },
    });
    const stop = new AbortController();
    const request = client.request({
      operation: 'list',
      method: 'GET',
      path: '/x',
      schema: z.unknown(),
      signal: stop.signal,
    });
    stop.abort(new Error('stopped by the operator'));
    const error = (await request.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('stopped by the operator');
    expect(error).not.toBeInstanceOf(ConnectorError);
    expect(taken).toBe(1);
  });
});

describe('token session', () => {
  it('renews before expiry (refresh token first) and once after a rejection', async () => {
    let now = 0;
    let issued = 0;
    const calls: string[] = [];
    const session = new TokenSession({
      now: () => now,
      refreshSkewMs: 10_000,
      login: async () => {
        calls.push('login');
        return { accessToken: `t${++issued}`, expiresIn: 60, refreshToken: 'r' };
      },
      refresh: async () => {
        calls.push('refresh');
        return { accessToken: `t${++issued}`, expiresIn: 60, refreshToken: 'r' };
      },
    });
    expect(await session.token()).toBe('t1');
    now = 49_000;
    expect(await session.token()).toBe('t1');
    now = 51_000; // inside the skew: renewed before it expires
    expect(await session.token()).toBe('t2');
    expect(await session.renewAfterRejection('t2')).toBe('t3');
    expect(await session.renewAfterRejection('t2')).toBe('t3'); // someone already renewed: no second renewal
    expect(calls).toEqual(['login', 'refresh', 'refresh']);
  });
  it('logs in again when the refresh fails, and shares one renewal between concurrent callers', async () => {
    let logins = 0;
    const session = new TokenSession({
      login: async () => ({ accessToken: `t${++logins}`, expiresIn: 1, refreshToken: 'r' }),
      refresh: async () => {
        throw new Error('revoked');
      },
    });
    const tokens = await Promise.all([session.token(), session.token(), session.token()]);
    expect(tokens).toEqual(['t1', 't1', 't1']);
    expect(await session.renewAfterRejection('t1')).toBe('t2');
    expect(logins).toBe(2);
  });
});
