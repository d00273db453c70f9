import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { unknownEntity } from '../../control/errors.ts';
import { listEntities } from '../../db/entities.ts';
import { ConnectorHealthChecker, type EntityHealth } from '../connector-health.ts';
import type { ApiDeps } from '../deps.ts';
import { probe } from '../probe.ts';
import { access } from '../roles.ts';
import { entityNameSchema, errorResponses, jsonContent } from '../schemas/common.ts';

const checkSchema = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
const connectorSchema = checkSchema.extend({ type: z.string() });
const detailedSchema = z
  .object({
    status: z.enum(['healthy', 'unhealthy']),
    database: checkSchema,
    temporal: checkSchema,
    entities: z.array(
      z.object({
        name: z.string(),
        source: connectorSchema,
        targets: z.array(connectorSchema.extend({ name: z.string(), role: z.string() })),
      }),
    ),
  })
  .openapi('DetailedHealth');

/** Database, Temporal and every entity's source and targets: 200 when all answer, 503 naming what does not. */
export function monitoringHealthRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();
  const connectors = deps.connectorHealth ?? new ConnectorHealthChecker(deps);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/health/detailed',
      ...access('read'),
      tags: ['Monitoring'],
      summary: 'Health of the database, Temporal and each entity source and target',
      request: { query: z.object({ entity: entityNameSchema.optional() }) },
      responses: {
        200: { description: 'Everything answers', content: jsonContent(detailedSchema) },
        503: { description: 'Something does not answer (named)', content: jsonContent(detailedSchema) },
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const { entity } = c.req.valid('query');
      const [database, temporal] = await Promise.all([
        probe(() => deps.prisma.$queryRaw`SELECT 1`),
        probe(() => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      let entities: EntityHealth[] = [];
      if (database.ok) {
        const configured = (await listEntities(deps.prisma)).filter((e) => !entity || e.name === entity);
        if (entity && configured.length === 0) throw unknownEntity(entity);
        entities = await Promise.all(configured.map((e) => connectors.entity(e)));
      }
      const healthy = database.ok && temporal.ok && entities.every((e) => e.source.ok && e.targets.every((t) => t.ok));
      const body = { status: healthy ? ('healthy' as const) : ('unhealthy' as const), database, temporal, entities };
      return healthy ? c.json(body, 200) : c.json(body, 503);
    },
  );
  return app;
}
