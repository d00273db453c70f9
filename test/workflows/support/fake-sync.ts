import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type {
  BatchActivities,
  BatchPlan,
  BatchSummary,
  ChildActivities,
  DeleteActivities,
  FetchReport,
  FetchRequest,
  FinishBatchInput,
  IngestReport,
  PageRef,
  PageStageActivities,
  ReleaseInput,
  ReleaseReport,
  StageReport,
} from '../../../activities/contract.ts';
import { withHeartbeat } from '../../../activities/heartbeat.ts';
import { addCounts, type RecordCounts, zeroCounts } from '../../../pipeline/accounting.ts';

/**
 * A fake source, targets and control database behind the sync workflow's activities, for the workflows
 * project. The mocks have the real activities' names and signatures (`satisfies Partial<…>` of the real
 * activity types: a renamed or retyped activity fails the typecheck) and record every attempt: which
 * activity, which page, on which task queue, which attempt, in which run, at what (simulated) server time.
 *
 * The source: `pages` pages of `rowsPerPage` rows; page p is read with cursor `c<p>` (null for page 0) and
 * answers `c<p+1>`. A page read with any other cursor fails the batch (a lost or wrong cursor never passes
 * unseen). TRACK answers the page's counts: `failedRows(p)` failed, the rest inserted; the "database" totals
 * (`tracked`) are what the real TRACK would have committed, and finishBatch answers with them.
 */
/** The shared task queue (workflows, batch lifecycle, deletes, child release) and the live worker's page queue. */
export const SHARED_QUEUE = 'syncflow';
export const PAGE_QUEUE = 'syncflow-pages';

export interface Call {
  seq: number;
  activity: string;
  page: number | null;
  taskQueue: string;
  attempt: number;
  /**
   * Server (simulated) time when this attempt started, read from the test server's clock (on the Java test
   * server, a retry's currentAttemptScheduledTimestampMs does not include its backoff).
   */
  startedMs: number;
  runId: string;
  args: unknown[];
  outcome: 'running' | 'ok' | 'failed' | 'cancelled';
  /** Sequence number of the call's end (ordering against other calls). */
  endSeq?: number;
}

export interface ScenarioOptions {
  pages: number;
  rowsPerPage?: number;
  failedRows?: (page: number) => number;
  plan?: Partial<BatchPlan>;
  /** The task queue the n-th claimPageWorker (1-based) answers; default: the live page queue. */
  claim?: (n: number) => string;
  /** Runs before an activity's work (inside its heartbeat): may wait on a gate or throw to fail the attempt. */
  before?: (call: Call, signal: AbortSignal) => Promise<void> | void;
  /** releasePendingChildren's answer; `nowMs` is the server's simulated time of the call. */
  releaseChildren?: (input: ReleaseInput, nowMs: number) => ReleaseReport;
  /**
   * A source keyed by cursor instead of page number (background batches: each batch numbers its pages from 0
   * but starts at the load's offset). Answers the page read at `cursor`, or throws (a wrong or lost cursor).
   */
  source?: (ref: PageRef, cursor: string | null) => SourcePage | Promise<SourcePage>;
  /** Runs inside a successful TRACK with the page's counts and the cursor after it (what the real TRACK stores). */
  onTrack?: (ref: PageRef, counts: RecordCounts, nextCursor: string | null) => void;
}

/** One page of a cursor-keyed source. */
export interface SourcePage {
  rows: number;
  nextCursor: string | null;
  done: boolean;
}

export class FakeSync {
  readonly calls: Call[] = [];
  readonly tracked: RecordCounts = zeroCounts();
  private seq = 0;
  private claims = 0;
  /** Pages read from a cursor-keyed source (by batch and page number): their rows and the cursor after them. */
  private readonly read = new Map<string, SourcePage>();
  /** The server's (simulated) clock; TestBed sets it. */
  clock: () => Promise<number> = async () => Date.now();

  constructor(
    readonly name: string,
    readonly options: ScenarioOptions,
  ) {}

  /** What the shared-queue worker runs for this fake's workflow. */
  readonly shared = this.sharedActivities();
  /** What a page-queue worker runs for this fake's workflow. */
  readonly pages = this.pageActivities();

  get rowsPerPage() {
    return this.options.rowsPerPage ?? 10;
  }

  /** Calls of one activity (optionally of one page), in the order they started. */
  of(activity: string, page?: number): Call[] {
    return this.calls.filter((c) => c.activity === activity && (page === undefined || c.page === page));
  }

  /** Pages whose TRACK succeeded, in order. */
  trackedPages(): number[] {
    return this.of('trackPage')
      .filter((c) => c.outcome === 'ok')
      .map((c) => c.page!);
  }

  nextSeq() {
    return ++this.seq;
  }

  /** Records one attempt around `work`; `page` is read from a PageRef argument. */
  private async record<T>(activity: string, args: unknown[], work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const info = Context.current().info;
    const ref = args[0] as Partial<PageRef> | undefined;
    const call: Call = {
      seq: this.nextSeq(),
      activity,
      page: typeof ref?.page === 'number' ? ref.page : null,
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
      // Like the real I/O activities: heartbeating, so a cancellation reaches the work.
      const result = await withHeartbeat(
        async (signal) => {
          await this.options.before?.(call, signal);
          return work(signal);
        },
        undefined,
        500,
      );
      call.outcome = 'ok';
      return result;
    } catch (error) {
      call.outcome = error instanceof CancelledFailure ? 'cancelled' : 'failed';
      throw error;
    } finally {
      call.endSeq = this.nextSeq();
    }
  }

  private rows(page: number | PageRef): number {
    if (typeof page !== 'number') {
      if (this.options.source) return this.read.get(`${page.batchUid}/${page.page}`)?.rows ?? 0;
      return this.rows(page.page);
    }
    return page < this.options.pages ? this.rowsPerPage : 0;
  }

  private report(page: number | PageRef): StageReport {
    return { ms: 1, rowsIn: this.rows(page), rowsOut: this.rows(page) };
  }

  plan(): BatchPlan {
    return {
      configVersion: 1,
      pageSize: 100,
      readMode: 'full',
      watermark: null,
      fullSyncWatermark: null,
      estimatedRows: this.options.pages * this.rowsPerPage,
      hasParents: false,
      childWaitSeconds: 10,
      stageActivities: 'fused', // the entity config's default; tests that want the nine activities say 'split'
      circuitBreaker: null,
      childEntities: [],
      ...this.options.plan,
    };
  }

  /** Activities of the shared task queue (batch lifecycle, deletes, child release). */
  private sharedActivities() {
    const r = this.record.bind(this);
    return {
      beginBatch: (...args) => r('beginBatch', args, async () => this.plan()),
      claimPageWorker: (...args) =>
        r('claimPageWorker', args, async () => this.options.claim?.(++this.claims) ?? PAGE_QUEUE),
      setBatchPaused: (...args) => r('setBatchPaused', args, async () => {}),
      finishBatch: (...args) =>
        r('finishBatch', args, async (): Promise<BatchSummary> => {
          const [input] = args as [FinishBatchInput];
          return {
            ...this.tracked,
            batchUid: input.batchUid,
            entityName: this.name,
            status: input.status,
            dryRun: false,
            rowsPerSecond: 0,
            elapsedMs: input.elapsedMs,
            estimatedCost: 0,
          };
        }),
      applyDeletes: (...args) =>
        r('applyDeletes', args, async () => ({
          candidates: 0,
          deleted: 0,
          failed: 0,
          held: 0,
          policy: 'hard' as const,
          targetCalls: {},
        })),
      releasePendingChildren: (...args) =>
        r('releasePendingChildren', args, async (): Promise<ReleaseReport> => {
          const [input] = args as [ReleaseInput];
          const now = await this.clock();
          return (
            this.options.releaseChildren?.(input, now) ?? {
              released: 0,
              deadLettered: 0,
              refused: 0,
              waiting: 0,
              nextRetryAt: null,
              parentBatchRunning: false,
            }
          );
        }),
    } satisfies Partial<BatchActivities & DeleteActivities & ChildActivities>;
  }

  /** The nine page stages (and the fused transform) of one page worker. */
  private pageActivities() {
    const r = this.record.bind(this);
    const stage = (name: string) => (ref: PageRef) => r(name, [ref], async () => this.report(ref));
    return {
      fetchPage: (ref: PageRef, request: FetchRequest) =>
        r('fetchPage', [ref, request], async (): Promise<FetchReport> => {
          if (this.options.source) {
            const page = await this.options.source(ref, request.cursor);
            this.read.set(`${ref.batchUid}/${ref.page}`, page);
            return { ms: 1, rowsIn: page.rows, rowsOut: page.rows, nextCursor: page.nextCursor, done: page.done };
          }
          const expected = ref.page === 0 ? null : `c${ref.page}`;
          if (request.cursor !== expected) {
            throw ApplicationFailure.nonRetryable(
              `page ${ref.page} read with cursor ${request.cursor}, expected ${expected}`,
              'WrongCursor',
            );
          }
          const last = ref.page >= this.options.pages - 1;
          return { ...this.report(ref), nextCursor: last ? null : `c${ref.page + 1}`, done: last };
        }),
      normalizePage: stage('normalizePage'),
      validatePage: stage('validatePage'),
      mapPage: stage('mapPage'),
      identifyPage: stage('identifyPage'),
      deltaPage: (ref: PageRef) =>
        r('deltaPage', [ref], async () => ({
          ...this.report(ref),
          inserts: this.rows(ref),
          updates: 0,
          skips: 0,
        })),
      resolvePage: (ref: PageRef) => r('resolvePage', [ref], async () => ({ ...this.report(ref), waiting: 0 })),
      transformPage: (ref: PageRef) =>
        r('transformPage', [ref], async () => {
          const report = this.report(ref);
          return { normalize: report, validate: report, map: report, identity: report, delta: report, resolve: report };
        }),
      ingestPage: (ref: PageRef) =>
        r(
          'ingestPage',
          [ref],
          async (): Promise<IngestReport> => ({ ...this.report(ref), targetCalls: { target: 1 } }),
        ),
      trackPage: (ref: PageRef) =>
        r('trackPage', [ref], async () => {
          const rows = this.rows(ref);
          const failed = Math.min(rows, this.options.failedRows?.(ref.page) ?? 0);
          const counts: RecordCounts = { ...zeroCounts(), fetched: rows, inserted: rows - failed, failed };
          Object.assign(this.tracked, addCounts(this.tracked, counts));
          this.options.onTrack?.(ref, counts, this.read.get(`${ref.batchUid}/${ref.page}`)?.nextCursor ?? null);
          return { ...this.report(ref), counts };
        }),
    } satisfies Partial<PageStageActivities>;
  }
}

/** A gate an activity waits at until the test opens it (or the activity is cancelled). */
export class Gate {
  private release!: () => void;
  private readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  /** Resolves once an activity reached the gate. */
  readonly reached: Promise<void>;
  private markReached!: () => void;

  constructor() {
    this.reached = new Promise((resolve) => {
      this.markReached = resolve;
    });
  }

  open() {
    this.release();
  }

  async wait(signal: AbortSignal): Promise<void> {
    this.markReached();
    await new Promise<void>((resolve, reject) => {
      const abort = () => reject(new CancelledFailure(String(signal.reason ?? 'cancelled')));
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      void this.opened.then(() => {
        signal.removeEventListener('abort', abort);
        resolve();
      });
    });
  }
}
