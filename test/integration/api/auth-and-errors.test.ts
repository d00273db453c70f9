import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createApiKey, revokeApiKey } from '../../../db/api-keys.ts';
import { createPrisma } from '../../../db/prisma.ts';
import { freePort } from '../../../infra/ports.ts';
import { type ApiTestContext, createApiTestContext } from './support.ts';

describe('API keys and the error shape', () => {
  let t: ApiTestContext;
  beforeAll(async () => {
    t = await createApiTestContext('auth');
  });
  afterAll(() => t.close());

  it('leaves health, metadata, the OpenAPI document and the docs open', async () => {
    for (const path of ['/health', '/metadata', '/openapi.json', '/docs']) {
      const response = await t.call('GET', path, { key: null });
      expect(response.status, path).toBe(200);
    }
  });

  it('answers 401 in the error shape without a key, with a malformed, unknown or revoked key', async () => {
    const revoked = await createApiKey(t.prisma, 'test-auth-revoked');
    expect(await revokeApiKey(t.prisma, revoked.prefix)).toHaveLength(1);
    const cases = [
      { key: null },
      { key: 'not-a-key' },
      { key: 'sf_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { key: revoked.key },
      { key: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } },
    ];
    for (const options of cases) {
      const response = await t.call('GET', '/entities', options);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthorized');
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    }
  });

  it('accepts a valid key and records when it was used', async () => {
    const created = await createApiKey(t.prisma, 'test-auth-used');
    expect(created.key).toMatch(/^sf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    const stored = await t.prisma.apiKey.findUniqueOrThrow({ where: { uid: created.uid } });
    expect(stored.keyHash).not.toContain(created.key.slice(12));
    expect(stored.lastUsedAt).toBeNull();
    expect((await t.call('GET', '/entities', { key: created.key })).status).toBe(200);
    const used = await t.prisma.apiKey.findUniqueOrThrow({ where: { uid: created.uid } });
    expect(used.lastUsedAt).not.toBeNull();
  });

  it('answers 404 in the error shape for an unknown route', async () => {
    const response = await t.call('GET', '/no/such/route');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'not_found' });
  });

  it('answers 413 for a body above 1 MiB', async () => {
    const response = await t.call('POST', '/entities', { raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) }) });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('answers 503 naming the database when it is down, with no stack trace', async () => {
    const port = await freePort();
    const deadPrisma = createPrisma(`postgresql://u:p@127.0.0.1:${port}/db`);
    const app = createApp({ prisma: deadPrisma, temporal: t.temporal, taskQueue: 'q', secrets: t.secrets });
    const response = await app.request('/api/v1/entities', { headers: { authorization: `Bearer ${t.key}` } });
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 'database_unavailable', details: { dependency: 'database' } });
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    await deadPrisma.$disconnect();
  });
});
