import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConnectorError } from '../../../connectors/errors.ts';
import { createSource, createTarget } from '../../../connectors/factory.ts';
import { JsonHttpClient } from '../../../connectors/http/json-client.ts';
import type { RateLimiterFactory } from '../../../connectors/http/token-bucket.ts';
import { silentLogger } from '../../../connectors/logger.ts';
import { apismithSourceSchema, schedulehubTargetSchema } from '../../../pipeline/connector-config.ts';

/** Connectors take their request cap from the context (shared by every worker), keyed by connection name. */
describe('rpmCap through the connector context', () => {
  const asked: Array<{ key: string; perMinute: number }> = [];
  const rateLimiter: RateLimiterFactory = {
    limiter(key, perMinute) {
      asked.push({ key, perMinute });
      return { take: async () => {} };
    },
  };
  const http = { type: 'schedulehub', baseUrl: 'http://127.0.0.1:9', username: 'u', password: 'p' } as const;

  it('a ScheduleHub target and a capped APISmith source ask the shared limiter of their connection', async () => {
    asked.length = 0;
    const target = createTarget(
      schedulehubTargetSchema.parse({
        type: 'schedulehub',
        name: 't',
        connection: 'planning',
        resource: 'items',
        rpmCap: 120,
      }),
      { ...http, name: 'planning' },
      { rateLimiter },
    );
    const capped = createSource(
      apismithSourceSchema.parse({ type: 'apismith', connection: 'erp', apiSlug: 'items', rpmCap: 300 }),
      { ...http, type: 'apismith', name: 'erp' },
      { rateLimiter },
    );
    const uncapped = createSource(
      apismithSourceSchema.parse({ type: 'apismith', connection: 'erp', apiSlug: 'items' }),
      { ...http, type: 'apismith', name: 'erp' },
      { rateLimiter },
    );
    expect(asked).toEqual([
      { key: 'planning', perMinute: 120 },
      { key: 'erp', perMinute: 300 },
    ]);
    await Promise.all([target.close(), capped.close(), uncapped.close()]);
  });

  it('a limiter that cannot be read (SyncFlow database down) fails the request as transient, before it is sent', async () => {
    const client = new JsonHttpClient({
      connector: 'schedulehub',
      baseUrl: 'http://127.0.0.1:9',
      logger: silentLogger,
      retry: { maxAttempts: 1 },
      rateLimiter: { take: () => Promise.reject(new Error('connection terminated')) },
    });
    const failure = await client
      .request({ operation: 'batch insert items', method: 'POST', path: '/x', schema: z.unknown() })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectorError);
    expect(failure).toMatchObject({ code: 'database', transient: true });
    expect((failure as Error).message).toContain('connection terminated');
    await client.close();
  });
});
