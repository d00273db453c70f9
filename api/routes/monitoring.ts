import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { unknownEntity } from '../../control/errors.ts';
import { getDeadLetter, listDeadLetters } from '../../db/dead-letters.ts';
import { listEntities } from '../../db/entities.ts';
import { entityStats } from '../../db/monitoring-stats.ts';
import { listPendingChildren } from '../../db/pending-children.ts';
import { stageNames } from '../../workflows/contract.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
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
    sourceKey: z
      .string()
      .nullable()
      .openapi({
        description:
          'The business key as read from the source (`field=value|…` in businessKey order, raw values): names ' +
          'the record even when it failed before identity (refStr null); null for rows written before it existed',
      }),
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

const failedRecordErrorSchema = z
  .object({
    field: z.string().nullable().openapi({ description: 'The target field; null for a failure of the whole record' }),
    layer: z.string().openapi({ description: 'The pipeline layer (types, …, validation) or, without one, the stage' }),
    code: z.string(),
    message: z.string(),
    value: z
      .unknown()
      .openapi({ description: 'The value the rule received; *** for viewer keys and sensitive fields' }),
  })
  .openapi('FailedRecordError');

const failedRecordDetailSchema = failedRecordSchema
  .extend({
    errors: z
      .array(failedRecordErrorSchema)
      .openapi({ description: 'Every error of the record, with field and layer' }),
    batch: z.object({ batchUid: z.string(), status: z.string(), syncType: z.string(), dryRun: z.boolean() }).nullable(),
  })
  .openapi('FailedRecordDetail', {
    example: {
      uid: '0193a6f5-1b2c-7d3a-9f3e-2b7c1d0e4f5a',
      batchUid: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a',
      entityName: 'items',
      bkHash: null,
      refStr: null,
      sourceKey: 'part_no=P-100|plant=DE01',
      targetName: null,
      stage: 'normalize',
      errorType: 'normalization_failed',
      errorMessage: 'valid_from: not a date: 31.02.2026',
      errorDetails: [
        {
          field: 'valid_from',
          layer: 'dates',
          code: 'invalid_date',
          message: 'not a date: 31.02.2026',
          value: '31.02.2026',
        },
      ],
      errors: [
        {
          field: 'valid_from',
          layer: 'dates',
          code: 'invalid_date',
          message: 'not a date: 31.02.2026',
          value: '31.02.2026',
        },
      ],
      rawData: { PART_NO: 'P-100', PLANT: 'DE01', VALID_FROM: '31.02.2026' },
      normalizedData: { part_no: 'P-100', plant: 'DE01', valid_from: null },
      mappedData: null,
      retryCount: 0,
      maxRetries: 5,
      nextRetryAt: null,
      lastRetryAt: null,
      resolvedAt: null,
      createdAt: '2026-12-01T18:00:03.512Z',
      batch: { batchUid: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a', status: 'completed', syncType: 'full', dryRun: false },
    },
  });

const failedRecordParam = z.object({
  uid: z
    .uuid('a failed record uid (UUID)')
    .openapi({ param: { name: 'uid', in: 'path' }, example: '0193a6f5-1b2c-7d3a-9f3e-2b7c1d0e4f5a' }),
});

const textOr = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);

/** Every error of a DLQ record from its (already masked) details: field errors as they are, anything else as one. */
function errorsOf(view: {
  stage: string;
  errorType: string;
  errorMessage: string;
  errorDetails: unknown;
}): Array<z.infer<typeof failedRecordErrorSchema>> {
  const details = view.errorDetails;
  const whole = { field: null, layer: view.stage, code: view.errorType, message: view.errorMessage, value: null };
  if (!Array.isArray(details) || details.length === 0) return [whole];
  return details.map((d) => {
    if (!d || typeof d !== 'object') return { ...whole, message: String(d) };
    const e = d as Record<string, unknown>;
    return {
      field: typeof e.field === 'string' ? e.field : null,
      layer: textOr(e.layer, view.stage),
      code: textOr(e.code, view.errorType),
      message: textOr(e.message, view.errorMessage),
      value: e.value ?? null,
    };
  });
}

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
  stage: z.enum(stageNames).optional(),
  errorType: z.string().max(50).optional(),
  batchUid: z.uuid().optional(),
  key: z.string().max(2000).optional().openapi({ description: 'Exactly this sourceKey (`field=value|…`)' }),
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
      const records = page.rows.map((r) => ({ ...failedRecordView(r, access), sourceKey: r.sourceKey }));
      return c.json({ records, pagination: pagination(request, page) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/failed-records/{uid}',
      ...access('read'),
      tags,
      summary:
        'One dead-letter record: its source key and reference, every error with field and layer, its attempts, ' +
        'and the raw / normalized / mapped forms (operator and admin keys; masked as in the list)',
      request: { params: failedRecordParam },
      responses: {
        200: { description: 'The failed record', content: jsonContent(failedRecordDetailSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { uid } = c.req.valid('param');
      const row = await getDeadLetter(deps.prisma, uid);
      if (!row) throw new ApiError(404, 'not_found', `No failed record ${uid}.`);
      const [access, batch] = await Promise.all([
        recordDataAccess(deps.prisma, can(c, 'recordData')),
        deps.prisma.syncBatch.findUnique({
          where: { uid: row.batchUid },
          select: { uid: true, status: true, syncType: true, dryRun: true },
        }),
      ]);
      const view = { ...failedRecordView(row, access), sourceKey: row.sourceKey };
      return c.json(
        {
          ...view,
          errors: errorsOf(view),
          batch: batch
            ? { batchUid: batch.uid, status: batch.status, syncType: batch.syncType, dryRun: batch.dryRun }
            : null,
        },
        200,
      );
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
