import type { MiddlewareHandler } from 'hono';
import { verifyApiKey } from '../db/api-keys.ts';
import type { Prisma } from '../db/prisma.ts';
import { errorBody } from './errors.ts';

/** Paths under the API prefix anyone may read: liveness, metadata and the docs. */
const OPEN_PATHS = [/^\/health$/, /^\/metadata$/, /^\/openapi\.json$/, /^\/docs(\/.*)?$/];

export const BEARER_SCHEME = 'bearerAuth';

/**
 * Every other route needs `Authorization: Bearer sf_…`. Missing, malformed,
 * unknown and revoked keys all answer the same 401, so a caller learns
 * nothing about which keys exist.
 */
export function requireApiKey(prisma: Prisma, prefix: string): MiddlewareHandler {
  return async (c, next) => {
    const path = c.req.path.slice(prefix.length);
    if (OPEN_PATHS.some((open) => open.test(path))) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const unauthorized = (message: string) => {
      c.header('WWW-Authenticate', 'Bearer realm="syncflow"');
      return c.json(errorBody('unauthorized', message), 401);
    };
    if (!match) return unauthorized('An API key is required: send `Authorization: Bearer <key>`.');
    const key = await verifyApiKey(prisma, match[1]!);
    if (!key) return unauthorized('The API key is not valid (unknown or revoked).');
    // Each route checks the key's role against its class (api/roles.ts).
    c.set('apiKey', key);
    return next();
  };
}
