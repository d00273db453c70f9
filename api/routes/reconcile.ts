import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  getReconcileReport,
  listReconcileReports,
  reconcileRequestSchema,
  startReconcile,
} from '../../control/reconciles.ts';
import type { ApiDeps } from '../deps.ts';
import { access } from '../roles.ts';
import { entityNameSchema, errorResponses, jsonContent } from '../schemas/common.ts';

/**
 * Reconcile (control/reconciles.ts): a parity report between an entity's normalized source and each of its
 * targets, optionally repairing what differs. Reports name records by bk_hash and reference string only, as
 * the DLQ and pending-children lists do for viewers; no record data (raw, normalized or mapped forms) is shown.
 */
const EXAMPLE_UID = '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a';

const keySchema = z
  .object({
    bkHash: z.string().openapi({ example: '9f2c4e1b7a0d5c3e8f6a1b2c3d4e5f60' }),
    refStr: z.string().nullable().openapi({ example: 'part_no=P-100|plant=DE01' }),
  })
  .openapi('ReconcileKey', { description: 'A record named by its bk_hash and reference string' });

const repairedSchema = z
  .object({
    resent: z.number().int().openapi({ description: 'Missing and different records re-sent through the write path' }),
    deleted: z.number().int().openapi({ description: "Extra records deleted (the entity's delete policy allows it)" }),
    reportedOnly: z
      .number()
      .int()
      .openapi({ description: "Extra records only reported: the entity's delete policy is none" }),
    verified: z.number().int().openapi({ description: 'Repaired keys that matched the source when checked again' }),
    stillDifferent: z.number().int().openapi({ description: 'Repaired keys that still differ when checked again' }),
  })
  .openapi('ReconcileRepair');

const targetSchema = z
  .object({
    target: z.string().openapi({ example: 'warehouse' }),
    type: z.string().openapi({ example: 'postgres' }),
    method: z.enum(['segments', 'lookup', 'sample']).openapi({
      description:
        'segments: key-range checksums computed in the PostgreSQL target, bisected where they differ; ' +
        'lookup: every key fetched by bk_hash (HTTP targets, under their rate cap); sample: a declared sample of keys',
    }),
    sourceCount: z.number().int().openapi({ example: 2940 }),
    targetCount: z.number().int().openapi({ example: 2939 }),
    missing: z.number().int().openapi({ example: 1, description: 'In the source, not in the target' }),
    extra: z.number().int().openapi({ example: 0, description: 'In the target, not in the source' }),
    different: z.number().int().openapi({ example: 0, description: 'Same bk_hash, another data hash' }),
    orphans: z.number().int().openapi({ example: 0, description: 'Children whose parent is absent in this target' }),
    identityMismatch: z
      .number()
      .int()
      .openapi({
        example: 0,
        description:
          'Records on which the identity store disagrees with the target (it says synced but the target lacks the ' +
          'record, or absent but the target holds it)',
      }),
    unverifiedSegments: z.array(z.string()).openapi({
      example: [],
      description:
        'Segments that could not be verified (the target failed mid-reconcile): bk_hash hex prefixes, or ' +
        '`lookup:<n>` batches of an HTTP target; a later reconcile checks them again',
    }),
    confidence: z.number().nullable().openapi({
      example: null,
      description: 'Sample method: the 95% upper bound on the rate of differing records the sample proves (0..1)',
    }),
    confidenceNote: z
      .string()
      .nullable()
      .optional()
      .openapi({ example: '0 of 400 sampled differ: at most 0.75% of records differ, 95% confidence' }),
    clean: z.boolean().openapi({ example: false }),
    note: z.string().nullable().optional().openapi({
      example: null,
      description: "Why segments stayed unverified (the target's error), or why a repair's sync did not run",
    }),
    firstKeys: z
      .object({
        missing: z.array(keySchema),
        extra: z.array(keySchema),
        different: z.array(keySchema),
        orphans: z.array(keySchema),
      })
      .openapi({ description: 'The first keys of each kind, with their reference strings' }),
    repaired: repairedSchema.nullable().openapi({ description: 'null unless the reconcile was started with repair' }),
  })
  .openapi('ReconcileTarget');

const reportSchema = z
  .object({
    uid: z.string().openapi({ example: EXAMPLE_UID }),
    entityName: z.string().openapi({ example: 'items' }),
    status: z.enum(['running', 'completed', 'failed', 'cancelled']).openapi({ example: 'completed' }),
    repair: z.boolean().openapi({ example: false }),
    sample: z.number().int().nullable().openapi({ example: null }),
    workflowId: z.string().openapi({ example: 'reconcile-items' }),
    startedAt: z.string().openapi({ example: '2026-12-02T03:10:00.000Z' }),
    finishedAt: z.string().nullable().openapi({ example: '2026-12-02T03:10:02.412Z' }),
    durationMs: z.number().int().nullable().openapi({ example: 2412 }),
    clean: z.boolean().nullable().openapi({ example: false, description: 'null until the reconcile completes' }),
    error: z.string().nullable().openapi({ example: null }),
    progress: z
      .object({
        phase: z.enum(['source', 'targets', 'repair', 'verify', 'done']),
        sourceRows: z.number().int(),
        segmentsChecked: z.number().int(),
        segmentsTotal: z.number().int(),
      })
      .openapi({ example: { phase: 'done', sourceRows: 3000, segmentsChecked: 16, segmentsTotal: 16 } }),
    source: z
      .object({
        rows: z.number().int().openapi({ description: 'Source rows read' }),
        records: z.number().int().openapi({ description: 'Records that normalized to an identity' }),
        unsyncable: z
          .number()
          .int()
          .openapi({ description: 'Rows that cannot sync (fail validation or mapping): not expected in any target' }),
      })
      .openapi({ example: { rows: 3000, records: 2940, unsyncable: 60 } }),
    targets: z.array(targetSchema),
  })
  .openapi('ReconcileReport', {
    description:
      "A parity report: per target, the counts and first keys of what differs from the entity's normalized source",
  });

const startedSchema = z
  .object({
    reportUid: z.string().openapi({ example: EXAMPLE_UID, description: 'GET /reconcile/{uid}' }),
    workflowId: z.string().openapi({ example: 'reconcile-items' }),
    entityName: z.string().openapi({ example: 'items' }),
  })
  .openapi('ReconcileStarted');

const uidParamSchema = z.object({
  uid: z.uuid('a report uid (UUID)').openapi({ param: { name: 'uid', in: 'path' }, example: EXAMPLE_UID }),
});

export const RECONCILE_LIST_MAX = 100;

const listQuery = z.object({
  entity: entityNameSchema.optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(RECONCILE_LIST_MAX, `at most ${RECONCILE_LIST_MAX}`)
    .default(20)
    .openapi({ example: 20 }),
  cursor: z.string().min(1).max(500).optional().openapi({ description: 'nextCursor of the previous page' }),
});

const listSchema = z
  .object({
    items: z.array(reportSchema),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as cursor for the next page; null at the end' }),
  })
  .openapi('ReconcileReportList');

const tags = ['Reconcile'];

/** Start a reconcile, read one report, list reports (newest first). */
export function reconcileRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/reconcile',
      ...access('control'),
      tags,
      summary: "Start a reconcile of an entity's targets against its normalized source (202 with the report's uid)",
      description:
        'The source is read and run through NORMALIZE…IDENTITY (no target or identity-store writes); each target ' +
        'is compared by bk_hash and data hash: PostgreSQL targets by key-range checksums computed in the database ' +
        'and bisected where they differ, HTTP targets by lookups by bk_hash under their rate cap, or a declared ' +
        '`sample` of keys. `targets` limits it to some targets. `repair: true` re-sends missing and different ' +
        "records through the normal write path, deletes extra ones when the entity's delete policy allows, and " +
        'checks the repaired keys again. Refused (409) while a reconcile of the entity runs, before its first ' +
        'completed sync, and with repair while a sync of it runs.',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: reconcileRequestSchema.openapi('ReconcileRequest'),
              example: { entity: 'items', targets: ['warehouse'], repair: false },
            },
          },
        },
      },
      responses: {
        202: { description: 'Started', content: jsonContent(startedSchema) },
        ...errorResponses(400, 404, 409, 413, 503),
      },
    }),
    async (c) => {
      const started = await startReconcile(deps, c.req.valid('json'));
      return c.json(
        { reportUid: started.reportUid, workflowId: started.workflowId, entityName: started.entityName },
        202,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/reconcile/{uid}',
      ...access('read'),
      tags,
      summary: 'A reconcile report: status and progress while it runs, then per target the counts and first keys',
      request: { params: uidParamSchema },
      responses: {
        200: { description: 'The report', content: jsonContent(reportSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { uid } = c.req.valid('param');
      const report = await getReconcileReport(deps, uid);
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/reconcile',
      ...access('read'),
      tags,
      summary: 'Reconcile reports, newest first (`entity` for one entity; `limit` and `cursor` to page)',
      request: { query: listQuery },
      responses: {
        200: { description: 'A page of reports', content: jsonContent(listSchema) },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const { entity, limit, cursor } = c.req.valid('query');
      const page = await listReconcileReports(deps, {
        ...(entity === undefined ? {} : { entity }),
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return c.json(page, 200);
    },
  );

  return app;
}
