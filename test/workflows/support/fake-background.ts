import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BackgroundActivities, BackgroundPlan, PageRef } from '../../../activities/contract.ts';
import { ConnectorError } from '../../../connectors/errors.ts';
import { type LoadState, type NightEvent, planNight } from '../../../pipeline/background/plan.ts';
import { type Call, FakeSync, type ScenarioOptions, type SourcePage } from './fake-sync.ts';

/**
 * A background load's control-database row (background_sync_schedule) in memory, behind the backgroundSync
 * workflow's activities, and the source and TRACK its night batches (the child syncEntity, a FakeSync) read
 * and account with. The activities apply the real `planNight` to the row, as activities/background.ts applies
 * it to the database row; the child's TRACK moves the row's offset and counts as the real TRACK does in its
 * transaction (db/background.ts advanceBackgroundOffset).
 *
 * The source: `pages` pages of `rowsPerPage` rows; page k is read with cursor `c<k>` (null for page 0) and
 * answers `c<k+1>` (null and done for the last). Keyed by cursor, not by the batch's page numbers (each night's
 * batch numbers its pages from 0 but starts at the load's offset). A read is refused (non-retryable
 * WrongCursor, the batch fails) unless its cursor is the load's stored offset or the cursor a page of the same
 * batch answered: a batch that starts anywhere but at the offset, or skips a page, fails loudly.
 */
export interface BackgroundScenario {
  pages: number;
  rowsPerPage?: number;
  /** The load's window; default 19:00–07:00 Europe/Berlin. */
  window?: { start: string; end: string; timeZone: string };
  targetDays?: number;
  /** What the source says its row count is (read at each night's opening); default the real count. */
  estimate?: number | null;
  /**
   * Simulated time a page's read takes: its first FETCH attempt is answered by a Retry-After of this long (a
   * server-side retry backoff, which the time-skipping server skips), so the page ends that long after it started.
   */
  pageMs?: number;
  /** The FakeSync options of the night batches (before, claim, …). */
  sync?: Partial<ScenarioOptions>;
}

export interface BackgroundRow extends LoadState {
  status: string;
  currentOffset: string | null;
  workflowId: string | null;
  startedAtMs: number | null;
  completedAtMs: number | null;
  lastRunAtMs: number | null;
  nextRunAtMs: number | null;
  lastError: string | null;
}

export interface BackgroundEvent {
  type: NightEvent['type'] | 'background.completed';
  atMs: number;
  payload: Record<string, unknown>;
}

/** A read of the source that answered: which cursor, when (server time), by which batch and page. */
export interface SourceRead {
  cursor: string | null;
  atMs: number;
  batchUid: string;
  page: number;
  taskQueue: string;
}

export class FakeBackground {
  readonly row: BackgroundRow;
  readonly events: BackgroundEvent[] = [];
  /** Every attempt of a background activity (seq shared with the night batches' calls). */
  readonly calls: Call[] = [];
  /** Reads of the source that answered, in order. */
  readonly reads: SourceRead[] = [];
  /** The night batches: a FakeSync whose source and TRACK are this load's. */
  readonly sync: FakeSync;
  /** The server's (simulated) clock; TestBed sets it. */
  clock: () => Promise<number> = async () => Date.now();

  constructor(
    readonly name: string,
    readonly scenario: BackgroundScenario,
  ) {
    const window = scenario.window ?? { start: '19:00', end: '07:00', timeZone: 'Europe/Berlin' };
    this.row = {
      windowStart: window.start,
      windowEnd: window.end,
      timeZone: window.timeZone,
      targetDays: scenario.targetDays ?? 7,
      rowsDone: 0,
      rowsToday: 0,
      nightsUsed: 0,
      nightOpenedAtMs: null,
      dailyQuota: null,
      totalRowsEstimate: null,
      status: 'waiting_for_window',
      currentOffset: null,
      workflowId: null,
      startedAtMs: null,
      completedAtMs: null,
      lastRunAtMs: null,
      nextRunAtMs: null,
      lastError: null,
    };
    const { before, ...sync } = scenario.sync ?? {};
    this.sync = new FakeSync(name, {
      pages: scenario.pages,
      rowsPerPage: this.rowsPerPage,
      ...sync,
      plan: { pageSize: this.rowsPerPage, ...sync.plan },
      before: async (call, signal) => {
        if (scenario.pageMs && call.activity === 'fetchPage' && call.attempt === 1) {
          throw new ConnectorError('busy (429)', {
            connector: 'source',
            operation: 'read',
            code: 'rate_limited',
            transient: true,
            retryAfterMs: scenario.pageMs,
          });
        }
        await before?.(call, signal);
      },
      source: (ref, cursor) => this.read(ref, cursor),
      onTrack: (ref, counts, nextCursor) => {
        if (ref.syncType !== 'background') return;
        // As db/background.ts advanceBackgroundOffset, in TRACK's transaction.
        this.row.currentOffset = nextCursor ?? this.row.currentOffset;
        this.row.rowsDone += counts.fetched;
        this.row.rowsToday += counts.fetched;
      },
    });
  }

  get rowsPerPage() {
    return this.scenario.rowsPerPage ?? 10;
  }

  get sourceRows() {
    return this.scenario.pages * this.rowsPerPage;
  }

  /** The cursors of the source's pages in order: null, c1, c2, … */
  allCursors(): Array<string | null> {
    return Array.from({ length: this.scenario.pages }, (_, k) => (k === 0 ? null : `c${k}`));
  }

  /** Calls of one background activity. */
  of(activity: keyof BackgroundActivities): Call[] {
    return this.calls.filter((c) => c.activity === activity);
  }

  /** The runs of the backgroundSync workflow, in the order they first called an activity. */
  runs(): string[] {
    return [...new Set(this.calls.map((c) => c.runId))];
  }

  eventsOf(type: BackgroundEvent['type']): BackgroundEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  private async read(ref: PageRef, cursor: string | null): Promise<SourcePage> {
    const info = Context.current().info;
    const fromSameBatch = this.reads.some(
      (r) => r.batchUid === ref.batchUid && this.nextCursor(r.cursor) === cursor && cursor !== null,
    );
    if (cursor !== this.row.currentOffset && !fromSameBatch) {
      throw ApplicationFailure.nonRetryable(
        `read with cursor ${cursor}: the load's offset is ${this.row.currentOffset}, and no page of batch ` +
          `${ref.batchUid} answered it`,
        'WrongCursor',
      );
    }
    const k = cursor === null ? 0 : Number(/^c(\d+)$/.exec(cursor)?.[1] ?? Number.NaN);
    if (!Number.isInteger(k) || k < 0 || k >= this.scenario.pages || (cursor !== null && k === 0)) {
      throw ApplicationFailure.nonRetryable(`no page at cursor ${cursor}`, 'WrongCursor');
    }
    this.reads.push({
      cursor,
      atMs: await this.clock(),
      batchUid: ref.batchUid,
      page: ref.page,
      taskQueue: info.taskQueue,
    });
    const last = k === this.scenario.pages - 1;
    return { rows: this.rowsPerPage, nextCursor: last ? null : `c${k + 1}`, done: last };
  }

  private nextCursor(cursor: string | null): string | null {
    const k = cursor === null ? 0 : Number(cursor.slice(1));
    return k + 1 < this.scenario.pages ? `c${k + 1}` : null;
  }

  private async record<T>(activity: string, args: unknown[], work: (nowMs: number) => T | Promise<T>): Promise<T> {
    const info = Context.current().info;
    const call: Call = {
      seq: this.sync.nextSeq(),
      activity,
      page: null,
      taskQueue: info.taskQueue,
      attempt: info.attempt,
      startedMs: 0,
      runId: info.workflowExecution?.runId ?? '',
      args,
      outcome: 'running',
    };
    this.calls.push(call);
    try {
      call.startedMs = await this.clock();
      const result = await work(call.startedMs);
      call.outcome = 'ok';
      return result;
    } catch (error) {
      call.outcome = 'failed';
      throw error;
    } finally {
      call.endSeq = this.sync.nextSeq();
    }
  }

  /** The mocks of BackgroundActivities, as activities/background.ts does them on the database row. */
  readonly activities = {
    beginBackgroundLoad: (input) =>
      this.record('beginBackgroundLoad', [input], (nowMs) => {
        const row = this.row;
        const first = row.startedAtMs === null || row.status === 'completed';
        if (row.status === 'completed') {
          Object.assign(row, {
            currentOffset: null,
            rowsDone: 0,
            rowsToday: 0,
            nightsUsed: 0,
            nightOpenedAtMs: null,
            dailyQuota: null,
          });
        }
        if (first) Object.assign(row, { startedAtMs: nowMs, completedAtMs: null, totalRowsEstimate: null });
        row.workflowId = input.workflowId;
        row.lastError = null;
      }),
    planBackgroundNight: (input) =>
      this.record('planBackgroundNight', [input], (nowMs): BackgroundPlan => {
        const estimate = this.scenario.estimate === undefined ? this.sourceRows : this.scenario.estimate;
        const plan = planNight(this.row, input.nowMs, () => estimate, this.rowsPerPage);
        if (plan.closedNight || plan.openedNight) {
          const { nightOpenedAtMs, rowsToday, dailyQuota, totalRowsEstimate } = plan.state;
          Object.assign(this.row, { nightOpenedAtMs, rowsToday, dailyQuota, totalRowsEstimate });
          for (const event of plan.events) this.events.push({ type: event.type, atMs: nowMs, payload: event.payload });
        }
        return {
          window: plan.window,
          offset: this.row.currentOffset,
          rowsDone: plan.state.rowsDone,
          rowsToday: plan.state.rowsToday,
          dailyQuota: plan.state.dailyQuota,
          quotaLeft: plan.quotaLeft,
          totalRowsEstimate: plan.state.totalRowsEstimate,
          closedNight: plan.closedNight,
        };
      }),
    setBackgroundStatus: (input) =>
      this.record('setBackgroundStatus', [input], () => {
        this.row.status = input.status;
        if (input.nextRunAtMs !== undefined) this.row.nextRunAtMs = input.nextRunAtMs;
        if (input.error !== undefined) this.row.lastError = input.error;
      }),
    prepareBackgroundBatch: (input) =>
      this.record('prepareBackgroundBatch', [input], (nowMs) => {
        // The night counts as used by the first batch that runs in it.
        if (this.row.lastRunAtMs === null || this.row.lastRunAtMs < input.nightOpenedAtMs) this.row.nightsUsed++;
        this.row.lastRunAtMs = nowMs;
      }),
    discardBackgroundBatch: (input) => this.record('discardBackgroundBatch', [input], () => {}),
    completeBackgroundLoad: (input) =>
      this.record('completeBackgroundLoad', [input], (nowMs) => {
        const final = { rowsDone: this.row.rowsDone, rowsToday: this.row.rowsToday };
        if (this.row.status === 'completed') return final;
        // As the real activity: the night it completed in closes with it.
        if (this.row.nightOpenedAtMs !== null) {
          this.events.push({
            type: 'background.window_closed',
            atMs: nowMs,
            payload: {
              nightOpenedAt: new Date(this.row.nightOpenedAtMs).toISOString(),
              rows: this.row.rowsToday,
              rowsDone: this.row.rowsDone,
            },
          });
        }
        Object.assign(this.row, {
          status: 'completed',
          completedAtMs: nowMs,
          nightOpenedAtMs: null,
          nextRunAtMs: null,
        });
        this.events.push({
          type: 'background.completed',
          atMs: nowMs,
          payload: { rowsDone: this.row.rowsDone, nightsUsed: this.row.nightsUsed },
        });
        return final;
      }),
  } satisfies BackgroundActivities;
}
