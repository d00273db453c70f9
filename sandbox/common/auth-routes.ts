import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { refreshRequestSchema, tokenRequestSchema, tokenResponseSchema } from '../../connectors/http/auth-protocol.ts';
import { errorBody, errorResponse, jsonBody, jsonResponse, validationHook } from './errors.ts';
import type { TokenAuthority } from './tokens.ts';

/** The token protocol both sandboxes speak, plus the open health route. */
const tokenRoute = createRoute({
  method: 'post',
  path: '/auth/token',
  tags: ['auth'],
  summary: 'Log in with username and password; answers a bearer token and a refresh token',
  request: { body: jsonBody(tokenRequestSchema) },
  responses: {
    200: jsonResponse('Tokens', tokenResponseSchema),
    400: errorResponse('Invalid request'),
    401: errorResponse('Wrong credentials'),
  },
});

const refreshRoute = createRoute({
  method: 'post',
  path: '/auth/refresh',
  tags: ['auth'],
  summary: 'Exchange a refresh token for new tokens',
  request: { body: jsonBody(refreshRequestSchema) },
  responses: {
    200: jsonResponse('Tokens', tokenResponseSchema),
    400: errorResponse('Invalid request'),
    401: errorResponse('Expired or revoked refresh token'),
  },
});

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['health'],
  summary: 'Liveness (no authentication)',
  responses: { 200: jsonResponse('Up', z.object({ status: z.literal('ok'), sandbox: z.boolean().optional() })) },
});

export function authRoutes(authority: TokenAuthority) {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.openapi(tokenRoute, async (c) => {
    const { username, password } = c.req.valid('json');
    if (!authority.checkPassword(username, password))
      return c.json(errorBody('invalid_credentials', 'wrong username or password'), 401);
    return c.json(await authority.issue(username), 200);
  });
  app.openapi(refreshRoute, async (c) => {
    const subject = await authority.check(c.req.valid('json').refresh_token, 'refresh');
    if (!subject) return c.json(errorBody('invalid_refresh_token', 'expired or revoked refresh token'), 401);
    authority.refreshed += 1;
    return c.json(await authority.issue(subject), 200);
  });
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const, sandbox: true }, 200));
  return app;
}
