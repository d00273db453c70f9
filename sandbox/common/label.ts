import type { MiddlewareHandler } from 'hono';

/**
 * Sandboxes must never be mistaken for the real systems: every answer carries
 * `x-sandbox: true`, health answers say `sandbox: true`, and startup prints a
 * banner.
 */
export const SANDBOX_HEADER = 'x-sandbox';

export const labelAsSandbox: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set(SANDBOX_HEADER, 'true');
};

export function sandboxBanner(system: string, url: string): string {
  return `[SANDBOX] ${system} sandbox listening on ${url}: a local stand-in for tests and the demo, not the real ${system}.`;
}
