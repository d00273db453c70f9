import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKeyRole, ApiKeyView } from '../db/api-keys.ts';
import { ApiError } from './errors.ts';

/**
 * Who may do what: the one table of route classes and the least role each
 * needs. Every authenticated route declares its class next to itself with
 * `...access('<class>')` in its createRoute (api/openapi tests check none is
 * missing); handlers that show more to higher roles (record data in the DLQ)
 * ask `can(c, '<class>')`.
 */
export const routeClasses = {
  /** Status, history, stats, metrics, events, detailed health, entity list/show, DLQ and pending-children lists without record data. */
  read: 'viewer',
  /** Start / stop / pause / resume syncs, retry-failed (replay), reconcile. */
  control: 'operator',
  /** Raw / normalized / mapped record data (DLQ, child payloads) and entity previews. */
  recordData: 'operator',
  /** Entity create / replace / patch / delete / promote, API keys, connections. */
  configure: 'admin',
} as const satisfies Record<string, ApiKeyRole>;
export type RouteClass = keyof typeof routeClasses;

const rank: Record<ApiKeyRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether a key of `role` may use routes of class `routeClass`. */
export const allows = (role: ApiKeyRole, routeClass: RouteClass): boolean =>
  rank[role] >= rank[routeClasses[routeClass]];

declare module 'hono' {
  interface ContextVariableMap {
    /** The verified key of the request (set by requireApiKey; absent on the open routes). */
    apiKey: ApiKeyView;
  }
}

/** Whether the request's key may use routes of `routeClass` (false without a key). */
export function can(c: Context, routeClass: RouteClass): boolean {
  const key = c.get('apiKey') as ApiKeyView | undefined;
  return key !== undefined && allows(key.role, routeClass);
}

export const forbidden = (role: ApiKeyRole | undefined, routeClass: RouteClass) => {
  const needed = routeClasses[routeClass];
  return new ApiError(
    403,
    'forbidden',
    `This needs an API key with the ${needed} role${needed === 'admin' ? '' : ' or higher'}; this key is ${role ?? 'missing'}.`,
    { requiredRole: needed, role: role ?? null },
  );
};

/** Route middleware: 403 unless the request's key may use routes of `routeClass`. */
export function requireRole(routeClass: RouteClass): MiddlewareHandler {
  return async (c, next) => {
    if (!can(c, routeClass)) throw forbidden((c.get('apiKey') as ApiKeyView | undefined)?.role, routeClass);
    await next();
  };
}

/**
 * Spread into a createRoute config: the middleware that enforces the class and
 * an `x-required-role` extension, so the OpenAPI document says which role each
 * operation needs.
 */
export function access<C extends RouteClass>(routeClass: C) {
  return {
    middleware: [requireRole(routeClass)] as [MiddlewareHandler],
    'x-required-role': routeClasses[routeClass],
  };
}
