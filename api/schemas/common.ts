import { z } from '@hono/zod-openapi';
import { errorSchema } from '../errors.ts';

/** Schemas and response blocks every route file shares. */

export const entityNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a lower-case identifier: a-z, 0-9 and _, starting with a letter, at most 63')
  .openapi({ example: 'items' });

export const entityParamSchema = z.object({
  name: entityNameSchema.openapi({ param: { name: 'name', in: 'path' } }),
});

export const batchParamSchema = z.object({
  batchUid: z
    .uuid('a batch uid (UUID)')
    .openapi({ param: { name: 'batchUid', in: 'path' }, example: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a' }),
});

export const MAX_PAGE_SIZE = 100;

/** Page-number or cursor pagination; a cursor, when given, wins over `page`. */
export const paginationQuery = {
  page: z.coerce.number().int().min(1).default(1).openapi({ example: 1 }),
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE, `at most ${MAX_PAGE_SIZE}`)
    .default(50)
    .openapi({ example: 50 }),
  cursor: z.string().min(1).optional().openapi({ description: 'nextCursor of the previous page' }),
};

export const paginationSchema = z
  .object({
    page: z.number().int().nullable().openapi({ description: 'null when a cursor was used' }),
    pageSize: z.number().int(),
    total: z.number().int(),
    nextCursor: z.string().nullable(),
  })
  .openapi('Pagination');

export const countsSchema = z
  .object({
    fetched: z.number().int(),
    inserted: z.number().int(),
    updated: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
    deleted: z.number().int(),
  })
  .openapi('RecordCounts');

const errorDescriptions = {
  400: 'Invalid request: every field at fault is named in details',
  401: 'Missing, unknown or revoked API key',
  403: "The API key's role does not allow this (details name the role needed)",
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  503: 'A dependency (database or Temporal) is unavailable',
} as const;
type ErrorStatus = keyof typeof errorDescriptions;

/** The error responses a route can give, all in the one error shape (every route needs a key with a role: 401, 403). */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  const entries = [401 as S, 403 as S, ...statuses].map((status) => [
    status,
    { description: errorDescriptions[status], content: { 'application/json': { schema: errorSchema } } },
  ]);
  return Object.fromEntries(entries) as {
    [K in S | 401 | 403]: { description: string; content: { 'application/json': { schema: typeof errorSchema } } };
  };
}

export const jsonContent = <T>(schema: T) => ({ 'application/json': { schema } });
