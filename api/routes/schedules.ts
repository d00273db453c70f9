import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  DEFAULT_CATCHUP_WINDOW,
  deleteEntitySchedules,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  type ScheduleRequest,
  scheduleKinds,
  scheduleRequestSchema,
  setSchedule,
  triggerSchedule,
} from '../../control/schedules.ts';
import type { ApiDeps } from '../deps.ts';
import { access } from '../roles.ts';
import { entityNameSchema, entityParamSchema, errorResponses, jsonContent } from '../schemas/common.ts';

const kindSchema = z.enum(scheduleKinds).openapi({ example: 'incremental' });

const requestSchema = scheduleRequestSchema.openapi('ScheduleRequest', {
  description:
    'One recurring sync of the entity (one schedule per kind): `every` (an interval, 1m to 31d) or `cron` (5 fields, ' +
    `in \`timeZone\`, default UTC), exactly one of them. catchupWindow defaults to ${DEFAULT_CATCHUP_WINDOW}.`,
  example: { kind: 'incremental', every: '5m', catchupWindow: '10m', note: 'keep the shop in step' },
});

const scheduleSchema = z
  .object({
    kind: kindSchema,
    scheduleId: z.string().openapi({ example: 'syncflow-sync-items-incremental' }),
    spec: z.object({
      every: z.string().nullable().openapi({ example: '5m' }),
      cron: z.string().nullable().openapi({ example: null }),
    }),
    timeZone: z.string().nullable().openapi({ example: 'Europe/Berlin' }),
    catchupWindow: z.string().openapi({ example: '10m' }),
    overlap: z.string().openapi({ example: 'SKIP' }),
    paused: z.boolean(),
    note: z.string().nullable(),
    stateNote: z.string().nullable().openapi({ description: "Temporal's state note (e.g. why it was paused)" }),
    nextRunTimes: z.array(z.string()).openapi({ example: ['2026-12-01T20:45:00.000Z'] }),
    recentRuns: z
      .array(
        z.object({
          scheduledAt: z.string(),
          takenAt: z.string(),
          workflowId: z.string().openapi({ example: 'scheduled-items-incremental-2026-12-01T20:40:00Z' }),
          runId: z.string(),
          status: z.string().openapi({ example: 'COMPLETED' }),
          result: z.unknown().openapi({
            description: "The run's answer: the sync batch's summary, or `{ skipped: true, reason }`",
          }),
        }),
      )
      .openapi({ description: 'The latest runs, newest first (at most 5)' }),
    createdAt: z.string(),
    updatedAt: z.string().nullable(),
  })
  .openapi('Schedule', { description: 'A recurring sync: a Temporal Schedule `syncflow-sync-<entity>-<kind>`.' });

const listSchema = z.object({ entity: z.string(), schedules: z.array(scheduleSchema) }).openapi('ScheduleList');
const setSchema = z.object({ created: z.boolean(), schedule: scheduleSchema }).openapi('ScheduleSet');
const deletedSchema = z
  .object({ entity: z.string(), deleted: z.array(kindSchema) })
  .openapi('SchedulesDeleted', { example: { entity: 'items', deleted: ['incremental', 'full'] } });
const triggeredSchema = z
  .object({ scheduleId: z.string(), kind: kindSchema, triggered: z.literal(true), message: z.string() })
  .openapi('ScheduleTriggered');

const kindParamSchema = z.object({
  name: entityNameSchema.openapi({ param: { name: 'name', in: 'path' } }),
  kind: kindSchema.openapi({ param: { name: 'kind', in: 'path' } }),
});
const deleteQuery = z.object({ kind: kindSchema.optional().openapi({ description: 'Only this kind (default: all)' }) });

const tags = ['Schedules'];

/**
 * Recurring syncs of an entity on Temporal Schedules (one per kind: incremental, full): Temporal is their only
 * record, so they also show in the Web UI and `temporal schedule list`.
 */
export function scheduleRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/entities/{name}/schedules',
      ...access('read'),
      tags,
      summary: "The entity's recurring syncs: spec, zone, paused, next runs and the latest runs",
      request: { params: entityParamSchema },
      responses: {
        200: { description: 'The schedules (none, one or both kinds)', content: jsonContent(listSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json({ entity: name, schedules: await listSchedules(deps, name) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/entities/{name}/schedules',
      ...access('control'),
      tags,
      summary: 'Create or replace the recurring sync of one kind (the body is one schedule; the other kind is kept)',
      request: { params: entityParamSchema, body: { required: true, content: jsonContent(requestSchema) } },
      responses: {
        200: { description: 'Created or replaced (`created` says which)', content: jsonContent(setSchema) },
        ...errorResponses(400, 404, 413, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const result = await setSchedule(deps, name, c.req.valid('json') as ScheduleRequest);
      return c.json(result, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/entities/{name}/schedules',
      ...access('control'),
      tags,
      summary: "Delete the entity's recurring syncs (all, or `?kind=`); runs under way go on",
      request: { params: entityParamSchema, query: deleteQuery },
      responses: {
        200: { description: 'The kinds deleted', content: jsonContent(deletedSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const { kind } = c.req.valid('query');
      return c.json({ entity: name, deleted: await deleteEntitySchedules(deps, name, kind) }, 200);
    },
  );

  for (const [action, summary] of [
    ['pause', 'Pause a recurring sync (no run starts until resumed)'],
    ['resume', 'Resume a paused recurring sync'],
  ] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/entities/{name}/schedules/{kind}/${action}`,
        ...access('control'),
        tags,
        summary,
        request: { params: kindParamSchema },
        responses: {
          200: { description: 'The schedule after the change', content: jsonContent(scheduleSchema) },
          ...errorResponses(400, 404, 503),
        },
      }),
      async (c) => {
        const { name, kind } = c.req.valid('param');
        const view = await (action === 'pause' ? pauseSchedule : resumeSchedule)(deps, name, kind);
        return c.json(view, 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/entities/{name}/schedules/{kind}/trigger',
      ...access('control'),
      tags,
      summary:
        'Run a recurring sync now (overlap SKIP: skipped while its previous run runs; a run finding a sync of the entity running skips itself)',
      request: { params: kindParamSchema },
      responses: {
        202: { description: 'Run requested', content: jsonContent(triggeredSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { name, kind } = c.req.valid('param');
      return c.json(await triggerSchedule(deps, name, kind), 202);
    },
  );

  return app;
}
