import { Hono } from 'hono';
import { errorBody } from './errors.ts';
import { type FaultInjector, faultSettingsSchema } from './faults.ts';
import type { TokenAuthority } from './tokens.ts';

/**
 * Sandbox-only controls under /__sandbox (not part of the contracts):
 * read/replace fault settings, revoke every token, change the token
 * lifetime, read counters.
 */
export function adminRoutes(
  faults: FaultInjector,
  authority: TokenAuthority,
  extraStats: () => Promise<Record<string, unknown>> | Record<string, unknown> = () => ({}),
) {
  const app = new Hono();
  app.get('/faults', (c) => c.json(faults.settings));
  app.put('/faults', async (c) => {
    const parsed = faultSettingsSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(errorBody('validation_failed', parsed.error.message), 400);
    return c.json(faults.set(parsed.data));
  });
  app.post('/tokens/revoke', (c) => {
    authority.revokeAll();
    return c.json({ revoked: true });
  });
  app.put('/tokens/ttl', async (c) => {
    const ttl = Number((await c.req.json().catch(() => ({})))?.ttlSeconds);
    if (!Number.isInteger(ttl) || ttl < 1)
      return c.json(errorBody('validation_failed', 'ttlSeconds: a positive integer'), 400);
    authority.ttlSeconds = ttl;
    return c.json({ ttlSeconds: ttl });
  });
  app.get('/stats', async (c) =>
    c.json({
      sandbox: true,
      faults: faults.counters,
      tokens: { issued: authority.issued, refreshed: authority.refreshed, rejected: authority.rejected },
      ...(await extraStats()),
    }),
  );
  return app;
}
