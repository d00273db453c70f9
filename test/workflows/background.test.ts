import { type WorkflowHandle, WorkflowUpdateStage } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchRequest } from '../../activities/contract.ts';
import { PageCacheMiss } from '../../activities/page-cache.ts';
import { nextOccurrences, type Occurrence, type SyncWindow, windowAt } from '../../pipeline/background/window.ts';
import type { backgroundSync } from '../../workflows/background-sync.ts';
import {
  backgroundProgressQuery,
  backgroundWorkflowId,
  pauseBackgroundUpdate,
  reconfigureBackgroundUpdate,
  resumeBackgroundUpdate,
  stopBackgroundUpdate,
} from '../../workflows/contract.ts';
import { TestBed, until } from './support/env.ts';
import { FakeBackground } from './support/fake-background.ts';
import { type Call, Gate, PAGE_QUEUE } from './support/fake-sync.ts';

/**
 * Multi-day background loads (workflows/background-sync.ts) on the real backgroundSync and syncEntity workflows
 * in simulated time: the load's row and the source in memory (FakeBackground, planning with the real planNight),
 * nights of a 19:00–07:00 Europe/Berlin window over a week or more, each test a few seconds of real time.
 *
 * Pages take no simulated time unless a scenario says `pageMs` (each read then waits a Retry-After of that long,
 * a server-side backoff the time-skipping server skips). Activities run in real time: while one is pending the
 * server does not skip time, so a test that holds a page at a gate sleeps the clock concurrently.
 */
/**
 * Also restart the shared worker (the workflows, the load's activities) while c8 is read: with it the test did not
 * finish within 120 s on the Java time-skipping test server (not understood yet); opt in with the variable.
 */
const RESTART_SHARED = process.env.SYNCFLOW_TEST_RESTART_SHARED === '1';

/** A second page worker, which the restart test makes lose a page. */
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
const HOUR = 60 * MINUTE;
const BERLIN: SyncWindow = { start: '19:00', end: '07:00', timeZone: 'Europe/Berlin' };
type Handle = WorkflowHandle<typeof backgroundSync>;

const cursorOf = (call: Call) => (call.args[1] as FetchRequest).cursor;
const now = () => bed.env.currentTimeMs();

/** Moves the server's clock to the next local noon in Berlin (outside the window); answers that instant. */
async function toNoon(after?: number): Promise<number> {
  const from = Math.max(await now(), after ?? 0);
  const noon: SyncWindow = { start: '12:00', end: '12:30', timeZone: 'Europe/Berlin' };
  let next = windowAt(from, noon);
  if (next.open) next = windowAt(next.closesAtMs, noon);
  await bed.env.sleep(next.opensAtMs - (await now()));
  return now();
}

/** Sleeps the server's clock to `atMs` (it never goes back). */
async function sleepUntil(atMs: number): Promise<void> {
  const ms = atMs - (await now());
  if (ms > 0) await bed.env.sleep(ms);
}

/** The occurrence of `window` an instant is in (or null). */
function nightOf(atMs: number, window: SyncWindow = BERLIN): Occurrence | null {
  const state = windowAt(atMs, window);
  return state.open ? { opensAtMs: state.opensAtMs, closesAtMs: state.closesAtMs } : null;
}

const readsIn = (fake: FakeBackground, night: Occurrence) =>
  fake.reads.filter((r) => r.atMs >= night.opensAtMs && r.atMs < night.closesAtMs).map((r) => r.cursor);

/** Every run of the load has a small history. */
async function historySizes(fake: FakeBackground): Promise<number[]> {
  const sizes: number[] = [];
  for (const runId of fake.runs()) {
    const history = await bed.env.client.workflow.getHandle(backgroundWorkflowId(fake.name), runId).fetchHistory();
    sizes.push(history.events?.length ?? 0);
  }
  return sizes;
}

/** A gate held by the first read attempt of `cursor` (the page start, before its read). */
function gateAt(cursor: string, gate: Gate) {
  return (call: Call, signal: AbortSignal) =>
    call.activity === 'fetchPage' && cursorOf(call) === cursor && call.attempt === 1 ? gate.wait(signal) : undefined;
}

/** Fails fast (instead of at the test's timeout) when a promise the workflow should settle does not. */
async function within<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out (${ms} ms real time) waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a load over a week of nights', () => {
  it('spreads the rows over the planned nights, completes on the last one, a new run (small history) per night', async () => {
    const fake = new FakeBackground('spread', { pages: 14 }); // 140 rows, 7 nights: 20 rows (2 pages) a night
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 7);
    await bed.runBackground(fake, async (handle) => {
      const result = await handle.result();
      expect(result).toMatchObject({
        phase: 'completed',
        dailyQuota: 20,
        totalRowsEstimate: 140,
        rowsDone: 140,
        rowsToday: 20,
      });

      // Every page read once, in order, two a night, inside that night.
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());
      expect(nights.map((n) => readsIn(fake, n).length)).toEqual([2, 2, 2, 2, 2, 2, 2]);
      expect(fake.row).toMatchObject({ status: 'completed', rowsDone: 140, nightsUsed: 7, currentOffset: 'c13' });

      // Each night opened (with a quota of a seventh) and closed: at its window's close, the last when the load
      // completed in it.
      const opened = fake.eventsOf('background.window_opened');
      expect(opened.map((e) => e.payload.nightOpenedAt)).toEqual(
        nights.map((n) => new Date(n.opensAtMs).toISOString()),
      );
      expect(opened.map((e) => e.payload.quota)).toEqual([20, 20, 20, 20, 20, 20, 20]);
      const closed = fake.eventsOf('background.window_closed');
      expect(closed.map((e) => e.payload.nightOpenedAt)).toEqual(opened.map((e) => e.payload.nightOpenedAt));
      expect(closed.map((e) => e.payload.rows)).toEqual([20, 20, 20, 20, 20, 20, 20]);
      for (const [i, e] of closed.slice(0, 6).entries()) expect(e.atMs).toBeGreaterThanOrEqual(nights[i]!.closesAtMs);
      expect(closed[6]!.atMs).toBeLessThan(nights[6]!.closesAtMs);

      const completes = fake.of('completeBackgroundLoad');
      expect(completes).toHaveLength(1);
      expect(nightOf(completes[0]!.startedMs)?.opensAtMs).toBe(nights[6]!.opensAtMs);
      expect(fake.eventsOf('background.completed')).toHaveLength(1);

      // One execution per night (continue-as-new at each night's end), each with a small history.
      const runs = fake.runs();
      expect(runs.length).toBeGreaterThanOrEqual(7);
      const sizes = await historySizes(fake);
      expect(Math.max(...sizes)).toBeLessThan(300);
      for (const night of nights) {
        const runsInNight = new Set(
          fake.of('planBackgroundNight').filter((c) => nightOf(c.startedMs)?.opensAtMs === night.opensAtMs),
        );
        expect(runsInNight.size).toBeGreaterThan(0);
      }
      // The night's batch runs as the child sync-<entity>, typed `background`, starting at the load's offset.
      const firstPages = fake.sync.of('fetchPage').filter((c) => c.page === 0);
      expect(firstPages.map(cursorOf)).toEqual([null, 'c2', 'c4', 'c6', 'c8', 'c10', 'c12']);
    });
  }, 120_000);

  it('never reads outside the window: pages that take time stop starting before the close', async () => {
    // Pages of 100 minutes; 200 rows over 2 nights would be 100 rows a night, more than a 12 h window holds.
    const fake = new FakeBackground('window-only', { pages: 20, targetDays: 2, pageMs: 100 * MINUTE });
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 3);
    await bed.runBackground(fake, async (handle) => {
      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'completed' });
      expect(fake.row.rowsDone).toBe(200);
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());

      for (const read of fake.reads)
        expect(nightOf(read.atMs), `read at ${new Date(read.atMs).toISOString()}`).not.toBeNull();
      // Each page started (its first attempt) inside a window, and ended (its read) before that window closed.
      for (const call of fake.sync.of('fetchPage').filter((c) => c.attempt === 1)) {
        const night = nightOf(call.startedMs);
        expect(night, `page started at ${new Date(call.startedMs).toISOString()}`).not.toBeNull();
        const read = fake.reads.find(
          (r) => r.batchUid === (call.args[0] as { batchUid: string }).batchUid && r.page === call.page,
        );
        expect(read!.atMs).toBeLessThanOrEqual(night!.closesAtMs);
      }
      // 12 h of 100-minute pages: 7 a night (the 8th would end after the close); the rest on night 3 (no quota).
      const perNight = nights.map((n) => readsIn(fake, n).length);
      expect(perNight.slice(0, 2)).toEqual([7, 7]);
      expect(perNight[2]).toBe(6);
      expect(fake.eventsOf('background.window_opened').map((e) => e.payload.quota)).toEqual([100, 130, null]);
    });
  }, 120_000);
});

describe('restarts', () => {
  it('resumes at the exact offset after a page worker restarts in the middle of a night, the redone page counted once', async () => {
    // Night 3: the page worker B named by the claims restarts while it holds its pages: its TRANSFORM finds no page
    // in its cache (PageCacheMiss, as the real activities raise it), so the page is redone from FETCH on a newly
    // claimed worker. Night 5 (RESTART_SHARED): the shared worker restarts while c8 is read.
    let lost = false;
    const fetchHeld = new Gate();
    const fake: FakeBackground = new FakeBackground('restart', {
      pages: 14,
      sync: {
        claim: () => (fake.reads.length >= 4 && !lost ? B_QUEUE : PAGE_QUEUE),
        before: (call, signal) => {
          if (call.taskQueue === B_QUEUE && call.activity === 'transformPage') {
            lost = true;
            throw new PageCacheMiss(`page ${call.page} is not in this worker's cache`);
          }
          if (call.activity === 'fetchPage' && cursorOf(call) === 'c8' && call.attempt === 1)
            return fetchHeld.wait(signal);
        },
      },
    });
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 7);
    await bed.runBackground(fake, async (handle) => {
      const sleeping = bed.env.sleep(nights[4]!.opensAtMs + HOUR - start);
      await within(fetchHeld.reached, 'night 5 to read c8', 60_000);
      expect(lost).toBe(true);
      if (RESTART_SHARED) {
        await bed.stopSharedWorker();
        bed.stopSharedWorker = await bed.startSharedWorker();
      }
      fetchHeld.open();
      await sleeping;

      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'completed' });
      // Every page read in order; the page of night 3 that was on B when it restarted was redone with the same
      // cursor on a newly claimed worker; every other page was read once.
      const cursors = fake.reads.map((r) => r.cursor);
      expect([...new Set(cursors)]).toEqual(fake.allCursors());
      const redone = [...new Set(cursors.filter((c, i) => cursors.indexOf(c) !== i))];
      expect(redone).toContain('c4');
      for (const cursor of redone) {
        expect(['c4', 'c5']).toContain(cursor); // night 3's pages, both claimed by B before it restarted
        expect(fake.reads.filter((r) => r.cursor === cursor).map((r) => r.taskQueue)).toEqual([B_QUEUE, PAGE_QUEUE]);
      }
      // Counted once: the redone page was tracked once; the row's rows are the source's.
      expect(fake.sync.of('trackPage').filter((c) => c.outcome === 'ok')).toHaveLength(14);
      expect(fake.row).toMatchObject({ rowsDone: 140, status: 'completed' });
      expect(nights.map((n) => new Set(readsIn(fake, n)).size)).toEqual([2, 2, 2, 2, 2, 2, 2]);
      // The restarted shared worker carried on the night's batch (replayed), c8 read once, c9 after it.
      expect(readsIn(fake, nights[4]!)).toEqual(['c8', 'c9']);
    });
  }, 120_000);
});

describe('operator control', () => {
  it('pause in night 2 holds across the close and the next opening; resume continues from the offset', async () => {
    const gate = new Gate();
    const fake = new FakeBackground('pause', { pages: 14, sync: { before: gateAt('c2', gate) } });
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 8);
    await bed.runBackground(fake, async (handle) => {
      const sleeping = bed.env.sleep(nights[1]!.opensAtMs + HOUR - start);
      await within(gate.reached, 'night 2 to read c2');
      const pausing = await handle.startUpdate(pauseBackgroundUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
      gate.open();
      const paused = await within(pausing.result(), 'the pause to answer');
      await sleeping;
      // The page in flight (c2) was tracked; nothing after it.
      expect(paused).toMatchObject({ phase: 'paused', paused: true, batchUid: null });
      expect(fake.row).toMatchObject({ status: 'paused', currentOffset: 'c3', rowsDone: 30 });
      expect(fake.reads.map((r) => r.cursor)).toEqual([null, 'c1', 'c2']);

      // Past night 2's close and night 3's opening: nothing read.
      await sleepUntil(nights[2]!.opensAtMs + 2 * HOUR);
      expect(fake.reads).toHaveLength(3);
      expect(await handle.query(backgroundProgressQuery)).toMatchObject({ phase: 'paused', paused: true });
      // A settings change while paused (the API's PUT) answers at once; the load plans with it when resumed.
      const reconfigured = await within(handle.executeUpdate(reconfigureBackgroundUpdate), 'reconfigure while paused');
      expect(reconfigured).toMatchObject({ phase: 'paused', paused: true });

      const resumedAt = await now();
      const resumed = await within(handle.executeUpdate(resumeBackgroundUpdate), 'the resume to answer');
      expect(resumed).toMatchObject({ paused: false });
      expect(resumed.phase).not.toBe('paused');

      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'completed' });
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());
      expect(fake.reads[3]!.atMs).toBeGreaterThanOrEqual(resumedAt);
      expect(readsIn(fake, nights[1]!)).toEqual(['c2']);
      expect(fake.row.rowsDone).toBe(140);
    });
  }, 120_000);

  it('stop answers stopped and the workflow completes; a new start continues from the stored offset', async () => {
    const gate = new Gate();
    const fake = new FakeBackground('stop-start', { pages: 14, sync: { before: gateAt('c2', gate) } });
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 7);
    await bed.runBackground(fake, async (handle) => {
      const sleeping = bed.env.sleep(nights[1]!.opensAtMs + HOUR - start);
      await within(gate.reached, 'night 2 to read c2');
      const stopping = await handle.startUpdate(stopBackgroundUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
      gate.open();
      const stopped = await within(stopping.result(), 'the stop to answer');
      expect(stopped).toMatchObject({ phase: 'stopped' });
      await sleeping;
      // Completed. (Not result(): it lets the server skip time with nothing running, to the next timer it holds,
      // the 10-year run timeout of an execution already closed.)
      expect((await handle.describe()).status.name).toBe('COMPLETED');
      expect(fake.row).toMatchObject({ status: 'stopped', currentOffset: 'c3', rowsDone: 30 });
      expect(fake.reads.map((r) => r.cursor)).toEqual([null, 'c1', 'c2']);

      // Started again (control/background.ts startBackground): still night 2, its quota's other page, then on.
      // Its night-2 page needs no timer: waited for in real time before the clock is let run (result()).
      const again: Handle = await bed.startBackground(fake);
      expect(again.workflowId).toBe(handle.workflowId);
      await until(() => fake.reads.length >= 4 && fake.row.rowsDone >= 40, 'the restarted load to read c3');
      const result = await again.result();
      expect(result).toMatchObject({ phase: 'completed' });
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());
      expect(readsIn(fake, nights[1]!)).toEqual(['c2', 'c3']);
      expect(fake.eventsOf('background.window_opened')).toHaveLength(7); // night 2 not opened twice
      expect(fake.row).toMatchObject({ rowsDone: 140, nightsUsed: 7 });
    });
  }, 120_000);

  it('a window change ends the running batch after its page in flight; the next plan uses the new window', async () => {
    const gate = new Gate();
    const fake = new FakeBackground('reconfigure', { pages: 14, sync: { before: gateAt('c2', gate) } });
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 2);
    const LATE: SyncWindow = { start: '22:00', end: '05:00', timeZone: 'Europe/Berlin' };
    await bed.runBackground(fake, async (handle) => {
      const sleeping = bed.env.sleep(nights[1]!.opensAtMs + 10 * MINUTE - start);
      await within(gate.reached, 'night 2 to read c2');
      // The API stores the new window, then tells the load.
      Object.assign(fake.row, { windowStart: LATE.start, windowEnd: LATE.end });
      const changing = await handle.startUpdate(reconfigureBackgroundUpdate, {
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const changedAt = await now();
      gate.open();
      const changed = await within(changing.result(), 'the reconfigure to answer');
      await sleeping;
      const late = windowAt(changedAt, LATE); // 19:0x: the late window opens at 22:00
      expect(late.open).toBe(false);
      expect(changed.window).toMatchObject({ open: false, opensAtMs: late.opensAtMs });
      expect(fake.reads.map((r) => r.cursor)).toEqual([null, 'c1', 'c2']); // c2 was in flight, tracked
      expect(fake.row.currentOffset).toBe('c3');

      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'completed' });
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());
      // The old night closed when the window changed; every read after the change is inside the new window.
      const closed = fake.eventsOf('background.window_closed');
      expect(closed[1]).toMatchObject({
        payload: { nightOpenedAt: new Date(nights[1]!.opensAtMs).toISOString(), rows: 10 },
      });
      const opened = fake.eventsOf('background.window_opened');
      expect(opened[2]!.payload.nightOpenedAt).toBe(new Date(late.opensAtMs).toISOString());
      for (const read of fake.reads.slice(3)) expect(nightOf(read.atMs, LATE)).not.toBeNull();
      expect(fake.reads[3]!.atMs).toBeGreaterThanOrEqual(late.opensAtMs);
    });
  }, 120_000);
});

describe('estimates and the clock', () => {
  it('a source estimate that was too low: the quota follows it until the estimate is read, then the window bounds the load, every row read once', async () => {
    const fake = new FakeBackground('low-estimate', { pages: 10, targetDays: 5, estimate: 50 }); // 100 rows
    const start = await toNoon();
    const nights = nextOccurrences(start, BERLIN, 6);
    await bed.runBackground(fake, async (handle) => {
      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'completed', totalRowsEstimate: 50 });
      const opened = fake.eventsOf('background.window_opened');
      expect(opened.map((e) => [e.payload.quota, e.payload.rowsDone])).toEqual([
        [10, 0],
        [10, 10],
        [10, 20],
        [10, 30],
        [10, 40],
      ]);
      // Night 5 reads its quota and with it as many rows as the estimate said: the source goes on, so the quota
      // is lifted for the rest of the night, which reads to the end.
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors());
      expect(nights.map((n) => readsIn(fake, n).length)).toEqual([1, 1, 1, 1, 6, 0]);
      expect(fake.row).toMatchObject({ rowsDone: 100, status: 'completed' });
      expect(fake.of('completeBackgroundLoad')).toHaveLength(1);
    });
  }, 120_000);

  it('a night across the spring-forward change lasts 11 h and no page starts after its close', async () => {
    // The next night of 19:00–07:00 Europe/Berlin that spans the change to summer time.
    let from = await now();
    let dst: Occurrence | undefined;
    while (!dst) {
      const batch = nextOccurrences(from, BERLIN, 60);
      dst = batch.find((o) => o.closesAtMs - o.opensAtMs === 11 * HOUR);
      from = batch[batch.length - 1]!.closesAtMs;
    }
    await toNoon(dst.opensAtMs - 24 * HOUR);
    const fake = new FakeBackground('dst', { pages: 30, targetDays: 1, pageMs: 100 * MINUTE });
    await bed.runBackground(fake, async (handle) => {
      await sleepUntil(dst.closesAtMs + HOUR);
      const progress = await handle.query(backgroundProgressQuery);
      expect(progress).toMatchObject({ phase: 'waiting_for_window', window: { open: false } });

      const [opened] = fake.eventsOf('background.window_opened');
      expect(opened!.payload.nightOpenedAt).toBe(new Date(dst.opensAtMs).toISOString());
      expect(Date.parse(opened!.payload.closesAt as string) - dst.opensAtMs).toBe(11 * HOUR);
      // 11 h of 100-minute pages: 6 (the 7th would end after the close), all started and read inside the night.
      expect(fake.reads.map((r) => r.cursor)).toEqual(fake.allCursors().slice(0, 6));
      for (const call of fake.sync.of('fetchPage')) {
        expect(call.startedMs).toBeGreaterThanOrEqual(dst.opensAtMs);
        expect(call.startedMs).toBeLessThan(dst.closesAtMs);
      }
      for (const read of fake.reads) expect(read.atMs).toBeLessThanOrEqual(dst.closesAtMs);
      expect(fake.eventsOf('background.window_closed').map((e) => e.payload.rows)).toEqual([60]);
    });
  }, 120_000);
});
