import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  apiDetailSchema,
  apiListSchema,
  connectorListSchema,
  executeRequestSchema,
  executeResponseSchema,
} from '../../connectors/apismith/protocol.ts';
import { errorBody, errorResponse, jsonBody, jsonResponse, validationHook } from '../common/errors.ts';
import type { FaultInjector } from '../common/faults.ts';
import type { ErpStore } from './erp-store.ts';
import { ExecuteError, executeApi } from './execute.ts';

const security = [{ bearer: [] }];
const slugParam = z.object({ slug: z.string().openapi({ param: { name: 'slug', in: 'path' }, example: 'erp-items' }) });
const unauthorized = errorResponse('Missing, expired or revoked token');

const listConnectors = createRoute({
  method: 'get',
  path: '/connectors',
  tags: ['catalogue'],
  summary: 'The connectors (source systems) APISmith serves',
  security,
  responses: { 200: jsonResponse('Connectors', connectorListSchema), 401: unauthorized },
});

const listApis = createRoute({
  method: 'get',
  path: '/apis',
  tags: ['catalogue'],
  summary: 'The published APIs',
  security,
  responses: { 200: jsonResponse('APIs', apiListSchema), 401: unauthorized },
});

const getApi = createRoute({
  method: 'get',
  path: '/apis/{slug}',
  tags: ['catalogue'],
  summary: 'One API with its column types, key columns and rowversion column',
  security,
  request: { params: slugParam },
  responses: { 200: jsonResponse('The API', apiDetailSchema), 401: unauthorized, 404: errorResponse('No such API') },
});

const execute = createRoute({
  method: 'post',
  path: '/runtime/{slug}/execute',
  tags: ['runtime'],
  summary: "One page of the API's rows (keyset pagination: pass next_cursor back until has_more is false)",
  security,
  request: { params: slugParam, body: jsonBody(executeRequestSchema) },
  responses: {
    200: jsonResponse('A page', executeResponseSchema),
    400: errorResponse('Invalid request, unknown column or foreign cursor'),
    401: unauthorized,
    404: errorResponse('No such API'),
    429: errorResponse('Too many requests (see Retry-After)'),
    503: errorResponse('Temporarily unavailable'),
  },
});

/** The APISmith contract routes (behind bearer auth and fault injection, mounted by app.ts). */
export function apismithRoutes(store: ErpStore, faults: FaultInjector) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(listConnectors, async (c) => c.json({ items: await store.connectors() }, 200));
  app.openapi(listApis, async (c) => c.json({ items: await store.apis() }, 200));
  app.openapi(getApi, async (c) => {
    const api = await store.api(c.req.valid('param').slug);
    if (!api) return c.json(errorBody('api_not_found', 'no API with this slug'), 404);
    const { table_name, ...detail } = api;
    return c.json(
      {
        ...detail,
        estimated_row_count: await store.countRows(table_name),
        max_rowversion: await store.maxRowversion(table_name),
      },
      200,
    );
  });
  app.openapi(execute, async (c) => {
    const api = await store.api(c.req.valid('param').slug);
    if (!api) return c.json(errorBody('api_not_found', 'no API with this slug'), 404);
    try {
      return c.json(await executeApi(store, api, c.req.valid('json'), () => faults.takeRepeatCursor()), 200);
    } catch (error) {
      if (error instanceof ExecuteError) return c.json(errorBody(error.code, error.message), 400);
      throw error;
    }
  });
  return app;
}
