import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { withHeartbeat } from '../../../activities/heartbeat.ts';
import { abortableSleep } from '../../../connectors/abort.ts';

/**
 * Issue 11, item 1: an activity that works longer than its heartbeatTimeout
 * is alive as long as it heartbeats, and a cancellation reaches its I/O.
 */
describe('withHeartbeat', () => {
  it('heartbeats with progress for as long as the work is pending, then stops', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 200 });
    const beats: unknown[] = [];
    const at: number[] = [];
    env.on('heartbeat', (details: unknown) => {
      beats.push(details);
      at.push(Date.now());
    });
    let done = 0;
    // Work three times as long as the heartbeat timeout (a slow source read).
    const result = await env.run(() =>
      withHeartbeat(
        async () => {
          for (; done < 6; done++) await new Promise((r) => setTimeout(r, 100));
          return 'read';
        },
        () => ({ stage: 'fetch', done }),
        50,
      ),
    );
    expect(result).toBe('read');
    expect(beats.length).toBeGreaterThanOrEqual(8); // one at once, then every 50 ms over ~600 ms
    expect(beats[0]).toEqual({ stage: 'fetch', done: 0 });
    expect(beats.at(-1)).toMatchObject({ stage: 'fetch' });
    expect((beats.at(-1) as { done: number }).done).toBeGreaterThan(3);
    // No gap between heartbeats comes near the timeout: the server never sees a silent worker.
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.max(...gaps)).toBeLessThan(200);
    const after = beats.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(beats.length).toBe(after); // no heartbeat after the work ended
  });

  it('hands the cancellation signal to the work: a cancel stops the I/O and the activity ends cancelled', async () => {
    const env = new MockActivityEnvironment();
    let seen: AbortSignal | undefined;
    const started = Date.now();
    const running = env.run(() =>
      withHeartbeat(async (signal) => {
        seen = signal;
        await abortableSleep(30_000, signal); // a long write or a Retry-After wait
        return 'finished';
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    env.cancel('CANCELLED');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(seen?.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports an abort as the cancellation even when the connector throws its own error', async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(() =>
      withHeartbeat(
        (signal) =>
          new Promise<never>((_, reject) => {
            signal.addEventListener('abort', () => reject(new Error('connection terminated')));
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    env.cancel('CANCELLED');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('passes a failure through unchanged when nothing was cancelled', async () => {
    const env = new MockActivityEnvironment();
    await expect(env.run(() => withHeartbeat(async () => Promise.reject(new Error('boom'))))).rejects.toThrow('boom');
  });
});
