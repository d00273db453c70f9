import type { Context } from 'hono';
import { invalidJson } from './errors.ts';

/**
 * Reads a JSON body for routes that validate it themselves (entity configs go
 * through parseEntityConfig, which names every offending path at once).
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw invalidJson();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidJson();
  }
}

/** JSON-safe copy of pipeline output: bigint → string, Date → ISO string (JSON.stringify throws on bigint). */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}
