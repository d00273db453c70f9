import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../../api/app.ts';
import type { ApiDeps } from '../../../api/deps.ts';
import { allows, type RouteClass, routeClasses } from '../../../api/roles.ts';
import { type ApiKeyRole, apiKeyRoles, hashApiKey } from '../../../db/api-keys.ts';

/**
 * Each role against each route: the expected least role per operation is
 * written out here (the spec), the app answers 403 below it and anything but
 * 403 from it up. The key lookup is faked; what a route does once allowed
 * (it fails on the fake dependencies) does not matter here.
 */
const KEYS: Record<ApiKeyRole, string> = {
  viewer: `sf_0000000a_${'a'.repeat(43)}`,
  operator: `sf_0000000b_${'b'.repeat(43)}`,
  admin: `sf_0000000c_${'c'.repeat(43)}`,
};
const rows = new Map(
  apiKeyRoles.map((role) => [
    hashApiKey(KEYS[role]),
    {
      uid: `0000000${role.length}-0000-0000-0000-000000000000`,
      name: role,
      prefix: KEYS[role].slice(3, 11),
      keyHash: hashApiKey(KEYS[role]),
      role,
      createdAt: new Date(),
      lastUsedAt: new Date(),
      revokedAt: null,
    },
  ]),
);
const prisma = {
  apiKey: { findUnique: async ({ where }: { where: { keyHash: string } }) => rows.get(where.keyHash) ?? null },
};
const app = createApp({ prisma, temporal: {}, taskQueue: 'q' } as unknown as ApiDeps);

const batch = '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a';
const ROUTES: Array<[string, string, ApiKeyRole]> = [
  ['GET', '/sync/status/' + batch, 'viewer'],
  ['GET', `/sync/status/${batch}/candidates`, 'viewer'],
  ['GET', '/sync/history', 'viewer'],
  ['GET', '/monitoring/stats', 'viewer'],
  ['GET', '/monitoring/failed-records', 'viewer'],
  // The path's own placeholder (sent as %7Buid%7D): no uid reaches the route, only its role check matters here.
  ['GET', '/monitoring/failed-records/{uid}', 'viewer'],
  ['GET', '/monitoring/pending-children', 'viewer'],
  ['GET', '/monitoring/health/detailed', 'viewer'],
  ['GET', '/monitoring/metrics/prometheus', 'viewer'],
  ['GET', '/events', 'viewer'],
  ['GET', '/events/stream', 'viewer'],
  ['GET', '/entities', 'viewer'],
  ['GET', '/entities/items', 'viewer'],
  ['GET', '/entities/items/records/{key}', 'viewer'],
  ['GET', '/entities/items/targets', 'viewer'],
  ['POST', '/sync/start', 'operator'],
  ['POST', '/entities/items/targets/{target}/backfill', 'operator'],
  ['POST', '/sync/stop/' + batch, 'operator'],
  ['POST', '/sync/pause/' + batch, 'operator'],
  ['POST', '/sync/resume/' + batch, 'operator'],
  ['POST', '/sync/retry-failed', 'operator'],
  ['POST', '/reconcile', 'operator'],
  ['GET', '/reconcile', 'viewer'],
  ['GET', '/reconcile/{uid}', 'viewer'],
  ['POST', '/migrations', 'admin'],
  ['GET', '/migrations', 'viewer'],
  ['GET', '/migrations/{id}', 'viewer'],
  ['POST', '/migrations/{id}/approve', 'admin'],
  ['POST', '/migrations/{id}/rollback', 'admin'],
  ['POST', '/migrations/{id}/abort', 'admin'],
  ['POST', '/entities/items/preview', 'operator'],
  ['GET', '/entities/items/background', 'viewer'],
  ['PUT', '/entities/items/background', 'operator'],
  ['DELETE', '/entities/items/background', 'operator'],
  ['POST', '/entities/items/background/start', 'operator'],
  ['POST', '/entities/items/background/pause', 'operator'],
  ['POST', '/entities/items/background/resume', 'operator'],
  ['POST', '/entities/items/background/stop', 'operator'],
  ['GET', '/entities/items/schedules', 'viewer'],
  ['PUT', '/entities/items/schedules', 'operator'],
  ['DELETE', '/entities/items/schedules', 'operator'],
  ['POST', '/entities/items/schedules/incremental/pause', 'operator'],
  ['POST', '/entities/items/schedules/incremental/resume', 'operator'],
  ['POST', '/entities/items/schedules/incremental/trigger', 'operator'],
  ['POST', '/entities', 'admin'],
  ['PUT', '/entities/items', 'admin'],
  ['PATCH', '/entities/items', 'admin'],
  ['DELETE', '/entities/items', 'admin'],
  ['POST', '/entities/items/promote', 'admin'],
  ['GET', '/connections', 'admin'],
  ['GET', '/connections/items', 'admin'],
  ['PUT', '/connections/items', 'admin'],
  ['DELETE', '/connections/items', 'admin'],
];

describe('roles on API keys', () => {
  beforeAll(() => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it('orders the roles: each allows what the ones below it allow', () => {
    for (const routeClass of Object.keys(routeClasses) as RouteClass[]) {
      const allowed = apiKeyRoles.map((role) => allows(role, routeClass));
      expect(allowed, routeClass).toEqual([...allowed].sort((a, b) => Number(a) - Number(b)));
      expect(allows('admin', routeClass)).toBe(true);
    }
    expect(allows('viewer', 'recordData')).toBe(false);
    expect(allows('operator', 'configure')).toBe(false);
  });

  it('covers every operation of the document', async () => {
    const doc = (await (await app.request('/api/v1/openapi.json')).json()) as { paths: Record<string, object> };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path.replace('/api/v1', '')}`))
      .filter((id) => !/\/(health|metadata)$/.test(id) || id.includes('detailed'))
      .sort();
    const tested = ROUTES.map(
      ([m, p]) =>
        `${m} ${p.replace(batch, '{batchUid}').replace('/items', '/{name}').replace('/incremental/', '/{kind}/')}`,
    ).sort();
    expect(tested).toEqual(documented);
  });

  it.each(ROUTES)('%s %s needs %s', async (method, path, least) => {
    for (const role of apiKeyRoles) {
      const response = await app.request(`/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${KEYS[role]}`, 'content-type': 'application/json' },
        ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
      });
      const allowed = apiKeyRoles.indexOf(role) >= apiKeyRoles.indexOf(least);
      if (allowed) {
        expect(response.status, `${role} ${method} ${path}`).not.toBe(403);
      } else {
        expect(response.status, `${role} ${method} ${path}`).toBe(403);
        const body = (await response.json()) as { error: { code: string; message: string; details: unknown } };
        expect(body.error.code).toBe('forbidden');
        expect(body.error.message).toContain(least);
        expect(body.error.details).toEqual({ requiredRole: least, role });
      }
      if (!response.bodyUsed) await response.body?.cancel();
    }
  });
});
