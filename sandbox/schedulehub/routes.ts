import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  batchDeleteRequestSchema,
  batchResponseSchema,
  batchWriteRequestSchema,
  MAX_LOOKUP,
  recordInputSchema,
  recordListSchema,
  recordSchema,
} from '../../connectors/schedulehub/protocol.ts';
import { errorBody, errorResponse, jsonBody, jsonResponse, validationHook } from '../common/errors.ts';
import type { FaultInjector } from '../common/faults.ts';
import { batchDelete, batchWrite } from './batch.ts';
import type { PlanningStore } from './store.ts';
import { type ResourceRules, validateRecord } from './validation.ts';

const security = [{ bearer: [] }];
const resourceParam = z.object({
  resource: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/)
    .openapi({ param: { name: 'resource', in: 'path' }, example: 'items' }),
});
const uidParams = resourceParam.extend({ uid: z.string().openapi({ param: { name: 'uid', in: 'path' } }) });
const bkParams = resourceParam.extend({
  bk_hash: z
    .string()
    .regex(/^[0-9a-f]{8,64}$/)
    .openapi({ param: { name: 'bk_hash', in: 'path' } }),
});
const common = {
  401: errorResponse('Missing, expired or revoked token'),
  429: errorResponse('Too many requests (see Retry-After)'),
  503: errorResponse('Temporarily unavailable'),
};
const base = '/resources/{resource}';

const lookup = createRoute({
  method: 'get',
  path: `${base}/records`,
  tags: ['records'],
  summary: `Records by bk_hash (comma-separated, at most ${MAX_LOOKUP})`,
  security,
  request: {
    params: resourceParam,
    query: z.object({ bk_hash: z.string().openapi({ example: 'a1b2c3d4,e5f6a7b8' }) }),
  },
  responses: {
    200: jsonResponse('Found records (absent ones are left out)', recordListSchema),
    400: errorResponse('Invalid request'),
    ...common,
  },
});
const getOne = createRoute({
  method: 'get',
  path: `${base}/records/by-bk-hash/{bk_hash}`,
  tags: ['records'],
  summary: 'One record by bk_hash',
  security,
  request: { params: bkParams },
  responses: { 200: jsonResponse('The record', recordSchema), 404: errorResponse('No such record'), ...common },
});
const insertOne = createRoute({
  method: 'post',
  path: `${base}/records`,
  tags: ['records'],
  summary: 'Insert one record',
  security,
  request: { params: resourceParam, body: jsonBody(recordInputSchema) },
  responses: {
    201: jsonResponse('Created', recordSchema),
    409: errorResponse('A record with this bk_hash exists (details.uid)'),
    422: errorResponse('Invalid record'),
    400: errorResponse('Invalid request'),
    ...common,
  },
});
const updateOne = createRoute({
  method: 'patch',
  path: `${base}/records/{uid}`,
  tags: ['records'],
  summary: 'Update one record by uid',
  security,
  request: { params: uidParams, body: jsonBody(recordInputSchema) },
  responses: {
    200: jsonResponse('Updated', recordSchema),
    404: errorResponse('No such record'),
    422: errorResponse('Invalid record'),
    400: errorResponse('Invalid request'),
    ...common,
  },
});
const deleteOne = createRoute({
  method: 'delete',
  path: `${base}/records/{uid}`,
  tags: ['records'],
  summary: 'Delete one record by uid',
  security,
  request: { params: uidParams },
  responses: { 204: { description: 'Deleted' }, 404: errorResponse('No such record'), ...common },
});
const batchRoute = (op: 'insert' | 'update' | 'delete') =>
  createRoute({
    method: 'post',
    path: `${base}/batch/${op}`,
    tags: ['batch'],
    summary: `Batch ${op} (one outcome per record, in request order; clients allow 120 s)`,
    security,
    request: {
      params: resourceParam,
      body: jsonBody(op === 'delete' ? batchDeleteRequestSchema : batchWriteRequestSchema),
    },
    responses: {
      200: jsonResponse('One outcome per record', batchResponseSchema),
      400: errorResponse('Invalid request'),
      ...common,
    },
  });

/** The ScheduleHub contract routes (behind bearer auth and fault injection, mounted by compose.ts). */
export function schedulehubRoutes(store: PlanningStore, faults: FaultInjector, rules: Map<string, ResourceRules>) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(lookup, async (c) => {
    const hashes = c.req.valid('query').bk_hash.split(',').filter(Boolean);
    if (hashes.length > MAX_LOOKUP)
      return c.json(errorBody('too_many', `at most ${MAX_LOOKUP} bk_hashes per lookup`), 400);
    return c.json({ items: await store.byBkHashes(c.req.valid('param').resource, hashes) }, 200);
  });
  app.openapi(getOne, async (c) => {
    const { resource, bk_hash } = c.req.valid('param');
    const [record] = await store.byBkHashes(resource, [bk_hash]);
    return record ? c.json(record, 200) : c.json(errorBody('not_found', 'no record with this bk_hash'), 404);
  });
  app.openapi(insertOne, async (c) => {
    const { resource } = c.req.valid('param');
    const input = c.req.valid('json');
    const problem = validateRecord(input, rules.get(resource), faults.isRejected(input.bk_hash));
    if (problem) return c.json(errorBody(problem.code, problem.message), 422);
    const created = await store.insert(resource, [input]);
    const [record] = await store.byBkHashes(resource, [input.bk_hash]);
    if (!created.has(input.bk_hash))
      return c.json(errorBody('exists', 'a record with this bk_hash exists', { uid: record?.uid }), 409);
    return c.json(record!, 201);
  });
  app.openapi(updateOne, async (c) => {
    const { resource, uid } = c.req.valid('param');
    const input = c.req.valid('json');
    const problem = validateRecord(input, rules.get(resource), faults.isRejected(input.bk_hash));
    if (problem) return c.json(errorBody(problem.code, problem.message), 422);
    const record = await store.updateByUid(resource, uid, input);
    return record ? c.json(record, 200) : c.json(errorBody('not_found', 'no record with this uid'), 404);
  });
  app.openapi(deleteOne, async (c) => {
    const { resource, uid } = c.req.valid('param');
    return (await store.deleteByUid(resource, uid))
      ? c.body(null, 204)
      : c.json(errorBody('not_found', 'no record with this uid'), 404);
  });
  for (const op of ['insert', 'update'] as const) {
    app.openapi(batchRoute(op), async (c) => {
      const { resource } = c.req.valid('param');
      const body = c.req.valid('json') as { records: z.infer<typeof recordInputSchema>[] };
      return c.json(await batchWrite(op, store, resource, body.records, rules.get(resource), faults), 200);
    });
  }
  app.openapi(batchRoute('delete'), async (c) => {
    const body = c.req.valid('json') as { bk_hashes: string[] };
    return c.json(await batchDelete(store, c.req.valid('param').resource, body.bk_hashes), 200);
  });
  return app;
}
