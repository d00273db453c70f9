import type { HealthStatus } from './types.ts';

/** Runs a probe and reports ok / latency / the failure's message (health checks never throw). */
export async function probe(check: () => Promise<unknown>): Promise<HealthStatus> {
  const started = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      detail: error instanceof Error ? error.message : String(error),
    };
  }
}
