import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps.ts';
import { renderMetrics } from '../metrics/prometheus.ts';
import { access } from '../roles.ts';
import { errorResponses } from '../schemas/common.ts';

/** Prometheus scrape target (text exposition format 0.0.4). */
export function metricsRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/monitoring/metrics/prometheus',
      ...access('read'),
      tags: ['Monitoring'],
      summary:
        'Prometheus metrics: records, DLQ, pending children, batch durations, rows/s, target calls, cost, per-target records',
      responses: {
        200: {
          description: 'Text exposition format',
          content: { 'text/plain': { schema: z.string().openapi({ example: 'syncflow_dlq_size{entity="items"} 3' }) } },
        },
        ...errorResponses(),
      },
    }),
    async (c) => {
      const { contentType, text } = await renderMetrics(deps.prisma);
      return c.text(text, 200, { 'content-type': contentType });
    },
  );
  return app;
}
