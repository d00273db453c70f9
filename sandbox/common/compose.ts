import type { HttpBindings } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { adminRoutes } from './admin-routes.ts';
import { authRoutes } from './auth-routes.ts';
import { errorBody } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { labelAsSandbox } from './label.ts';
import type { RequestLog } from './requests.ts';
import type { TokenAuthority } from './tokens.ts';

export const API_BASE = '/api/v1';

export interface SandboxParts {
  title: string;
  description: string;
  authority: TokenAuthority;
  faults: FaultInjector;
  /** The system's own routes; they run behind fault injection and bearer auth. */
  contract: OpenAPIHono;
  /** Records every contract request with its arrival time. */
  requests?: RequestLog;
  extraStats?: () => Promise<Record<string, unknown>>;
}

/**
 * One sandbox server: the open routes (token, refresh, health), the contract
 * routes behind faults and bearer auth, the /__sandbox admin routes, and the
 * OpenAPI document of the contract at /api/v1/openapi.json.
 */
export function composeSandbox(parts: SandboxParts) {
  const app = new OpenAPIHono<{ Bindings: HttpBindings }>();
  app.use('*', labelAsSandbox);
  app.onError((error, c) => c.json(errorBody('internal', `sandbox error: ${error.message}`), 500));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  // Open routes first: the guarded sub-app's middleware below also matches their paths, and
  // Hono runs handlers in registration order, so these answer before auth is asked for.
  app.route(API_BASE, authRoutes(parts.authority));
  app.doc31(`${API_BASE}/openapi.json`, contractDocument(parts));
  const guarded = new OpenAPIHono<{ Bindings: HttpBindings }>();
  if (parts.requests) guarded.use('*', parts.requests.middleware());
  guarded.use('*', parts.faults.middleware());
  guarded.use('*', parts.authority.requireBearer());
  guarded.route('/', parts.contract);
  app.route(API_BASE, guarded);
  app.route('/__sandbox', adminRoutes(parts.faults, parts.authority, parts.extraStats));
  return app;
}

export function contractDocument(parts: Pick<SandboxParts, 'title' | 'description'>) {
  return {
    openapi: '3.1.0',
    info: { title: parts.title, version: '1.0.0', description: parts.description },
  };
}
