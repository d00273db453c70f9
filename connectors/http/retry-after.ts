/**
 * Parses a Retry-After header (RFC 9110 §10.2.3): either delay-seconds or an
 * HTTP date. Returns milliseconds to wait, or undefined when absent/unreadable
 * (the caller then falls back to its own backoff).
 */
export function parseRetryAfter(
  value: string | string[] | undefined | null,
  now: number = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
