import { describe, expect, it } from 'vitest';
import { API_PREFIX, createApp, OPENAPI_PATH } from '../../../api/app.ts';
import type { ApiDeps } from '../../../api/deps.ts';

// Building the app and its document touches no dependency: routes only use them when called.
const app = createApp({ prisma: {}, temporal: {}, taskQueue: 'q' } as unknown as ApiDeps);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Served by plain hono (not part of the API's contract): the document itself and the docs page. */
const UNDOCUMENTED = new Set([OPENAPI_PATH, `${API_PREFIX}/docs`, `${API_PREFIX}/docs/assets/:file`]);
const OPEN = new Set(['get /api/v1/health', 'get /api/v1/metadata']);

interface Operation {
  summary?: string;
  security?: unknown;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  responses: Record<string, { content: Record<string, { schema: unknown }> }>;
}

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
async function documentOf(): Promise<any> {
  const response = await app.request(OPENAPI_PATH);
  expect(response.status).toBe(200);
  return response.json();
}

function resolve(doc: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
}

function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsIn(value, found);
    }
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('is an OpenAPI 3.1 document with info, paths, components and the bearer scheme', async () => {
    const doc = await documentOf();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.paths).length).toBeGreaterThan(15);
    expect(doc.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('lists exactly the routes the app serves, and the app serves exactly what it lists', async () => {
    const doc = await documentOf();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((k) => METHODS.includes(k))
          .map((m) => `${m} ${path}`),
      )
      .sort();
    const served = [
      ...new Set(
        app.routes
          .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.has(r.path))
          .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
      ),
    ].sort();
    expect(documented).toEqual(served);
    expect(served).toEqual(
      expect.arrayContaining([
        'post /api/v1/sync/start',
        'get /api/v1/sync/status/{batchUid}',
        'post /api/v1/sync/stop/{batchUid}',
        'get /api/v1/sync/history',
        'post /api/v1/sync/retry-failed',
        'get /api/v1/entities',
        'post /api/v1/entities',
        'get /api/v1/entities/{name}',
        'put /api/v1/entities/{name}',
        'patch /api/v1/entities/{name}',
        'delete /api/v1/entities/{name}',
        'post /api/v1/entities/{name}/preview',
        'post /api/v1/entities/{name}/promote',
        'get /api/v1/monitoring/stats',
        'get /api/v1/monitoring/failed-records',
        'get /api/v1/monitoring/pending-children',
        'get /api/v1/monitoring/health/detailed',
        'get /api/v1/monitoring/metrics/prometheus',
        'get /api/v1/events',
        'get /api/v1/events/stream',
      ]),
    );
  });

  it('every operation: responses incl. 401 and 403 and the role it needs unless open', async () => {
    const doc = await documentOf();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, operation] of Object.entries(item).filter(([k]) => METHODS.includes(k))) {
        const id = `${method} ${path}`;
        if (OPEN.has(id)) continue;
        expect((operation as { 'x-required-role'?: string })['x-required-role'], id).toMatch(
          /^(viewer|operator|admin)$/,
        );
        expect(operation.responses['403']?.content['application/json']?.schema, id).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
    }
  });

  it('every operation: responses incl. 401 unless open, path parameters declared, error shape by $ref', async () => {
    const doc = await documentOf();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries(item).filter(([k]) => METHODS.includes(k))) {
        const id = `${method} ${path}`;
        expect(Object.keys(operation.responses).length, id).toBeGreaterThan(0);
        expect(operation.summary, id).toEqual(expect.any(String));
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort(), id).toEqual([...pathParams].sort());
        for (const p of operation.parameters ?? []) if (p.in === 'path') expect(p.required, id).toBe(true);
        if (OPEN.has(id)) {
          expect(operation.security, id).toEqual([]);
        } else {
          expect(operation.security, id).toBeUndefined();
          expect(operation.responses['401']?.content['application/json']?.schema, id).toEqual({
            $ref: '#/components/schemas/Error',
          });
        }
      }
    }
  });

  it('every $ref resolves, and the entity configuration schema is there', async () => {
    const doc = await documentOf();
    const refs = [...new Set(refsIn(doc))];
    expect(refs).toContain('#/components/schemas/EntityConfig');
    for (const ref of refs) {
      expect(ref.startsWith('#/components/'), ref).toBe(true);
      expect(resolve(doc, ref), ref).toBeDefined();
    }
    const config = doc.components.schemas.EntityConfig;
    expect(config.required).toEqual(expect.arrayContaining(['name', 'source', 'targets', 'businessKey', 'fields']));
  });
});
