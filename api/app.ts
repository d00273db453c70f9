import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps } from './deps.ts';
import { docsRoutes } from './docs.ts';
import { errorBody, fieldErrors, handleError } from './errors.ts';
import { healthRoutes } from './routes/health.ts';
import { version } from './version.ts';

export const API_PREFIX = '/api/v1';
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The control API: small route apps mounted under /api/v1, one OpenAPI 3.1
 * document generated from the same zod schemas the routes validate with.
 */
export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono({
    // Every request validation failure answers 400 with each field at fault.
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(errorBody('validation_failed', 'The request is invalid.', fieldErrors(result.error.issues)), 400);
      }
    },
  });
  app.onError(handleError);
  app.notFound((c) => c.json(errorBody('not_found', `No route ${c.req.method} ${c.req.path}`), 404));
  app.use(
    `${API_PREFIX}/*`,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(errorBody('payload_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`), 413),
    }),
  );

  app.route(API_PREFIX, healthRoutes(deps));

  app.doc31(`${API_PREFIX}/openapi.json`, {
    openapi: '3.1.0',
    info: {
      title: 'SyncFlow control API',
      version,
      description: 'Start, watch and stop syncs; manage entities; inspect the dead-letter queue and metrics.',
    },
  });
  app.route(API_PREFIX, docsRoutes(`${API_PREFIX}/openapi.json`));
  return app;
}
export type App = ReturnType<typeof createApp>;
