import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishBatchInput } from '../../activities/contract.ts';
import { PageCacheMiss } from '../../activities/page-cache.ts';
import { ConnectorError } from '../../connectors/errors.ts';
import { progressQuery } from '../../workflows/contract.ts';
import { TestBed } from './support/env.ts';
import { FakeSync, PAGE_QUEUE } from './support/fake-sync.ts';
import { historyOf, scheduledActivities } from './support/history.ts';

/**
 * The page loop of the real syncEntity workflow in simulated time with mocked activities: continue-as-new,
 * a TRACK that fails once, a page worker that is lost, and a page that fails on its own.
 */

/** A page worker that is gone (nobody polls its queue) and a second live one (B) that the tests make fail. */
const GONE_QUEUE = 'syncflow-pages-gone';
const B_QUEUE = 'syncflow-pages-b';

let bed: TestBed;
beforeAll(async () => {
  bed = await TestBed.start();
  await bed.startWorker(B_QUEUE);
});
afterAll(async () => {
  await bed?.teardown();
});

const MINUTE = 60_000;
const finishInput = (fake: FakeSync) => fake.of('finishBatch').map((c) => c.args[0] as FinishBatchInput);

describe('continue-as-new', () => {
  it('carries the cursor, the next page, counts, stage totals, target calls and the start time into each run', async () => {
    const fake = new FakeSync('continue-as-new', {
      pages: 7,
      // Run 1 takes half an hour (a Retry-After on page 1's TRACK): the batch's elapsed time must include it.
      before: (call) => {
        if (call.activity === 'trackPage' && call.page === 1 && call.attempt === 1) {
          throw new ConnectorError('busy (429)', {
            connector: 'postgres',
            operation: 'track',
            code: 'rate_limited',
            transient: true,
            retryAfterMs: 30 * MINUTE,
          });
        }
      },
    });
    await bed.run(fake, { pagesPerRun: 2 }, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 70, inserted: 70 });

      // Four runs of two pages, the last of one; every page read once, in order, each with the cursor its
      // predecessor answered (the fake fails a read with any other cursor), its stages run in that page's run.
      const runs = [...new Set(fake.calls.map((c) => c.runId))];
      expect(runs).toHaveLength(4);
      const runOf = (page: number) => runs.indexOf(fake.of('fetchPage', page)[0]!.runId);
      expect([0, 1, 2, 3, 4, 5, 6].map(runOf)).toEqual([0, 0, 1, 1, 2, 2, 3]);
      expect(fake.of('fetchPage').map((c) => [c.page, (c.args[1] as { cursor: string | null }).cursor])).toEqual([
        [0, null],
        [1, 'c1'],
        [2, 'c2'],
        [3, 'c3'],
        [4, 'c4'],
        [5, 'c5'],
        [6, 'c6'],
      ]);
      expect(fake.trackedPages()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(fake.of('beginBatch')).toHaveLength(4); // each run re-reads the plan (idempotent)

      // The last run tracked one page (10 rows); what it reports and hands to finishBatch covers all seven.
      const progress = await handle.query(progressQuery);
      expect(progress).toMatchObject({ phase: 'done', pagesCompleted: 7, counts: { fetched: 70, inserted: 70 } });
      const [finish] = finishInput(fake);
      expect(finish).toMatchObject({ status: 'completed', targetCalls: { target: 7 } });
      expect(finish!.stages.fetch.rowsOut).toBe(70);
      expect(finish!.stages.track.rowsIn).toBe(70);
      const firstBegin = fake.of('beginBatch')[0]!.startedMs;
      const finishAt = fake.of('finishBatch')[0]!.startedMs;
      expect(finishAt - firstBegin).toBeGreaterThanOrEqual(30 * MINUTE);
      expect(finish!.elapsedMs).toBeGreaterThanOrEqual(30 * MINUTE); // from run 1's start, not the last run's
      expect(fake.of('finishBatch')[0]!.runId).toBe(runs[3]);
    });
  });
});

describe('TRACK failing once', () => {
  it('is retried by Temporal after its backoff, in order, and the page counts once', async () => {
    const fake = new FakeSync('track-once', {
      pages: 4,
      plan: { stageActivities: 'split' },
      before: (call) => {
        if (call.activity === 'trackPage' && call.page === 2 && call.attempt === 1) {
          throw new ConnectorError('connection reset', {
            connector: 'postgres',
            operation: 'track',
            code: 'connection',
            transient: true,
          });
        }
      },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 40, inserted: 40 });
      const track2 = fake.of('trackPage', 2);
      expect(track2.map((c) => [c.attempt, c.outcome])).toEqual([
        [1, 'failed'],
        [2, 'ok'],
      ]);
      // The retry waited the policy's initial interval (1 s, simulated) and redid only TRACK, not the page.
      expect(track2[1]!.startedMs - track2[0]!.startedMs).toBeGreaterThanOrEqual(1_000);
      expect(fake.of('fetchPage', 2)).toHaveLength(1);
      expect(fake.of('ingestPage', 2)).toHaveLength(1);
      // Page 3's TRACK waited for page 2's.
      expect(fake.of('trackPage', 3)[0]!.seq).toBeGreaterThan(track2[1]!.endSeq!);
      expect(fake.trackedPages()).toEqual([0, 1, 2, 3]);
      expect(await handle.query(progressQuery)).toMatchObject({ pagesCompleted: 4, counts: { fetched: 40 } });
      expect(finishInput(fake)[0]!.stages.track.rowsIn).toBe(40);
    });
  });
});

describe('a lost page worker', () => {
  it('never takes the page it was claimed for (schedule-to-start): the page is read on a newly claimed worker, counted once', async () => {
    // The second claim (page 1) names a worker that is gone: nobody polls its queue. The 10 s schedule-to-start
    // runs in real time: the Java test server does not skip time while an activity is pending.
    const fake = new FakeSync('lost-worker-gone', {
      pages: 4,
      claim: (n) => (n === 2 ? GONE_QUEUE : PAGE_QUEUE),
    });
    await bed.run(fake, {}, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 40, inserted: 40 });
      const events = await historyOf(handle);
      const onGone = scheduledActivities(events).filter((a) => a.taskQueue === GONE_QUEUE);
      expect(onGone.map((a) => [a.activityType, a.closed, a.timeoutType])).toEqual([
        ['fetchPage', 'timedOut', 'SCHEDULE_TO_START'],
      ]);
      // Page 1 was read once, by the live worker, with its own cursor; every page tracked once.
      expect(fake.of('fetchPage', 1).map((c) => [c.taskQueue, (c.args[1] as { cursor: string }).cursor])).toEqual([
        [PAGE_QUEUE, 'c1'],
      ]);
      expect(fake.of('fetchPage', 1)[0]!.startedMs - fake.of('fetchPage', 0)[0]!.startedMs).toBeGreaterThanOrEqual(
        10_000,
      );
      expect(fake.trackedPages()).toEqual([0, 1, 2, 3]);
      expect(await handle.query(progressQuery)).toMatchObject({ pagesCompleted: 4, counts: { fetched: 40 } });
    });
  });

  it('restarts in the middle of a page (PageCacheMiss): the page is redone from FETCH on a newly claimed worker, counted once', async () => {
    // Claim 2 names worker B for page 1. B restarts after reading page 1: its TRANSFORM finds no page in its
    // cache (PageCacheMiss, which the real activities raise and the failure interceptor makes non-retryable).
    const fake = new FakeSync('lost-worker-mid-page', {
      pages: 4,
      claim: (n) => (n === 2 ? B_QUEUE : PAGE_QUEUE),
      before: (call) => {
        if (call.taskQueue === B_QUEUE && call.activity === 'transformPage') {
          throw new PageCacheMiss(`page ${call.page} is not in this worker's cache`);
        }
      },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 40, inserted: 40 });

      // Page 1: read on B, lost there (one attempt: not retried on B), then read again with the same cursor and
      // carried through on the live worker, which a new claim named.
      expect(fake.calls.filter((c) => c.taskQueue === B_QUEUE).map((c) => [c.activity, c.page, c.outcome])).toEqual([
        ['fetchPage', 1, 'ok'],
        ['transformPage', 1, 'failed'],
      ]);
      expect(fake.of('fetchPage', 1).map((c) => [c.taskQueue, (c.args[1] as { cursor: string }).cursor])).toEqual([
        [B_QUEUE, 'c1'],
        [PAGE_QUEUE, 'c1'],
      ]);
      expect(fake.of('transformPage', 1).map((c) => c.taskQueue)).toEqual([B_QUEUE, PAGE_QUEUE]);
      const redoClaim = fake.of('claimPageWorker').find((c) => c.seq > fake.of('transformPage', 1)[0]!.endSeq!);
      expect(redoClaim).toBeDefined();

      // Counted once: each page ingested and tracked once; the batch's counts and TRACK's rows are its 40 rows.
      expect(
        fake
          .of('ingestPage')
          .map((c) => c.page!)
          .sort(),
      ).toEqual([0, 1, 2, 3]);
      expect(fake.trackedPages()).toEqual([0, 1, 2, 3]);
      expect(await handle.query(progressQuery)).toMatchObject({ pagesCompleted: 4, counts: { fetched: 40 } });
      expect(finishInput(fake)[0]).toMatchObject({ status: 'completed', targetCalls: { target: 4 } });
      expect(finishInput(fake)[0]!.stages.track.rowsIn).toBe(40);
    });
  });

  it('is not assumed when the page itself fails: the batch fails with the cause, the page is not redone', async () => {
    const fake = new FakeSync('page-own-failure', {
      pages: 3,
      plan: { stageActivities: 'split' },
      before: (call) => {
        if (call.activity === 'ingestPage' && call.page === 1) {
          throw new ConnectorError('column "qty" does not exist', {
            connector: 'postgres',
            operation: 'apply',
            code: 'schema_conflict',
            transient: false,
          });
        }
      },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      expect(fake.of('ingestPage', 1).map((c) => c.attempt)).toEqual([1]); // non-retryable: one attempt
      expect(fake.of('fetchPage', 1)).toHaveLength(1); // not redone elsewhere
      expect(fake.of('claimPageWorker').length).toBeLessThanOrEqual(4); // no claim for a redo
      expect(finishInput(fake)).toMatchObject([
        { status: 'failed', error: 'postgres apply: column "qty" does not exist (in ingestPage)' },
      ]);
      expect(fake.trackedPages()).toEqual([0]);
    });
  });
});
