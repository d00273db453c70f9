import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { activeApiKey } from '../../db/api-keys.ts';
import { eventsSince, eventTypes } from '../../db/events.ts';
import type { Prisma } from '../../db/prisma.ts';
import { logger } from '../../log/logger.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, errorBody } from '../errors.ts';
import { access, allows } from '../roles.ts';
import { entityNameSchema, errorResponses, jsonContent } from '../schemas/common.ts';

const log = logger('api');

const eventSchema = z
  .object({
    id: z.number().int().openapi({ description: 'Increasing; the cursor for `since` and SSE `Last-Event-ID`' }),
    type: z.string().openapi({ example: 'sync.page_completed', description: eventTypes.join(' | ') }),
    entityName: z.string().nullable(),
    batchUid: z.string().nullable(),
    payload: z.unknown(),
    createdAt: z.string(),
  })
  .openapi('SyncEvent');

const sinceSchema = z.coerce.number().int().min(0).optional().openapi({ description: 'Events with a greater id' });

type EventRow = Awaited<ReturnType<typeof eventsSince>>[number];
const view = (e: EventRow) => ({
  id: Number(e.id),
  type: e.type,
  entityName: e.entityName,
  batchUid: e.batchUid,
  payload: e.payload,
  createdAt: e.createdAt.toISOString(),
});

/** Where a stream with no cursor starts: after the newest event (new events only). */
async function latestId(prisma: Prisma): Promise<bigint> {
  const last = await prisma.syncEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  return last?.id ?? 0n;
}

function lastEventId(header: string | undefined): bigint | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (!/^\d{1,18}$/.test(header.trim())) {
    throw new ApiError(400, 'validation_failed', 'The request is invalid.', [
      { field: 'Last-Event-ID', message: 'an event id (a non-negative integer)' },
    ]);
  }
  return BigInt(header.trim());
}

const KEY_CHECK_MS = 5_000;

/** Whether the stream's key is still valid and may still read events; a database hiccup keeps the stream (nothing can be read then anyway). */
async function stillAllowed(prisma: Prisma, uid: string): Promise<boolean> {
  try {
    const key = await activeApiKey(prisma, uid);
    return key !== null && allows(key.role, 'read');
  } catch {
    return true;
  }
}

const keyRevoked = () =>
  errorBody('unauthorized', 'The API key was revoked or no longer allows reading events; the stream is closed.');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tags = ['Events'];

/**
 * The sync_events log, by cursor: poll it, or follow it as server-sent
 * events. Both read the table by id, so a client that comes back with its
 * last id (`since` or `Last-Event-ID`) misses nothing.
 */
export function eventRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();
  const pollMs = deps.eventStream?.pollMs ?? 500;
  const heartbeatMs = deps.eventStream?.heartbeatMs ?? 15_000;
  /** An open stream re-checks its key this often: a revoked key stops receiving within seconds. */
  const keyCheckMs = Math.min(KEY_CHECK_MS, heartbeatMs);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events',
      ...access('read'),
      tags,
      summary: 'Events after a cursor, oldest first',
      request: {
        query: z.object({
          since: sinceSchema.default(0),
          entity: entityNameSchema.optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: {
        200: {
          description: 'Events, and the cursor for the next call',
          content: jsonContent(z.object({ events: z.array(eventSchema), nextSince: z.number().int() })),
        },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const { since, entity, limit } = c.req.valid('query');
      const rows = await eventsSince(deps.prisma, BigInt(since), { limit, ...(entity ? { entityName: entity } : {}) });
      const events = rows.map(view);
      return c.json({ events, nextSince: events.at(-1)?.id ?? since }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/stream',
      ...access('read'),
      tags,
      summary: 'Server-sent events: `id:` is the event id, `event:` its type, `data:` the event as JSON',
      description:
        'Resumes after `Last-Event-ID` (sent by EventSource on reconnect) or `since`; with neither, starts with new events. Comments (`: heartbeat`) keep idle connections open. The key is re-checked every few seconds: once it is revoked the stream sends an `error` event (the error shape) and closes.',
      request: {
        query: z.object({ since: sinceSchema, entity: entityNameSchema.optional() }),
        headers: z.object({ 'last-event-id': z.string().optional() }),
      },
      responses: {
        200: { description: 'An endless event stream', content: { 'text/event-stream': { schema: z.string() } } },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const { since, entity } = c.req.valid('query');
      let cursor = lastEventId(c.req.header('last-event-id')) ?? (since !== undefined ? BigInt(since) : undefined);
      cursor ??= await latestId(deps.prisma);
      const filter = entity ? { entityName: entity } : {};
      const key = c.get('apiKey');
      return streamSSE(c, async (stream) => {
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        // A first byte right away: clients (and proxies) see the stream open before any event exists.
        await stream.write(': connected\n\n');
        let lastWrite = Date.now();
        let lastKeyCheck = Date.now();
        let failing = false;
        while (!closed) {
          if (Date.now() - lastKeyCheck >= keyCheckMs) {
            lastKeyCheck = Date.now();
            if (!(await stillAllowed(deps.prisma, key.uid))) {
              // The key was revoked (or lost its role) since the stream opened: say so and close.
              await stream.writeSSE({ event: 'error', data: JSON.stringify(keyRevoked()) });
              break;
            }
          }
          let rows: EventRow[] = [];
          try {
            rows = await eventsSince(deps.prisma, cursor!, { limit: 500, ...filter });
            failing = false;
          } catch (error) {
            // The database may come back: keep the stream, say so once, retry at the poll interval.
            if (!failing) log.warn({ err: error }, 'event stream: cannot read sync_events');
            failing = true;
          }
          for (const row of rows) {
            await stream.writeSSE({ id: row.id.toString(), event: row.type, data: JSON.stringify(view(row)) });
            cursor = row.id;
            lastWrite = Date.now();
          }
          if (rows.length === 500) continue;
          if (Date.now() - lastWrite >= heartbeatMs) {
            await stream.write(': heartbeat\n\n');
            lastWrite = Date.now();
          }
          await sleep(pollMs);
        }
      });
    },
  );
  return app;
}
