import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { unknownEntity } from '../../control/errors.ts';
import { listDeadLetters } from '../../db/dead-letters.ts';
import { listEntities } from '../../db/entities.ts';
import { entityStats } from '../../db/monitoring-stats.ts';
import { listPendingChildren } from '../../db/pending-children.ts';
import type { ApiDeps } from '../deps.ts';
import { pageRequest, pagination } from '../pagination.ts';
import { access, can } from '../roles.ts';
import {
  countsSchema,
  entityNameSchema,
  errorResponses,
  jsonContent,
  paginationQuery,
  paginationSchema,
} from '../schemas/common.ts';
import { failedRecordView, pendingChildView, recordDataAccess } from '../views.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const entityStatsSchema = z
  .object({
    entityName: z.string(),
    mode: z.enum(['dry_run', 'live']),
    batches: z.object({ total: z.number().int(), byStatus: z.record(z.string(), z.number().int()) }),
    lastBatch: z
      .object({
        batchUid: z.string(),
        status: z.string(),
        syncType: z.string(),
        dryRun: z.boolean(),
        startedAt: z.string().nullable(),
        completedAt: z.string().nullable(),
      })
      .nullable(),
    totals: countsSchema.openapi({ description: 'Records of live batches, per operation' }),
    dryRunTotals: countsSchema.openapi({ description: 'What dry runs reported they would do' }),
    dlqSize: z.number().int(),
    pendingChildren: z.number().int(),
  })
  .openapi('EntityStats');

const recordDataNote = (what: string) =>
  `${what}; null unless the key is operator or admin; sensitive fields are *** for every role`;

const failedRecordSchema = z
  .object({
    uid: z.string(),
    batchUid: z.string(),
    entityName: z.string(),
    bkHash: z.string().nullable(),
    refStr: z.string().nullable(),
    targetName: z.string().nullable(),
    stage: z.string(),
    errorType: z.string(),
    errorMessage: z.string(),
    errorDetails: z.unknown().openapi({ description: 'Field errors; their `value`s only for operator and admin keys' }),
    rawData: z.unknown().openapi({ description: recordDataNote('The source row') }),
    normalizedData: z.unknown().openapi({ description: recordDataNote('The normalized record') }),
    mappedData: z.unknown().openapi({ description: recordDataNote('The record as mapped for the target') }),
    retryCount: z.number().int(),
    maxRetries: z.number().int(),
    nextRetryAt: z.string().nullable(),
    lastRetryAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('FailedRecord');

const pendingChildSchema = z
  .object({
    uid: z.string(),
    batchUid: z.string(),
    entityName: z.string(),
    childBkHash: z.string(),
    childRefStr: z.string().nullable(),
    parentEntity: z.string(),
    parentBkHash: z.string(),
    parentRefStr: z.string().nullable(),
    childPayload: z.unknown().openapi({ description: recordDataNote('The child as it left the pipeline') }),
    status: z.string(),
    retryCount: z.number().int(),
    maxRetries: z.number().int(),
    nextRetryAt: z.string().nullable(),
    lastError: z.string().nullable(),
    releasedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('PendingChild');

const failedQuery = z.object({
  entity: entityNameSchema.optional(),
  stage: z
    .enum(['fetch', 'normalize', 'validate', 'map', 'identity', 'delta', 'resolve', 'ingest', 'track'])
    .optional(),
  errorType: z.string().max(50).optional(),
  batchUid: z.uuid().optional(),
  status: z.enum(['unresolved', 'resolved', 'all']).default('unresolved'),
  ...paginationQuery,
});

const pendingQuery = z.object({
  entity: entityNameSchema.optional(),
  parentEntity: entityNameSchema.optional(),
  status: z.enum(['waiting', 'released', 'dead_lettered']).optional(),
  batchUid: z.uuid().optional(),
  ...paginationQuery,
});

const tags = ['Monitoring'];

/** Per-entity figures, the dead-letter queue and the children waiting for their parents. */
export function monitoringRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/stats',
      ...access('read'),
      tags,
      summary: 'Per entity: batches, last batch, record totals per operation, DLQ size, pending children',
      request: { query: z.object({ entity: entityNameSchema.optional() }) },
      responses: {
        200: { description: 'Stats', content: jsonContent(z.object({ entities: z.array(entityStatsSchema) })) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { entity } = c.req.valid('query');
      let entities = await listEntities(deps.prisma);
      if (entity) {
        entities = entities.filter((e) => e.name === entity);
        if (entities.length === 0) throw unknownEntity(entity);
      }
      const stats = await entityStats(
        deps.prisma,
        entities.map((e) => e.name),
      );
      const body = stats.map((s, i) => ({
        ...s,
        mode: entities[i]!.mode,
        lastBatch: s.lastBatch
          ? { ...s.lastBatch, startedAt: iso(s.lastBatch.startedAt), completedAt: iso(s.lastBatch.completedAt) }
          : null,
      }));
      return c.json({ entities: body }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/failed-records',
      ...access('read'),
      tags,
      summary: 'The dead-letter queue, newest first (filters; page or cursor pagination)',
      request: { query: failedQuery },
      responses: {
        200: {
          description: 'A page of failed records',
          content: jsonContent(z.object({ records: z.array(failedRecordSchema), pagination: paginationSchema })),
        },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const request = pageRequest(query);
      const page = await listDeadLetters(deps.prisma, query, request);
      const access = await recordDataAccess(deps.prisma, can(c, 'recordData'));
      const records = page.rows.map((r) => failedRecordView(r, access));
      return c.json({ records, pagination: pagination(request, page) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/pending-children',
      ...access('read'),
      tags,
      summary: 'Children waiting for their parent, newest first (filters; page or cursor pagination)',
      request: { query: pendingQuery },
      responses: {
        200: {
          description: 'A page of pending children',
          content: jsonContent(z.object({ children: z.array(pendingChildSchema), pagination: paginationSchema })),
        },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const request = pageRequest(query);
      const page = await listPendingChildren(deps.prisma, query, request);
      const access = await recordDataAccess(deps.prisma, can(c, 'recordData'));
      const children = page.rows.map((r) => pendingChildView(r, access));
      return c.json({ children, pagination: pagination(request, page) }, 200);
    },
  );

  return app;
}
