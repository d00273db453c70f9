import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ControlError } from '../control/errors.ts';
import { EntityConnectionError } from '../db/connections.ts';
import { EntityConfigUnreadableError } from '../db/entities.ts';
import { logger } from '../log/logger.ts';
import { dependencyDown } from './dependency-errors.ts';

const log = logger('api');

/** The one error shape of the API: `{ "error": { "code", "message", "details" } }`. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

export const invalidJson = () =>
  new ApiError(400, 'invalid_json', 'The request body is not valid JSON.', [
    { field: '(body)', message: 'malformed JSON' },
  ]);

/** Maps anything thrown in a route to the error shape; never leaks a stack trace. */
export function handleError(error: unknown, c: Context) {
  if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, error.details), error.status);
  if (error instanceof ControlError) return c.json(errorBody(error.code, error.message, error.details), error.status);
  // An entity naming a connection that does not exist or does not fit its source or target.
  if (error instanceof EntityConnectionError) {
    return c.json(errorBody('validation_failed', error.message, error.issues), 400);
  }
  if (error instanceof EntityConfigUnreadableError) {
    return c.json(errorBody('entity_config_unreadable', error.message, { entity: error.entity }), 409);
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    // hono's JSON validator throws this for a body that does not parse.
    if (status === 400 && /malformed json/i.test(error.message)) {
      const e = invalidJson();
      return c.json(errorBody(e.code, e.message, e.details), 400);
    }
    const code = status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'http_error';
    return c.json(errorBody(code, error.message || 'Request failed'), status);
  }
  const down = dependencyDown(error);
  if (down) {
    log.warn(
      { method: c.req.method, path: c.req.path, dependency: down.dependency, detail: down.detail },
      down.message,
    );
    return c.json(errorBody(down.code, down.message, { dependency: down.dependency }), 503);
  }
  log.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
  return c.json(errorBody('internal_error', 'An internal error occurred; see the server log.'), 500);
}

interface Issue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
  keys?: readonly string[];
}

const joinPath = (path: ReadonlyArray<PropertyKey>) => path.map(String).join('.');

/** zod issues → one entry per field at fault, named by its path (an unknown key is named itself). */
export function fieldErrors(issues: ReadonlyArray<Issue>) {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
      return issue.keys.map((key) => ({ field: joinPath([...issue.path, key]), message: 'unknown field' }));
    }
    return [{ field: joinPath(issue.path) || '(body)', message: issue.message }];
  });
}
