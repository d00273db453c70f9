import { nextOccurrences, type SyncWindow, type WindowState, windowAt } from './window.ts';

/**
 * The night-by-night bookkeeping of a multi-day background load, as pure functions of the load's stored state
 * and the time: when a night opens and closes, how many rows it may read, and when the load should be done.
 * The backgroundSync workflow's activities apply what these decide (activities/background.ts); the workflow
 * tests apply them to an in-memory row, so both run the same decisions.
 */
export interface LoadState {
  windowStart: string;
  windowEnd: string;
  timeZone: string;
  targetDays: number;
  /** Rows read so far (tracked pages). */
  rowsDone: number;
  /** Rows read in the current (or last) night. */
  rowsToday: number;
  /** Nights in which the load read pages, before the current one. */
  nightsUsed: number;
  /** Opening of the night the load is in; null between nights. */
  nightOpenedAtMs: number | null;
  dailyQuota: number | null;
  totalRowsEstimate: number | null;
}

export const windowOf = (s: Pick<LoadState, 'windowStart' | 'windowEnd' | 'timeZone'>): SyncWindow => ({
  start: s.windowStart,
  end: s.windowEnd,
  timeZone: s.timeZone,
});

/**
 * Rows a night may read: what is left of the estimate spread over the nights left of `targetDays`, in whole pages
 * (at least one). Recomputed at each opening from the source's current estimate, so an estimate that was wrong corrects
 * itself night by night. When the load has already read as many rows as the estimate says (the estimate was too
 * low) or the planned nights are used up, the quota is null: the night reads for as long as the window is open
 * (planNight lifts tonight's quota too, the moment the load reads past the estimate).
 */
export function nightQuota(input: {
  estimate: number | null;
  rowsDone: number;
  targetDays: number;
  nightsUsed: number;
  pageSize: number;
}): number | null {
  const nightsLeft = input.targetDays - input.nightsUsed;
  if (input.estimate === null || nightsLeft <= 0) return null;
  const left = input.estimate - input.rowsDone;
  if (left <= 0) return null;
  // Whole pages: a batch stops starting pages once its quota is read, so a quota that ends inside a page reads it all.
  return Math.max(1, Math.ceil(left / nightsLeft / input.pageSize)) * input.pageSize;
}

export type NightEvent =
  | { type: 'background.window_closed'; payload: { nightOpenedAt: string; rows: number; rowsDone: number } }
  | {
      type: 'background.window_opened';
      payload: {
        nightOpenedAt: string;
        closesAt: string;
        quota: number | null;
        rowsDone: number;
        estimate: number | null;
      };
    };

export interface NightPlan {
  window: WindowState;
  /** The state after this plan (what the activity stores). */
  state: LoadState;
  /** Rows this night may still read; null: no bound but the window. 0: the quota is met. */
  quotaLeft: number | null;
  /** A night ended since the last plan (the workflow continues as new). */
  closedNight: boolean;
  openedNight: boolean;
  events: NightEvent[];
}

/**
 * What the load does at `nowMs`: closes the night it was in when that window is over (or no longer the window:
 * changed settings), opens the current window's night with a fresh quota. `estimate` is the source's current row
 * estimate (null: keep the stored one), read only when a night opens.
 */
export function planNight(state: LoadState, nowMs: number, estimate: () => number | null, pageSize: number): NightPlan {
  const window = windowAt(nowMs, windowOf(state));
  const events: NightEvent[] = [];
  let next = { ...state };
  let closedNight = false;
  let openedNight = false;
  if (next.nightOpenedAtMs !== null && !(window.open && window.opensAtMs === next.nightOpenedAtMs)) {
    events.push({
      type: 'background.window_closed',
      payload: {
        nightOpenedAt: new Date(next.nightOpenedAtMs).toISOString(),
        rows: next.rowsToday,
        rowsDone: next.rowsDone,
      },
    });
    next = { ...next, nightOpenedAtMs: null };
    closedNight = true;
  }
  if (window.open && next.nightOpenedAtMs === null) {
    const totalRowsEstimate = estimate() ?? next.totalRowsEstimate;
    const quota = nightQuota({
      estimate: totalRowsEstimate,
      rowsDone: next.rowsDone,
      targetDays: next.targetDays,
      nightsUsed: next.nightsUsed,
      pageSize,
    });
    next = { ...next, nightOpenedAtMs: window.opensAtMs, rowsToday: 0, dailyQuota: quota, totalRowsEstimate };
    events.push({
      type: 'background.window_opened',
      payload: {
        nightOpenedAt: new Date(window.opensAtMs).toISOString(),
        closesAt: new Date(window.closesAtMs).toISOString(),
        quota,
        rowsDone: next.rowsDone,
        estimate: totalRowsEstimate,
      },
    });
    openedNight = true;
  }
  // An estimate that proved too low (the load has read as many rows as it said, and the source goes on): the
  // quota no longer means anything, and the night reads for as long as its window is open.
  const estimateExceeded = next.totalRowsEstimate !== null && next.rowsDone >= next.totalRowsEstimate;
  const quotaLeft = !window.open
    ? 0
    : next.dailyQuota === null || estimateExceeded
      ? null
      : Math.max(0, next.dailyQuota - next.rowsToday);
  return { window, state: next, quotaLeft, closedNight, openedNight, events };
}

/** When the load should be done at its current pace: the close of the last night it needs; null when unknown. */
export function estimatedCompletionMs(state: LoadState, nowMs: number): number | null {
  if (state.totalRowsEstimate === null || state.dailyQuota === null || state.dailyQuota <= 0) return null;
  const left = state.totalRowsEstimate - state.rowsDone;
  if (left <= 0) return null;
  // Tonight's remaining quota counts when a night is open; the rest at one quota per night after it.
  const tonight = state.nightOpenedAtMs !== null ? Math.max(0, state.dailyQuota - state.rowsToday) : 0;
  const nights = (state.nightOpenedAtMs !== null ? 1 : 0) + Math.ceil(Math.max(0, left - tonight) / state.dailyQuota);
  if (nights > 366) return null;
  const occurrences = nextOccurrences(nowMs, windowOf(state), Math.max(1, nights));
  return occurrences[occurrences.length - 1]?.closesAtMs ?? null;
}
