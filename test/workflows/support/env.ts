import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import './provided.ts';
import { failureInterceptors } from '../../../worker/failure-interceptor.ts';
import { installWorkerRuntime } from '../../../worker/runtime.ts';
import type { backgroundSync } from '../../../workflows/background-sync.ts';
import {
  BACKGROUND_SYNC_WORKFLOW,
  backgroundWorkflowId,
  SYNC_ENTITY_WORKFLOW,
  type SyncEntityInput,
  syncWorkflowId,
} from '../../../workflows/contract.ts';
import {
  SyncBatchId,
  SyncEntity,
  SyncPaused,
  SyncType,
  searchAttributeKeys,
} from '../../../workflows/search-attributes.ts';
import type { syncEntity } from '../../../workflows/sync-entity.ts';
import { FakeBackground } from './fake-background.ts';
import { FakeSync, PAGE_QUEUE, SHARED_QUEUE } from './fake-sync.ts';

// temporal.api.enums.v1.IndexedValueType
const indexedValueType = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 } as const;

export interface Running {
  handle: WorkflowHandle<typeof syncEntity>;
  input: SyncEntityInput;
}

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

/**
 * One time-skipping test server per test file (time skipping is global to a server: a file's tests run one
 * after another), with SyncFlow's search attributes registered as infra/temporal.ts registers them on the dev
 * server (the workflow upserts SyncPaused; a start carries all four, as control/syncs.ts sets them), and one
 * SyncFlow-like worker pair reused by every test of the file: the shared queue (the workflow bundle the worker
 * loads, the shared activities) and a page queue (the page stages). Activities reach the FakeSync of the
 * workflow that scheduled them (by workflow id), so a test never sees another test's calls.
 */
export class TestBed {
  private readonly fakes = new Map<string, FakeSync>();
  /** The background loads' fakes, by the backgroundSync workflow id that schedules their activities. */
  private readonly backgrounds = new Map<string, FakeBackground>();
  private readonly workers: Worker[] = [];
  private readonly running: Promise<void>[] = [];
  /** Shuts down the shared-queue worker `start` created (a worker process that exits); replace it with startWorker. */
  stopSharedWorker: () => Promise<void> = async () => {};

  private constructor(readonly env: TestWorkflowEnvironment) {}

  static async start(): Promise<TestBed> {
    installWorkerRuntime('warn');
    const bed = new TestBed(await startServer());
    try {
      await bed.env.connection.operatorService.addSearchAttributes({
        namespace: bed.env.namespace ?? 'default',
        searchAttributes: Object.fromEntries(searchAttributeKeys.map((key) => [key.name, indexedValueType[key.type]])),
      });
      bed.stopSharedWorker = await bed.startSharedWorker();
      await bed.startWorker(PAGE_QUEUE, (fake) => fake.pages);
    } catch (error) {
      await bed.teardown();
      throw error;
    }
    return bed;
  }

  /** A worker on the shared queue: the workflows, the shared activities, the background loads' activities. */
  startSharedWorker(): Promise<() => Promise<void>> {
    return this.startWorker(SHARED_QUEUE, (fake) => fake.shared, {
      workflowBundle: { code: inject('workflowBundleCode') },
    });
  }

  /**
   * A worker on `taskQueue` running the page stages (or, with `pick`, other activities) of whichever FakeSync
   * scheduled them. Answers a function that shuts it down (a worker process that exits).
   */
  async startWorker(
    taskQueue: string,
    pick: (fake: FakeSync) => object = (fake) => fake.pages,
    options: Partial<Parameters<typeof Worker.create>[0]> = {},
  ): Promise<() => Promise<void>> {
    const template = pick(new FakeSync('template', { pages: 0 })) as Record<string, AnyActivity>;
    const activities = Object.fromEntries(
      Object.keys(template).map((name) => [
        name,
        (...args: unknown[]) => {
          const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
          const fake = this.fakes.get(workflowId);
          if (!fake) throw new Error(`no FakeSync for workflow ${workflowId}`);
          return (pick(fake) as Record<string, AnyActivity>)[name]!(...args);
        },
      ]),
    );
    if (taskQueue === SHARED_QUEUE) {
      // The backgroundSync workflow's activities, run by the FakeBackground of the load that scheduled them.
      for (const name of Object.keys(new FakeBackground('template', { pages: 0 }).activities)) {
        activities[name] = (...args: unknown[]) => {
          const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
          const fake = this.backgrounds.get(workflowId);
          if (!fake) throw new Error(`no FakeBackground for workflow ${workflowId}`);
          return (fake.activities as unknown as Record<string, AnyActivity>)[name]!(...args);
        };
      }
    }
    const worker = await Worker.create({
      connection: this.env.nativeConnection,
      taskQueue,
      activities,
      // As worker/create-worker.ts: heartbeats (and with them cancellations) flushed every second, and every
      // activity error mapped to a retry decision at the boundary (a mock throws what the real activity would).
      maxHeartbeatThrottleInterval: '1 second',
      interceptors: { activity: [failureInterceptors] },
      shutdownForceTime: '10 seconds',
      ...options,
    });
    const run = worker.run();
    this.workers.push(worker);
    this.running.push(run);
    return async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
    };
  }

  /** Starts syncEntity as control/syncs.ts does, against `fake`; `body` gets its handle. */
  async run<T>(fake: FakeSync, input: Partial<SyncEntityInput>, body: (running: Running) => Promise<T>): Promise<T> {
    const workflowId = `sync-${fake.name}`;
    this.fakes.set(workflowId, fake);
    fake.clock = () => this.env.currentTimeMs();
    const full: SyncEntityInput = {
      batchUid: `batch-${fake.name}`,
      entityName: fake.name,
      syncType: 'full',
      dryRun: false,
      ...input,
    };
    const handle = await this.env.client.workflow.start<typeof syncEntity>(SYNC_ENTITY_WORKFLOW, {
      taskQueue: SHARED_QUEUE,
      workflowId,
      args: [full],
      typedSearchAttributes: [
        { key: SyncEntity, value: full.entityName },
        { key: SyncType, value: full.syncType },
        { key: SyncBatchId, value: full.batchUid },
        { key: SyncPaused, value: false },
      ],
    });
    try {
      return await body({ handle, input: full });
    } finally {
      // A test that failed half-way leaves nothing running into the next one.
      await handle.terminate('test over').catch(() => {});
    }
  }

  /**
   * Starts backgroundSync for `fake`'s entity as control/background.ts's startBackground does (again, after a
   * stop: a new execution with the same id); its night batches (the child syncEntity) run against `fake.sync`.
   */
  async startBackground(fake: FakeBackground): Promise<WorkflowHandle<typeof backgroundSync>> {
    this.backgrounds.set(backgroundWorkflowId(fake.name), fake);
    this.fakes.set(syncWorkflowId(fake.name), fake.sync);
    fake.clock = () => this.env.currentTimeMs();
    fake.sync.clock = fake.clock;
    return this.env.client.workflow.start<typeof backgroundSync>(BACKGROUND_SYNC_WORKFLOW, {
      taskQueue: SHARED_QUEUE,
      workflowId: backgroundWorkflowId(fake.name),
      args: [{ entityName: fake.name }],
    });
  }

  /** Starts the load of `fake` (startBackground); `body` gets its handle; whatever still runs is terminated after. */
  async runBackground<T>(
    fake: FakeBackground,
    body: (handle: WorkflowHandle<typeof backgroundSync>) => Promise<T>,
  ): Promise<T> {
    const handle = await this.startBackground(fake);
    try {
      return await body(handle);
    } finally {
      await this.env.client.workflow
        .getHandle(backgroundWorkflowId(fake.name))
        .terminate('test over')
        .catch(() => {});
      await this.env.client.workflow
        .getHandle(syncWorkflowId(fake.name))
        .terminate('test over')
        .catch(() => {});
    }
  }

  async teardown(): Promise<void> {
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(this.running);
    await this.env.teardown();
  }
}

/**
 * The SDK gives the server 5 s to listen. The cached wrapper starts in about 1 s (its class-data-sharing archive),
 * but a machine busy with other work can still miss that: two more tries before the file fails.
 */
async function startServer(attempts = 3): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
      });
    } catch (error) {
      if (attempt >= attempts || !/did not start within/.test(String((error as Error).message))) throw error;
    }
  }
}

/** Polls (in real time, every 10 ms) until `check` holds; fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
