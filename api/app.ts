import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { BEARER_SCHEME, requireApiKey } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { docsRoutes } from './docs.ts';
import { errorBody, fieldErrors, handleError } from './errors.ts';
import { refuseUnstorableStrings } from './json-body.ts';
import { backgroundRoutes } from './routes/background.ts';
import { connectionRoutes } from './routes/connections.ts';
import { entityRoutes } from './routes/entities.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { migrationRoutes } from './routes/migrations.ts';
import { monitoringRoutes } from './routes/monitoring.ts';
import { monitoringHealthRoutes } from './routes/monitoring-health.ts';
import { reconcileRoutes } from './routes/reconcile.ts';
import { recordRoutes } from './routes/records.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { syncRoutes } from './routes/sync.ts';
import { registerEntityConfigComponent } from './schemas/entity-config-doc.ts';
import { version } from './version.ts';

export const API_PREFIX = '/api/v1';
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The control API: small route apps mounted under /api/v1, one OpenAPI 3.1
 * document generated from the same zod schemas the routes validate with.
 * Auth, the body limit and the error shape wrap every route app, so routes
 * added later (background schedules, reconcile) only need mounting here.
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
  app.use(`${API_PREFIX}/*`, requireApiKey(deps.prisma, API_PREFIX));
  app.use(`${API_PREFIX}/*`, refuseUnstorableStrings);

  for (const routes of [
    healthRoutes(deps),
    syncRoutes(deps),
    entityRoutes(deps),
    recordRoutes(deps),
    backgroundRoutes(deps),
    scheduleRoutes(deps),
    reconcileRoutes(deps),
    migrationRoutes(deps),
    connectionRoutes(deps),
    monitoringRoutes(deps),
    monitoringHealthRoutes(deps),
    metricsRoutes(deps),
    eventRoutes(deps),
  ]) {
    app.route(API_PREFIX, routes);
  }

  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`sf_…`), created with `syncflow keys create <name> --role viewer|operator|admin`. Each operation names the least role it needs in `x-required-role`.',
  });
  registerEntityConfigComponent(app.openAPIRegistry);
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'SyncFlow control API',
      version,
      description:
        'Start, watch and stop syncs; reconcile targets with their source; manage entities; inspect the dead-letter queue and metrics.',
    },
    // Every route needs a key unless it says `security: []` (health, metadata).
    security: [{ [BEARER_SCHEME]: [] }],
  });
  app.route(API_PREFIX, docsRoutes(OPENAPI_PATH));
  return app;
}
export type App = ReturnType<typeof createApp>;
