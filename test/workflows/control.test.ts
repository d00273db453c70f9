import { WorkflowFailedError, type WorkflowHandle, WorkflowUpdateStage } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseUpdate, progressQuery, resumeUpdate, stopUpdate } from '../../workflows/contract.ts';
import type { syncEntity } from '../../workflows/sync-entity.ts';
import { TestBed, until } from './support/env.ts';
import { FakeSync, Gate } from './support/fake-sync.ts';
import { firstEventId, historyOf, idle, scheduledActivities } from './support/history.ts';

/**
 * Operator control of a running sync, on the real syncEntity workflow in simulated time with mocked activities:
 * pause / resume (the updates of workflows/contract.ts), stop, and the circuit breaker that pauses a batch itself.
 */
let bed: TestBed;
beforeAll(async () => {
  bed = await TestBed.start();
});
afterAll(async () => {
  await bed?.teardown();
});

const pageStages = new Set([
  'fetchPage',
  'normalizePage',
  'validatePage',
  'mapPage',
  'identifyPage',
  'deltaPage',
  'resolvePage',
  'transformPage',
  'ingestPage',
  'trackPage',
]);

describe('pause and resume', () => {
  it('pause answers paused with nothing in flight, no page is read while paused (for hours), resume answers running', async () => {
    const gate = new Gate();
    const fake = new FakeSync('pause-resume', {
      pages: 6,
      before: (call, signal) => (call.activity === 'fetchPage' && call.page === 2 ? gate.wait(signal) : undefined),
    });
    await bed.run(fake, {}, async ({ handle }) => {
      await gate.reached; // the page loop is reading page 2
      const pausing = await handle.startUpdate(pauseUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
      gate.open();
      const paused = await pausing.result();
      // The pause took effect after page 2, the page being read when it was asked for, was tracked.
      expect(paused).toMatchObject({ paused: true, pagesInFlight: 0, pagesCompleted: 3, phase: 'syncing' });
      expect(paused.counts.fetched).toBe(30);
      expect(fake.trackedPages()).toEqual([0, 1, 2]);
      expect(fake.of('setBatchPaused').map((c) => c.args.slice(1))).toEqual([[true, undefined]]);

      const fetchesWhenPaused = fake.of('fetchPage').length;
      await bed.env.sleep('3 hours'); // simulated
      expect(fake.of('fetchPage')).toHaveLength(fetchesWhenPaused);
      expect(await handle.query(progressQuery)).toMatchObject({ paused: true, pagesInFlight: 0, pagesCompleted: 3 });

      const resumed = await handle.executeUpdate(resumeUpdate);
      expect(resumed).toMatchObject({ paused: false, phase: 'syncing' });
      expect(fake.of('setBatchPaused').map((c) => c.args[1])).toEqual([true, false]);

      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 60, inserted: 60 });
      expect(fake.trackedPages()).toEqual([0, 1, 2, 3, 4, 5]);
      // Page 3 was read only after the batch was marked running again.
      const resumedAt = fake.of('setBatchPaused')[1]!.endSeq!;
      expect(fake.of('fetchPage', 3).map((c) => c.seq > resumedAt)).toEqual([true]);
      expect(fake.of('finishBatch').map((c) => c.args[0])).toMatchObject([{ status: 'completed', notes: [] }]);
    });
  });
});

/**
 * Stopping a sync, two ways with the same effect on the activities: the stopSync update (the API's and CLI's
 * stop: it answers once the batch is closed, and the workflow then completes with the cancelled batch's
 * summary), and a cancellation request (`temporal workflow cancel`, the Web UI; the workflow ends cancelled).
 */
const stopWays = {
  update: {
    async stop(handle: WorkflowHandle<typeof syncEntity>) {
      const answer = await handle.executeUpdate(stopUpdate);
      // The answer comes once the batch is closed: the final progress, nothing in flight.
      expect(answer).toMatchObject({ phase: 'done', pagesInFlight: 0, pagesCompleted: 1 });
    },
    async expectStopped(handle: WorkflowHandle<typeof syncEntity>) {
      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
    },
    requested: (e: temporal.api.history.v1.IHistoryEvent) => e.workflowExecutionUpdateAcceptedEventAttributes,
  },
  cancel: {
    async stop(handle: WorkflowHandle<typeof syncEntity>) {
      await handle.cancel();
    },
    async expectStopped(handle: WorkflowHandle<typeof syncEntity>) {
      const error = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    },
    requested: (e: temporal.api.history.v1.IHistoryEvent) => e.workflowExecutionCancelRequestedEventAttributes,
  },
};

describe('stop', () => {
  it.each(Object.keys(stopWays) as Array<keyof typeof stopWays>)(
    'by %s: cancels the write in flight, waits for it, closes the batch cancelled, and schedules no page activity after',
    async (way) => {
      const { stop, expectStopped, requested } = stopWays[way];
      const gate = new Gate(); // never opened: page 1's INGEST runs until it is cancelled
      const fake = new FakeSync(`stop-${way}`, {
        pages: 10,
        plan: { stageActivities: 'split' },
        before: (call, signal) => (call.activity === 'ingestPage' && call.page === 1 ? gate.wait(signal) : undefined),
      });
      await bed.run(fake, {}, async ({ handle }) => {
        await gate.reached;
        // Pages 2 and 3 are read too (three pages in flight) and wait for page 1's TRACK. Stop once nothing but
        // page 1's INGEST is running: the Java test server fails a workflow task that cancels an activity whose
        // completion arrived during that task (ACTIVITY_UNKNOWN; the real server accepts it), and the run hangs.
        await until(() => fake.of('ingestPage', 3).some((c) => c.outcome === 'ok'), 'page 3 waits for TRACK');
        // The fake's "ok" is the activity's return, before its completion reaches the workflow: wait until the
        // history shows page 1's INGEST as the only page activity open and the workflow has taken in the rest.
        await until(async () => {
          const events = await historyOf(handle);
          const open = scheduledActivities(events).filter((a) => pageStages.has(a.activityType) && a.closed === 'open');
          return idle(events) && open.length === 1 && open[0]!.activityType === 'ingestPage';
        }, 'only page 1 INGEST is open, the workflow idle');
        await stop(handle);
        await expectStopped(handle);

        const ingest1 = fake.of('ingestPage', 1);
        expect(ingest1.map((c) => c.outcome)).toEqual(['cancelled']); // the running write saw the stop
        const finishes = fake.of('finishBatch');
        expect(finishes.map((c) => (c.args[0] as { status: string }).status)).toEqual(['cancelled']);
        // The batch closed after the cancelled write ended (WAIT_CANCELLATION_COMPLETED), not before.
        expect(finishes[0]!.seq).toBeGreaterThan(ingest1[0]!.endSeq!);
        expect(fake.trackedPages()).toEqual([0]);
        expect(fake.of('fetchPage').map((c) => c.page)).toEqual([0, 1, 2, 3]);

        // In the history: after the cancellation request, the only activity scheduled is finishBatch.
        const events = await historyOf(handle);
        const cancelRequested = firstEventId(events, requested)!;
        expect(cancelRequested).not.toBeNull();
        const after = scheduledActivities(events).filter((a) => a.eventId > cancelRequested);
        expect(after.map((a) => a.activityType)).toEqual(['finishBatch']);
        const ingestClosed = scheduledActivities(events).find(
          (a) => a.activityType === 'ingestPage' && a.closed === 'canceled',
        );
        expect(ingestClosed?.closedEventId).toBeLessThan(after[0]!.eventId);
        expect(
          scheduledActivities(events).filter((a) => pageStages.has(a.activityType) && a.closed === 'open'),
        ).toEqual([]);
      });
    },
  );
});

describe('circuit breaker', () => {
  it('pauses the batch itself when the failure rate crosses the threshold; after a resume it counts afresh', async () => {
    // Pages 0-3 fail half their rows (50 %), the other eight none; the threshold is 20 % over at least 30 rows.
    // Counted from the batch's start, the rate stays above 20 % until page 9 (20 of 70 rows after page 6):
    // only the baseline reset at the resume keeps the circuit closed after it.
    const fake = new FakeSync('circuit', {
      pages: 12,
      failedRows: (page) => (page <= 3 ? 5 : 0),
      plan: { circuitBreaker: { maxFailureRate: 0.2, minRows: 30 } },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      await until(() => fake.of('setBatchPaused').some((c) => c.outcome === 'ok'), 'the breaker pauses the batch');
      // It opened when page 2 was tracked: 30 rows, 15 failed.
      expect(fake.of('setBatchPaused')[0]!.args.slice(1)).toEqual([true, { rate: 0.5, fetched: 30, failed: 15 }]);
      // The pause waited for the pages already read (at most three beyond page 2) and reads no further.
      await bed.env.sleep('1 day');
      const read = fake.of('fetchPage').map((c) => c.page!);
      expect(Math.max(...read)).toBeLessThanOrEqual(5);
      expect(fake.trackedPages()).toEqual(read);
      expect(await handle.query(progressQuery)).toMatchObject({ paused: true, pagesInFlight: 0 });
      expect(await handle.executeUpdate(resumeUpdate)).toMatchObject({ paused: false });
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 120, failed: 20, inserted: 100 });
      expect(fake.of('setBatchPaused').map((c) => c.args[1])).toEqual([true, false]);
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as { status: string; notes: string[] });
      expect(finish).toMatchObject({
        status: 'completed',
        notes: ['The circuit opened at a failure rate of 0.5; resumed by an operator.'],
      });
    });
  });

  it('stays closed below minRows, however bad the rate', async () => {
    // Every row fails, but the batch has 50 rows and the breaker wants 100 before it judges.
    const fake = new FakeSync('circuit-min-rows', {
      pages: 5,
      failedRows: () => 10,
      plan: { circuitBreaker: { maxFailureRate: 0.2, minRows: 100 } },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      expect(await handle.result()).toMatchObject({ status: 'completed', fetched: 50, failed: 50 });
      expect(fake.of('setBatchPaused')).toEqual([]);
    });
  });
});

describe('circuit breaker across runs and at the end', () => {
  it('keeps its baseline and notes across continue-as-new: a resumed circuit does not reopen in the next run', async () => {
    // Pages 0-3 fail 5 of 10 rows; 7 pages per run. Opened at page 2 (rate 0.5) and resumed, the breaker counts
    // from the resume; a new run that forgot that would count from the batch's start and reopen at 0.25.
    const fake = new FakeSync('circuit-can', {
      pages: 12,
      failedRows: (page) => (page <= 3 ? 5 : 0),
      plan: { circuitBreaker: { maxFailureRate: 0.2, minRows: 30 } },
    });
    await bed.run(fake, { pagesPerRun: 7 }, async ({ handle }) => {
      await until(() => fake.of('setBatchPaused').some((c) => c.outcome === 'ok'), 'the breaker pauses the batch');
      expect(await handle.executeUpdate(resumeUpdate)).toMatchObject({ paused: false });
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 120, failed: 20 });
      expect(new Set(fake.calls.map((c) => c.runId)).size).toBeGreaterThan(1); // it did continue as new
      expect(fake.of('setBatchPaused').map((c) => c.args[1])).toEqual([true, false]);
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as { notes: string[] });
      expect(finish!.notes).toEqual(['The circuit opened at a failure rate of 0.5; resumed by an operator.']);
    });
  });

  it('says so when the rate crosses the threshold on the last pages, with nothing left to pause', async () => {
    const fake = new FakeSync('circuit-last', {
      pages: 3,
      failedRows: () => 10,
      plan: { circuitBreaker: { maxFailureRate: 0.2, minRows: 10 } },
    });
    await bed.run(fake, {}, async ({ handle }) => {
      const summary = await handle.result();
      expect(summary).toMatchObject({ status: 'completed', fetched: 30, failed: 30 });
      expect(await handle.query(progressQuery)).toMatchObject({ phase: 'done', paused: false });
      const [finish] = fake.of('finishBatch').map((c) => c.args[0] as { notes: string[] });
      expect(finish!.notes).toEqual([
        expect.stringMatching(/^The failure rate reached 1 \(threshold 0\.2\) after the last page was read/),
      ]);
    });
  });
});

describe('control while the batch is finishing', () => {
  it('refuses a pause during the deletes (SyncFinishing), and a stop then ends the deletes and closes the batch cancelled', async () => {
    const gate = new Gate(); // never opened: the deletes run until cancelled
    const fake = new FakeSync('finishing', {
      pages: 2,
      before: (call, signal) => (call.activity === 'applyDeletes' ? gate.wait(signal) : undefined),
    });
    await bed.run(fake, {}, async ({ handle }) => {
      await gate.reached;
      const refused = await handle.executeUpdate(pauseUpdate).then(
        () => null,
        (e: unknown) => e as Error & { cause?: { type?: string } },
      );
      expect(refused?.cause?.type).toBe('SyncFinishing');
      expect(await handle.executeUpdate(stopUpdate)).toMatchObject({ phase: 'done', pagesCompleted: 2 });
      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
      expect(fake.of('applyDeletes').map((c) => c.outcome)).toEqual(['cancelled']);
      expect(fake.of('finishBatch').map((c) => (c.args[0] as { status: string }).status)).toEqual(['cancelled']);
    });
  });
});
