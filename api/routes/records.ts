import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { createTracer, type RecordTrace } from '../../control/trace.ts';
import { normalizationLayers } from '../../pipeline/errors.ts';
import { maskPreviewFields } from '../../pipeline/mask.ts';
import type { ApiDeps } from '../deps.ts';
import { jsonSafe } from '../json-body.ts';
import { access, can } from '../roles.ts';
import { errorResponses, jsonContent } from '../schemas/common.ts';
import { recordParamSchema, recordTraceSchema } from '../schemas/trace.ts';
import { failedRecordView, pendingChildView, type RecordDataAccess, recordData, recordDataAccess } from '../views.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A replay's attempts as stored; their messages (which may quote values) only with record data. */
function attemptsView(attempts: unknown, show: boolean): unknown {
  if (show || !Array.isArray(attempts)) return attempts;
  return attempts.map((a) => {
    if (!a || typeof a !== 'object') return a;
    const errors = (a as { errors?: unknown }).errors;
    return {
      ...a,
      ...(Array.isArray(errors)
        ? { errors: errors.map((e) => (e && typeof e === 'object' ? { ...e, message: '***' } : e)) }
        : {}),
    };
  });
}

/** The trace as the API shows it: record data only for operator and admin keys, sensitive fields masked. */
function traceView(trace: RecordTrace, access: RecordDataAccess) {
  const data = recordData(access, trace.entity);
  const sensitive = access.sensitive.get(trace.entity);
  const { pipeline, source } = trace;
  return {
    entity: trace.entity,
    mode: trace.mode,
    recordData: access.show,
    key: trace.key,
    source: { ...source, row: source.row === null ? null : data.bySource(source.row) },
    pipeline: pipeline && {
      failedAt: pipeline.failedAt,
      layers: [...normalizationLayers],
      fields:
        access.show && sensitive
          ? maskPreviewFields(pipeline.fields as unknown as Record<string, Record<string, unknown>>, sensitive)
          : null,
      normalized: data.byTarget(pipeline.normalized),
      errors: data.errors([...pipeline.normalizeErrors, ...(pipeline.validation?.errors ?? [])]),
      mapped: pipeline.mapped === null ? null : data.byTarget(pipeline.mapped),
      identity: pipeline.identity,
      bkHash: pipeline.bkHash,
      sourceKey: pipeline.sourceKey,
    },
    targets: trace.targets.map((t) => ({
      ...t,
      stored: t.stored && {
        ...t.stored,
        lastAttemptAt: iso(t.stored.lastAttemptAt),
        syncedAt: iso(t.stored.syncedAt),
        deletedAt: iso(t.stored.deletedAt),
      },
    })),
    deadLetters: {
      ...trace.deadLetters,
      records: trace.deadLetters.records.map((r) => {
        const view = failedRecordView(r, access);
        return {
          uid: view.uid,
          batchUid: view.batchUid,
          bkHash: view.bkHash,
          refStr: view.refStr,
          sourceKey: r.sourceKey,
          targetName: view.targetName,
          stage: view.stage,
          errorType: view.errorType,
          errorMessage: view.errorMessage,
          errorDetails: view.errorDetails,
          retryCount: view.retryCount,
          maxRetries: view.maxRetries,
          nextRetryAt: view.nextRetryAt,
          attempts: attemptsView(r.attempts, access.show),
          resolvedAt: view.resolvedAt,
          resolution: r.resolution,
          resolvedBatchUid: r.resolvedBatchUid,
          abandonedAt: iso(r.abandonedAt),
          createdAt: view.createdAt,
        };
      }),
    },
    waiting: trace.waiting.map((w) => {
      const {
        childPayload: _payload,
        entityName: _entity,
        childBkHash: _bk,
        childRefStr: _ref,
        ...view
      } = pendingChildView(w, access);
      return view;
    }),
  };
}

/** The trace of one record: GET /entities/{name}/records/{key}. */
export function recordRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();
  // One per app: entity runtimes and a bounded pool per source connection, shared by every trace.
  const tracer = createTracer(deps);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/entities/{name}/records/{key}',
      ...access('read'),
      tags: ['Entities'],
      summary:
        'Trace one record: source row now, every normalization layer, validation, mapping, identity, the delta ' +
        'decision per target, what each target holds, its dead letters and waiting rows (nothing is written)',
      description:
        'The key is a bk_hash (32 hex characters) or the business key as read from the source, `field=value|…`. ' +
        'The source row is read by key where the source can (PostgreSQL; `source.readable` false otherwise, with ' +
        'the reason); a bk_hash is looked up with the key of its dead letters or stored reference. Record data ' +
        '(source row, layers, normalized and mapped values, error values) only for operator and admin keys, ' +
        'sensitive fields ***; viewers see the identity, decisions, stored state, dead letters and waiting rows.',
      request: { params: recordParamSchema },
      responses: {
        200: { description: 'The trace of the record', content: jsonContent(recordTraceSchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { name, key } = c.req.valid('param');
      const trace = await tracer.trace(name, key);
      const view = traceView(trace, await recordDataAccess(deps.prisma, can(c, 'recordData')));
      return c.json(jsonSafe(view) as z.infer<typeof recordTraceSchema>, 200);
    },
  );

  return app;
}
