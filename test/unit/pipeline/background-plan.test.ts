import { describe, expect, it } from 'vitest';
import { estimatedCompletionMs, type LoadState, nightQuota, planNight } from '../../../pipeline/background/plan.ts';

/** The night-by-night bookkeeping of a background load (pipeline/background/plan.ts), as pure decisions. */
const state = (over: Partial<LoadState> = {}): LoadState => ({
  windowStart: '19:00',
  windowEnd: '07:00',
  timeZone: 'Europe/Berlin',
  targetDays: 7,
  rowsDone: 0,
  rowsToday: 0,
  nightsUsed: 0,
  nightOpenedAtMs: null,
  dailyQuota: null,
  totalRowsEstimate: null,
  ...over,
});
// 2026-06-10 is a Wednesday in summer time (UTC+2): the window opens 17:00Z and closes 05:00Z the next day.
const at = (iso: string) => Date.parse(iso);
const OPENING = at('2026-06-10T17:00:00Z');
const CLOSE = at('2026-06-11T05:00:00Z');

describe('nightQuota', () => {
  it('spreads what is left of the estimate over the nights left, in whole pages, at least one', () => {
    expect(nightQuota({ estimate: 7_000_000, rowsDone: 0, targetDays: 7, nightsUsed: 0, pageSize: 1000 })).toBe(
      1_000_000,
    );
    // Recomputed from what is left: a slow first night raises the next ones.
    expect(nightQuota({ estimate: 7_000_000, rowsDone: 400_000, targetDays: 7, nightsUsed: 1, pageSize: 1000 })).toBe(
      1_100_000,
    );
    expect(nightQuota({ estimate: 10, rowsDone: 0, targetDays: 7, nightsUsed: 0, pageSize: 1000 })).toBe(1000);
    expect(nightQuota({ estimate: 7, rowsDone: 0, targetDays: 2, nightsUsed: 0, pageSize: 1 })).toBe(4); // rounds up
    expect(nightQuota({ estimate: 6010, rowsDone: 0, targetDays: 3, nightsUsed: 0, pageSize: 500 })).toBe(2500);
  });

  it('is null (the whole window) when the estimate is unknown or exhausted, or the planned nights are used up', () => {
    expect(nightQuota({ estimate: null, rowsDone: 0, targetDays: 7, nightsUsed: 0, pageSize: 100 })).toBeNull();
    expect(nightQuota({ estimate: 500, rowsDone: 500, targetDays: 7, nightsUsed: 3, pageSize: 100 })).toBeNull();
    expect(nightQuota({ estimate: 5000, rowsDone: 100, targetDays: 7, nightsUsed: 7, pageSize: 100 })).toBeNull();
  });
});

describe('planNight', () => {
  it('outside the window: closed, nothing to read, no event', () => {
    const plan = planNight(state(), at('2026-06-10T12:00:00Z'), () => 7000, 100);
    expect(plan).toMatchObject({ quotaLeft: 0, openedNight: false, closedNight: false, events: [] });
    expect(plan.window).toEqual({ open: false, opensAtMs: OPENING, closesAtMs: CLOSE });
  });

  it('at the opening: a night opens with a fresh quota from the current estimate, and says so', () => {
    const plan = planNight(state({ rowsToday: 55 }), OPENING + 1000, () => 7000, 100);
    expect(plan.openedNight).toBe(true);
    expect(plan.state).toMatchObject({
      nightOpenedAtMs: OPENING,
      rowsToday: 0,
      dailyQuota: 1000,
      totalRowsEstimate: 7000,
    });
    expect(plan.quotaLeft).toBe(1000);
    expect(plan.events).toEqual([
      {
        type: 'background.window_opened',
        payload: {
          nightOpenedAt: '2026-06-10T17:00:00.000Z',
          closesAt: '2026-06-11T05:00:00.000Z',
          quota: 1000,
          rowsDone: 0,
          estimate: 7000,
        },
      },
    ]);
  });

  it('inside the same night: no new night; the quota left shrinks with the rows read; met is 0', () => {
    const open = state({
      nightOpenedAtMs: OPENING,
      dailyQuota: 1000,
      totalRowsEstimate: 7000,
      rowsDone: 600,
      rowsToday: 600,
    });
    let estimateRead = false;
    const plan = planNight(
      open,
      OPENING + 3_600_000,
      () => {
        estimateRead = true;
        return 1;
      },
      100,
    );
    expect(estimateRead).toBe(false); // the estimate is read only when a night opens
    expect(plan).toMatchObject({ openedNight: false, closedNight: false, quotaLeft: 400, events: [] });
    expect(
      planNight({ ...open, rowsDone: 1000, rowsToday: 1000 }, OPENING + 7_200_000, () => null, 100).quotaLeft,
    ).toBe(0);
  });

  it("an estimate that proved too low lifts tonight's quota: the night reads while its window is open", () => {
    const open = state({
      nightOpenedAtMs: OPENING,
      dailyQuota: 100,
      totalRowsEstimate: 700,
      rowsDone: 700,
      rowsToday: 100,
    });
    expect(planNight(open, OPENING + 60_000, () => null, 100).quotaLeft).toBeNull();
  });

  it('after the close: the night closes with its rows, and the next opening is tomorrow', () => {
    const open = state({ nightOpenedAtMs: OPENING, dailyQuota: 1000, rowsDone: 900, rowsToday: 900 });
    const plan = planNight(open, CLOSE, () => 7000, 100);
    expect(plan).toMatchObject({ closedNight: true, openedNight: false, quotaLeft: 0 });
    expect(plan.state.nightOpenedAtMs).toBeNull();
    expect(plan.state.rowsToday).toBe(900); // last night's rows stay readable until the next opening
    expect(plan.window.opensAtMs).toBe(at('2026-06-11T17:00:00Z'));
    expect(plan.events).toEqual([
      {
        type: 'background.window_closed',
        payload: { nightOpenedAt: '2026-06-10T17:00:00.000Z', rows: 900, rowsDone: 900 },
      },
    ]);
  });

  it('a plan that skipped a whole day (paused, or no worker) closes the old night and opens the current one', () => {
    const old = state({ nightOpenedAtMs: OPENING, dailyQuota: 1000, rowsDone: 900, rowsToday: 900, nightsUsed: 1 });
    const plan = planNight(old, at('2026-06-12T18:00:00Z'), () => 7000, 100);
    expect(plan.events.map((e) => e.type)).toEqual(['background.window_closed', 'background.window_opened']);
    // 6,100 rows left over 6 nights: 1,016.7 a night, in whole pages of 100.
    expect(plan.state).toMatchObject({ nightOpenedAtMs: at('2026-06-12T17:00:00Z'), rowsToday: 0, dailyQuota: 1100 });
  });

  it("a window changed while a night is open closes that night and opens the new window's", () => {
    const open = state({ nightOpenedAtMs: OPENING, dailyQuota: 1000, rowsDone: 10, rowsToday: 10 });
    const plan = planNight({ ...open, windowStart: '18:00' }, OPENING + 60_000, () => 7000, 100);
    expect(plan.closedNight && plan.openedNight).toBe(true);
    expect(plan.state.nightOpenedAtMs).toBe(at('2026-06-10T16:00:00Z'));
  });
});

describe('estimatedCompletionMs', () => {
  it('the close of the last night needed at the current quota', () => {
    // Between nights, 3000 rows left at 1000 a night: the third night from now, which closes on the 13th.
    const between = state({ totalRowsEstimate: 7000, rowsDone: 4000, dailyQuota: 1000 });
    expect(estimatedCompletionMs(between, at('2026-06-10T12:00:00Z'))).toBe(at('2026-06-13T05:00:00Z'));
    // In a night with 400 of its 1000 still to read and 3000 left: tonight and three more nights.
    const inNight = state({ ...between, nightOpenedAtMs: OPENING, rowsToday: 600 });
    expect(estimatedCompletionMs(inNight, OPENING + 60_000)).toBe(at('2026-06-14T05:00:00Z'));
  });

  it('unknown without an estimate or a quota, or once the estimate is read', () => {
    expect(estimatedCompletionMs(state(), OPENING)).toBeNull();
    expect(estimatedCompletionMs(state({ totalRowsEstimate: 10, rowsDone: 10, dailyQuota: 5 }), OPENING)).toBeNull();
  });
});
