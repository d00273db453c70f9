import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { unknownBatch } from '../../control/errors.ts';
import { replayRequestSchema, startReplay } from '../../control/replays.ts';
import {
  getSyncStatus,
  pauseSync,
  resumeSync,
  type StartSyncRequest,
  startSync,
  startSyncRequestSchema,
  stopSync,
} from '../../control/syncs.ts';
import { listDryRunCandidates } from '../../db/dry-run-candidates.ts';
import { listBatches } from '../../db/sync-history.ts';
import type { ApiDeps } from '../deps.ts';
import { pageRequest, pagination } from '../pagination.ts';
import { access, can } from '../roles.ts';
import {
  batchParamSchema,
  countsSchema,
  entityNameSchema,
  errorResponses,
  jsonContent,
  paginationQuery,
  paginationSchema,
} from '../schemas/common.ts';
import { batchView } from '../views.ts';

const candidateSchema = z
  .object({
    uid: z.string(),
    page: z.number().int(),
    stage: z.string(),
    targetName: z.string().nullable(),
    errorType: z.string(),
    errorMessage: z.string(),
    errorDetails: z.unknown().nullable().openapi({ description: 'Field errors with values (operator, admin)' }),
    sourceKey: z.string().nullable().openapi({ example: 'part_no=p-100|plant=US02' }),
    refStr: z.string().nullable(),
    deadLetterUid: z.string().nullable().openapi({ description: "A replay's dry run: the dead letter it re-ran" }),
  })
  .openapi('DryRunCandidate');

/** Every batch's type: full and incremental syncs, background batches, dead-letter replays. */
const syncTypeSchema = z.enum(['full', 'incremental', 'background', 'replay']);

const startedSchema = z
  .object({
    batches: z.array(
      z.object({
        batchUid: z.string(),
        workflowId: z.string(),
        entityName: z.string(),
        dryRun: z.boolean(),
        syncType: syncTypeSchema,
      }),
    ),
  })
  .openapi('SyncStarted');

const batchSchema = z
  .object({
    batchUid: z.string(),
    entityName: z.string(),
    syncType: z.string(),
    status: z.string().openapi({ description: 'pending | running | paused | completed | failed | cancelled' }),
    dryRun: z.boolean(),
    workflowId: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    counts: countsSchema,
    pagesCompleted: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi('Batch');

const statusSchema = z
  .object({
    batchUid: z.string(),
    entityName: z.string(),
    syncType: z.string(),
    status: z.string(),
    dryRun: z.boolean(),
    workflowId: z.string().nullable(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    counts: countsSchema,
    pagesCompleted: z.number().int(),
    watermarkFrom: z.string().nullable(),
    watermarkTo: z.string().nullable(),
    metrics: z.unknown(),
    error: z.string().nullable(),
    progress: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The workflow's live progress query (phase, counts, rows/s) while it runs" }),
    retrying: z
      .array(
        z.object({
          activity: z.string(),
          attempt: z.number().int(),
          lastFailure: z.string(),
          nextAttemptAt: z.string().nullable(),
        }),
      )
      .openapi({
        description:
          'Stages that failed and wait for their next attempt (e.g. a 429 with Retry-After): why a running sync is not moving',
      }),
  })
  .openapi('SyncStatus');

const controlAcceptedSchema = z
  .object({ batchUid: z.string(), action: z.enum(['stop']), status: z.string() })
  .openapi('SyncControlAccepted');

const stageTotalsSchema = z.object({ ms: z.number(), rowsIn: z.number().int(), rowsOut: z.number().int() });

/** The workflow's progress (workflows/contract.ts SyncProgress): the progress query's answer, and the updates'. */
const progressSchema = z
  .object({
    batchUid: z.string(),
    entityName: z.string(),
    syncType: syncTypeSchema,
    dryRun: z.boolean(),
    phase: z.enum(['starting', 'syncing', 'deleting', 'releasing_children', 'finishing', 'done']),
    paused: z.boolean(),
    pagesCompleted: z.number().int(),
    pagesInFlight: z.number().int(),
    estimatedRows: z.number().nullable(),
    counts: countsSchema,
    rowsPerSecond: z.number(),
    stages: z.record(z.string(), stageTotalsSchema).openapi({ description: 'Per stage: wall time (ms) and rows' }),
  })
  .openapi('SyncProgress');

const controlDoneSchema = z
  .object({
    batchUid: z.string(),
    action: z.enum(['pause', 'resume', 'stop']),
    status: z
      .string()
      .openapi({ description: "The batch's status after the change: paused | running (cancelled after a stop)" }),
    progress: progressSchema,
  })
  .openapi('SyncControlDone');

const historyQuery = z.object({
  entity: entityNameSchema.optional(),
  status: z.enum(['pending', 'running', 'paused', 'completed', 'failed', 'cancelled']).optional(),
  syncType: syncTypeSchema.optional(),
  ...paginationQuery,
});

const replayStartedSchema = z
  .object({
    batchUid: z.string().openapi({ description: "The replay's batch (GET /sync/status/{batchUid})" }),
    entityName: z.string(),
    workflowId: z.string().openapi({ description: 'The replayDeadLetters workflow (replay-<entity>)' }),
    syncWorkflowId: z.string().openapi({ description: "The replay's batch runs as the entity's sync (sync-<entity>)" }),
  })
  .openapi('ReplayStarted');

const tags = ['Sync'];

/** Start, watch, pause, resume and stop syncs; their history; re-queue the dead-letter queue. */
export function syncRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/sync/start',
      ...access('control'),
      tags,
      summary: 'Start a sync of one or more entities (parents first)',
      request: {
        body: {
          required: true,
          content: jsonContent(
            startSyncRequestSchema.openapi('StartSyncRequest', {
              description:
                'Entities to sync (related ones run parents first). `maxItems` makes a bounded trial run of one ' +
                'entity: at most that many source rows are read, then the batch completes (a full sync then applies ' +
                'no deletes and leaves the full-sync watermark).',
              example: { entities: ['items'], syncType: 'full', execute: true, maxItems: 1000 },
            }),
          ),
        },
      },
      responses: {
        202: { description: 'Started: one batch per entity', content: jsonContent(startedSchema) },
        ...errorResponses(400, 404, 409, 413, 503),
      },
    }),
    async (c) => {
      const batches = await startSync(deps, c.req.valid('json') as StartSyncRequest);
      return c.json({ batches }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/sync/status/{batchUid}',
      ...access('read'),
      tags,
      summary: "A batch's status, counts and live progress",
      request: { params: batchParamSchema },
      responses: {
        200: { description: 'Status', content: jsonContent(statusSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { batchUid } = c.req.valid('param');
      const deadline = Date.now() + (deps.progressQueryTimeoutMs ?? 3_000);
      const status = await deps.temporal.withDeadline(deadline, () => getSyncStatus(deps, batchUid));
      return c.json({ ...status, progress: status.progress as unknown as Record<string, unknown> | null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/sync/stop/{batchUid}',
      ...access('control'),
      tags,
      summary: 'Stop a sync; answers once the batch is closed cancelled, with its counts kept',
      request: { params: batchParamSchema },
      responses: {
        200: {
          description: "Stopped: the batch is closed cancelled; the workflow's final progress",
          content: jsonContent(controlDoneSchema),
        },
        202: {
          description:
            'No worker took the stop in time (all down?): a cancellation request is recorded, and the sync stops ' +
            'as soon as a worker runs it',
          content: jsonContent(controlAcceptedSchema),
        },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { batchUid } = c.req.valid('param');
      const outcome = await stopSync(deps, batchUid, { answerWithinMs: deps.stopAnswerTimeoutMs });
      const batch = await deps.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
      if (!outcome.stopped) return c.json({ batchUid, action: 'stop' as const, status: batch.status }, 202);
      return c.json({ batchUid, action: 'stop' as const, status: batch.status, progress: outcome.progress }, 200);
    },
  );

  /** Pause and resume are Workflow Updates: the answer is the state after the change took effect. */
  const control = (action: 'pause' | 'resume', run: typeof pauseSync, summary: string) =>
    app.openapi(
      createRoute({
        method: 'post',
        path: `/sync/${action}/{batchUid}`,
        ...access('control'),
        tags,
        summary,
        request: { params: batchParamSchema },
        responses: {
          200: {
            description: `Done: the workflow's progress after the ${action} took effect`,
            content: jsonContent(controlDoneSchema),
          },
          ...errorResponses(400, 404, 409, 503),
        },
      }),
      async (c) => {
        const { batchUid } = c.req.valid('param');
        const progress = await run(deps, batchUid);
        const batch = await deps.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
        return c.json({ batchUid, action, status: batch.status, progress }, 200);
      },
    );
  control('pause', pauseSync, 'Pause a running sync; answers once its pages in flight are tracked and it is paused');
  control('resume', resumeSync, 'Resume a paused sync; answers once it runs again');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/sync/status/{batchUid}/candidates',
      ...access('read'),
      tags,
      summary: "A dry run's plan: every record it would have dead-lettered, with the reason (page or cursor)",
      description:
        'A dry run (a sync, or a replay with dryRun) writes nothing but this list: per record the stage and ' +
        'target, the error type and message, the record named by its source key and reference, and for a ' +
        "replay the dead letter it re-ran. Error details (the fields' values) for operator and admin keys.",
      request: { params: batchParamSchema, query: z.object(paginationQuery) },
      responses: {
        200: {
          description: 'A page of candidates',
          content: jsonContent(z.object({ candidates: z.array(candidateSchema), pagination: paginationSchema })),
        },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { batchUid } = c.req.valid('param');
      const batch = await deps.prisma.syncBatch.findUnique({ where: { uid: batchUid }, select: { uid: true } });
      if (!batch) throw unknownBatch(batchUid);
      const request = pageRequest(c.req.valid('query'));
      const page = await listDryRunCandidates(deps.prisma, batchUid, request);
      const details = can(c, 'recordData');
      const candidates = page.rows.map((r) => ({
        uid: r.uid,
        page: r.page,
        stage: r.stage,
        targetName: r.targetName,
        errorType: r.errorType,
        errorMessage: r.errorMessage,
        errorDetails: details ? r.errorDetails : null,
        sourceKey: r.sourceKey,
        refStr: r.refStr,
        deadLetterUid: r.deadLetterUid,
      }));
      return c.json({ candidates, pagination: pagination(request, page) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/sync/history',
      ...access('read'),
      tags,
      summary: 'Batches, newest first (filters; page or cursor pagination)',
      request: { query: historyQuery },
      responses: {
        200: {
          description: 'A page of batches',
          content: jsonContent(z.object({ batches: z.array(batchSchema), pagination: paginationSchema })),
        },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const request = pageRequest(query);
      const page = await listBatches(deps.prisma, query, request);
      return c.json({ batches: page.rows.map(batchView), pagination: pagination(request, page) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/sync/retry-failed',
      ...access('control'),
      tags,
      summary: "Replay an entity's dead letters through its current configuration (a replayDeadLetters workflow)",
      description:
        'Each selected dead letter is re-run from its raw form through the same stages and idempotent target ' +
        'writes as a sync, as a batch of type replay. A record that lands is resolved; one that fails again ' +
        'keeps its history and backs off (abandoned past maxRetries). dryRun reports what would land and what ' +
        'would still fail, writing nothing. Refused (409) while a sync, replay or background load of the entity runs.',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: replayRequestSchema.openapi('RetryFailedRequest'),
              example: { entity: 'items', stage: 'map', errorType: 'unmapped_value', limit: 500 },
            },
          },
        },
      },
      responses: {
        202: { description: 'The replay started', content: jsonContent(replayStartedSchema) },
        ...errorResponses(400, 404, 409, 413, 503),
      },
    }),
    async (c) => c.json(await startReplay(deps, c.req.valid('json')), 202),
  );

  return app;
}
