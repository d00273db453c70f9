import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps.ts';
import { probe } from '../probe.ts';
import { version } from '../version.ts';

const componentSchema = z
  .object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() })
  .openapi('ComponentHealth');

const healthSchema = z
  .object({
    status: z.enum(['healthy', 'unhealthy']),
    service: z.literal('syncflow'),
    version: z.string(),
    database: componentSchema,
    temporal: componentSchema,
  })
  .openapi('Health');

const metadataSchema = z
  .object({
    service: z.literal('syncflow'),
    version: z.string(),
    apiVersion: z.literal('v1'),
    docs: z.string(),
    openapi: z.string(),
    temporal: z.object({ namespace: z.string(), taskQueue: z.string(), webUi: z.string().nullable() }),
  })
  .openapi('Metadata');

/** Open routes (no API key): liveness with the state of the database and Temporal, and service metadata. */
export function healthRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['System'],
      security: [],
      summary: 'Health of SyncFlow, its database and Temporal',
      responses: {
        200: { description: 'Healthy', content: { 'application/json': { schema: healthSchema } } },
        503: { description: 'A dependency is down', content: { 'application/json': { schema: healthSchema } } },
      },
    }),
    async (c) => {
      const [database, temporal] = await Promise.all([
        probe(() => deps.prisma.$queryRaw`SELECT 1`),
        probe(() => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      const healthy = database.ok && temporal.ok;
      const body = {
        status: healthy ? ('healthy' as const) : ('unhealthy' as const),
        service: 'syncflow' as const,
        version,
        database,
        temporal,
      };
      return healthy ? c.json(body, 200) : c.json(body, 503);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metadata',
      tags: ['System'],
      security: [],
      summary: 'Service metadata',
      responses: { 200: { description: 'Metadata', content: { 'application/json': { schema: metadataSchema } } } },
    }),
    (c) =>
      c.json(
        {
          service: 'syncflow' as const,
          version,
          apiVersion: 'v1' as const,
          docs: '/api/v1/docs',
          openapi: '/api/v1/openapi.json',
          temporal: {
            namespace: deps.temporal.options.namespace,
            taskQueue: deps.taskQueue,
            webUi: deps.temporalUiUrl ?? null,
          },
        },
        200,
      ),
  );
  return app;
}
