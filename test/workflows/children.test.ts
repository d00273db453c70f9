import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishBatchInput, ReleaseInput, ReleaseReport } from '../../activities/contract.ts';
import { childRetryDelayMs } from '../../pipeline/resolve/parents.ts';
import { TestBed } from './support/env.ts';
import { type Call, FakeSync } from './support/fake-sync.ts';

/**
 * A batch whose children wait for their parents: after its pages, syncEntity releases them with backoff, on
 * durable timers, for up to the entity's childWaitSeconds. Hours of simulated time in a few seconds.
 */
let bed: TestBed;
beforeAll(async () => {
  bed = await TestBed.start();
});
afterAll(async () => {
  await bed?.teardown();
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * pending_children as the real releasePendingChildren keeps it: each child's own retry is due at its
 * nextRetryAt; a due child whose parent has landed is released, one whose parent has not counts an attempt
 * and backs off (childRetryDelayMs: 1, 2, 4 … minutes, capped at an hour), past `maxRetries` it is dead-lettered.
 */
function waitingChildren(
  parents: Record<string, number | null>,
  maxRetries = 10,
  baseSeconds = 60,
  /** Whether a batch of a parent entity is open at this (simulated) time since the first release; default: always. */
  parentBatchRunning: (sinceStartMs: number) => boolean = () => true,
) {
  let startMs: number | null = null;
  const children = Object.entries(parents).map(([id, landsAfterMs]) => ({
    id,
    landsAfterMs,
    attempts: 0,
    nextRetryAt: 0,
    status: 'waiting' as 'waiting' | 'released' | 'dead',
  }));
  const log: Array<{ nowMs: number; released: string[]; dead: string[]; report: ReleaseReport }> = [];
  const release = (input: ReleaseInput, nowMs: number): ReleaseReport => {
    const empty = { released: 0, deadLettered: 0, refused: 0, waiting: 0, nextRetryAt: null };
    if (!input.countAttempt) return empty; // a child entity's release when this batch's parents land: none here
    startMs ??= nowMs;
    const released: string[] = [];
    const dead: string[] = [];
    for (const child of children) {
      if (child.status !== 'waiting' || child.nextRetryAt > nowMs) continue;
      if (child.landsAfterMs !== null && nowMs >= startMs + child.landsAfterMs) {
        child.status = 'released';
        released.push(child.id);
        continue;
      }
      child.attempts++;
      if (child.attempts >= maxRetries) {
        child.status = 'dead';
        dead.push(child.id);
      } else {
        child.nextRetryAt = nowMs + childRetryDelayMs(baseSeconds, child.attempts);
      }
    }
    const waiting = children.filter((c) => c.status === 'waiting');
    const next = waiting.length > 0 ? Math.min(...waiting.map((c) => c.nextRetryAt)) : null;
    const report = {
      ...empty,
      released: released.length,
      deadLettered: dead.length,
      waiting: waiting.length,
      nextRetryAt: next === null ? null : new Date(next).toISOString(),
      parentBatchRunning: parentBatchRunning(nowMs - startMs),
    };
    log.push({ nowMs, released, dead, report });
    return report;
  };
  return { release, log };
}

const ownReleases = (fake: FakeSync): Call[] =>
  fake.of('releasePendingChildren').filter((c) => (c.args[0] as ReleaseInput).countAttempt);

describe('children waiting for their parents', () => {
  it('are released with backoff on durable timers over hours, until none waits', async () => {
    // a's parent lands after 5 minutes, b's after 2 hours, c's never (dead-lettered at its 10th attempt).
    const children = waitingChildren({ a: 5 * MINUTE, b: 2 * HOUR, c: null });
    const fake = new FakeSync('children-wait', {
      pages: 2,
      plan: { hasParents: true, childWaitSeconds: 86_400, childEntities: ['grandchildren'] },
      releaseChildren: children.release,
    });
    const wallStart = Date.now();
    await bed.run(fake, {}, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 20 });

      // Each release ran when the earliest waiting child was due: 0, 1, 3, 7, 15, 31, 63 minutes, then hourly.
      const calls = ownReleases(fake);
      const offsets = calls.map((c) => c.startedMs - calls[0]!.startedMs);
      const expected = [0, 1, 3, 7, 15, 31, 63, 123, 183, 243].map((m) => m * MINUTE);
      expect(offsets).toHaveLength(expected.length);
      offsets.forEach((offset, i) => {
        expect(offset).toBeGreaterThanOrEqual(expected[i]!); // never before it was due
        expect(offset).toBeLessThan(expected[i]! + 5_000); // and not a timer too long
      });
      expect(children.log.map((l) => [l.released, l.dead])).toEqual([
        [[], []],
        [[], []],
        [[], []],
        [['a'], []],
        [[], []],
        [[], []],
        [[], []],
        [['b'], []],
        [[], []],
        [[], ['c']],
      ]);
      // Then the batch released its child entity's waiting children once (no attempt counted) and finished.
      expect(fake.of('releasePendingChildren').map((c) => c.args[0])).toContainEqual({
        entityName: 'grandchildren',
        countAttempt: false,
      });
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as FinishBatchInput);
      expect(finish).toMatchObject({ status: 'completed', notes: [] });
      expect(finish!.elapsedMs).toBeGreaterThanOrEqual(4 * HOUR);
    });
    // Four hours of simulated backoff took seconds.
    expect(Date.now() - wallStart).toBeLessThan(20_000);
  });

  it('are waited for up to childWaitSeconds; the batch then ends with them still pending, and says so', async () => {
    const children = waitingChildren({ a: null, b: null });
    const fake = new FakeSync('children-wait-limit', {
      pages: 1,
      plan: { hasParents: true, childWaitSeconds: 600 },
      releaseChildren: children.release,
    });
    await bed.run(fake, {}, async ({ handle }) => {
      expect(await handle.result()).toMatchObject({ status: 'completed' });
      // Retries at 0, 1, 3 and 7 minutes; the next (15 minutes) is past the 10-minute window.
      const calls = ownReleases(fake);
      expect(calls.map((c) => Math.floor((c.startedMs - calls[0]!.startedMs) / MINUTE))).toEqual([0, 1, 3, 7]);
      const last = children.log.at(-1)!.report;
      expect(last).toMatchObject({ waiting: 2 });
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as FinishBatchInput);
      expect(finish).toMatchObject({
        status: 'completed',
        notes: [`2 children still wait for their parents (next retry ${last.nextRetryAt}).`],
      });
    });
  });

  it('are not waited for when no batch of a parent entity is running: one release pass, then the batch ends', async () => {
    // Before: the batch waited up to childWaitSeconds (30 s) whenever a child waited, parent batch or not.
    const children = waitingChildren({ a: 5 * MINUTE }, 10, 1, () => false);
    const fake = new FakeSync('children-no-parent-batch', {
      pages: 1,
      plan: { hasParents: true, childWaitSeconds: 30 },
      releaseChildren: children.release,
    });
    await bed.run(fake, {}, async ({ handle }) => {
      expect(await handle.result()).toMatchObject({ status: 'completed' });
      expect(ownReleases(fake)).toHaveLength(1);
      const last = children.log.at(-1)!.report;
      expect(last).toMatchObject({ waiting: 1, parentBatchRunning: false });
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as FinishBatchInput);
      expect(finish).toMatchObject({
        status: 'completed',
        notes: [
          `1 children still wait for their parents; no batch of a parent entity is running, so they are left to ` +
            `the background retry (next retry ${last.nextRetryAt}).`,
        ],
      });
      // Simulated time: no timer of the child's backoff (1 s, 2 s, 4 s …) ran.
      expect(finish!.elapsedMs).toBeLessThan(10_000);
    });
  });

  it('are waited for while a batch of a parent entity is running, and no longer once it ended', async () => {
    // The parent batch runs for the first 2 minutes; a's parent lands at 1 minute, b's never.
    const children = waitingChildren({ a: MINUTE, b: null }, 10, 60, (since) => since < 2 * MINUTE);
    const fake = new FakeSync('children-parent-batch', {
      pages: 1,
      plan: { hasParents: true, childWaitSeconds: 3_600 },
      releaseChildren: children.release,
    });
    await bed.run(fake, {}, async ({ handle }) => {
      expect(await handle.result()).toMatchObject({ status: 'completed' });
      // Retries at 0, 1 and 3 minutes: a released at 1 minute; at 3 the parent batch has ended, so the batch ends.
      const calls = ownReleases(fake);
      expect(calls.map((c) => Math.floor((c.startedMs - calls[0]!.startedMs) / MINUTE))).toEqual([0, 1, 3]);
      expect(children.log.map((l) => l.released)).toEqual([[], ['a'], []]);
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as FinishBatchInput);
      expect(finish!.notes).toHaveLength(1);
      expect(finish!.notes[0]).toMatch(/^1 children still wait for their parents; no batch of a parent entity/);
      expect(finish!.elapsedMs).toBeLessThan(10 * MINUTE);
    });
  });
});
