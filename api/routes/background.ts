import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  type BackgroundSettingsInput,
  type BackgroundView,
  backgroundSettingsSchema,
  controlBackground,
  deleteBackground,
  getBackground,
  setBackground,
  startBackground,
} from '../../control/background.ts';
import type { ApiDeps } from '../deps.ts';
import { access } from '../roles.ts';
import { entityParamSchema, errorResponses, jsonContent } from '../schemas/common.ts';

const requestSchema = backgroundSettingsSchema.openapi('BackgroundSettings', {
  description:
    "The load's nightly window (`windowStart`–`windowEnd`, HH:MM or HH:MM:SS local time in `timeZone`; an end earlier than the " +
    'start crosses midnight; start = end is an empty window and refused) and the nights the whole load should take. ' +
    'Omitted fields take their defaults (19:00–07:00 UTC, 7 nights). A load under way takes the change at once.',
  example: { windowStart: '19:00', windowEnd: '07:00', timeZone: 'Europe/Berlin', targetDays: 7 },
});

const stateSchema = z
  .enum(['not_started', 'waiting_for_window', 'running', 'paused', 'stopped', 'completed', 'failed'])
  .openapi({ example: 'waiting_for_window' });

const nightSchema = z
  .object({
    batchUid: z.string().openapi({ example: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a' }),
    status: z.string().openapi({ example: 'completed' }),
    nightOpenedAt: z.string().nullable().openapi({ example: '2026-12-01T18:00:00.000Z' }),
    startedAt: z.string().nullable().openapi({ example: '2026-12-01T18:00:02.114Z' }),
    completedAt: z.string().nullable().openapi({ example: '2026-12-02T01:41:55.020Z' }),
    fetched: z.number().int().openapi({ example: 142_858 }),
    failed: z.number().int().openapi({ example: 0 }),
  })
  .openapi('BackgroundNight', { description: 'One `background` batch of the load: a night, or part of one' });

const viewSchema = z
  .object({
    entityName: z.string().openapi({ example: 'items' }),
    windowStart: z.string().openapi({ example: '19:00' }),
    windowEnd: z.string().openapi({ example: '07:00' }),
    timeZone: z.string().openapi({ example: 'Europe/Berlin' }),
    targetDays: z.number().int().openapi({ example: 7 }),
    state: stateSchema,
    rowsDone: z.number().int().openapi({ example: 142_858 }),
    totalRowsEstimate: z
      .number()
      .int()
      .nullable()
      .openapi({ example: 1_000_000, description: "The source's row estimate (null until the load first plans)" }),
    dailyQuota: z
      .number()
      .int()
      .nullable()
      .openapi({ example: 142_858, description: "Tonight's quota; null: bounded only by the window" }),
    rowsToday: z.number().int().openapi({ example: 0, description: 'Rows read in the current or last night' }),
    nightsUsed: z.number().int().openapi({ example: 1 }),
    currentOffset: z
      .string()
      .nullable()
      .openapi({ description: 'The keyset cursor of the last fully accounted page: where the load resumes' }),
    windowOpen: z.boolean().openapi({ example: false }),
    windowOpenedAt: z
      .string()
      .nullable()
      .openapi({ example: null, description: "While the window is open: this occurrence's opening" }),
    windowClosesAt: z
      .string()
      .openapi({ example: '2026-12-03T06:00:00.000Z', description: 'The close of the open or the next occurrence' }),
    nextWindowOpensAt: z.string().openapi({
      example: '2026-12-02T18:00:00.000Z',
      description: 'The next opening after now (while the window is open, the one after it)',
    }),
    estimatedCompletionAt: z.string().nullable().openapi({ example: '2026-12-08T06:00:00.000Z' }),
    startWatermark: z.string().nullable(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    lastError: z.string().nullable(),
    workflowId: z.string().openapi({ example: 'background-items' }),
    runningBatchUid: z.string().nullable(),
    nights: z.array(nightSchema).openapi({ description: "The load's batches, newest first" }),
  })
  .openapi('BackgroundLoad', {
    description:
      'A multi-day background load: its window, zone and days, and its live state (workflow `background-<entity>`).',
  });

const iso = (d: Date | string | null) => (d === null ? null : typeof d === 'string' ? d : d.toISOString());

/** The view as JSON (dates as ISO strings). */
function viewJson(view: BackgroundView) {
  return {
    ...view,
    nights: view.nights.map((n) => ({
      batchUid: n.batchUid,
      status: n.status,
      nightOpenedAt: n.nightOpenedAt,
      startedAt: iso(n.startedAt),
      completedAt: iso(n.completedAt),
      fetched: n.fetched,
      failed: n.failed,
    })),
  };
}

const tags = ['Background loads'];

/**
 * Multi-day background loads (control/background.ts): an entity's initial load read only inside a nightly
 * window over several nights, resuming each night at its persisted offset.
 */
export function backgroundRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();
  const path = '/entities/{name}/background';

  app.openapi(
    createRoute({
      method: 'get',
      path,
      ...access('read'),
      tags,
      summary:
        "The entity's background load: window, zone, days and its live state (rows done of estimated, quota, offset, next window, estimated completion, nights)",
      request: { params: entityParamSchema },
      responses: {
        200: { description: 'The load', content: jsonContent(viewSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json(viewJson(await getBackground(deps, name)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path,
      ...access('control'),
      tags,
      summary:
        'Create the load (not started) or change its window, zone and days; a load under way plans again under them',
      request: { params: entityParamSchema, body: { required: true, content: jsonContent(requestSchema) } },
      responses: {
        200: { description: 'The load with its settings', content: jsonContent(viewSchema) },
        ...errorResponses(400, 404, 413, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const view = await setBackground(deps, name, c.req.valid('json') as BackgroundSettingsInput);
      return c.json(viewJson(view), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path,
      ...access('control'),
      tags,
      summary: "Delete the load's settings and state (refused while it is under way: stop it first)",
      request: { params: entityParamSchema },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 404, 409, 503) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deleteBackground(deps, name);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${path}/start`,
      ...access('control'),
      tags,
      summary:
        'Start the load (with the default settings if none were set); after a stop it resumes from its offset, after completion it starts over. The entity must be live; its other syncs are refused while the load is under way',
      request: { params: entityParamSchema },
      responses: {
        202: { description: 'Started: waiting for its window or running', content: jsonContent(viewSchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json(viewJson(await startBackground(deps, name)), 202);
    },
  );

  for (const [action, summary] of [
    ['pause', "Pause the load; answers once it is paused (the night's pages in flight are tracked first)"],
    ['resume', 'Resume a paused load; answers once it waits for its window or runs again'],
    ['stop', 'Stop the load, keeping its offset (start resumes from it); answers once it has stopped'],
  ] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `${path}/${action}`,
        ...access('control'),
        tags,
        summary,
        request: { params: entityParamSchema },
        responses: {
          200: { description: `The load after the ${action} took effect`, content: jsonContent(viewSchema) },
          ...errorResponses(400, 404, 409, 503),
        },
      }),
      async (c) => {
        const { name } = c.req.valid('param');
        return c.json(viewJson(await controlBackground(deps, name, action)), 200);
      },
    );
  }

  return app;
}
