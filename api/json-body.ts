import type { Context, MiddlewareHandler } from 'hono';
import { isInteger, isSafeNumber, parse } from 'lossless-json';
import { ApiError, invalidJson } from './errors.ts';

/**
 * Request bodies at the edge. JSON is parsed losslessly: an integer beyond
 * 2^53 becomes its exact decimal string instead of the nearest double (other
 * numbers are plain numbers). Every string, key or value, with a NUL or a lone
 * surrogate is a 400 naming its field, for every route: PostgreSQL text and
 * jsonb cannot hold either.
 */
const numberOf = (text: string): unknown => (isInteger(text) && !isSafeNumber(text) ? text : Number(text));

/** The JSON text as a value (throws on malformed JSON and duplicate keys). */
export const parseJsonLossless = (text: string): unknown => parse(text, null, numberOf);

const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const badText = (text: string) =>
  BAD_TEXT.test(text) ? (text.includes('\u0000') ? 'contains a NUL character' : 'contains a lone surrogate') : null;

/** Every string (key or value) in `value` with a NUL or a lone surrogate, named by its path. */
export function unstorableStrings(value: unknown, path = ''): Array<{ field: string; message: string }> {
  if (typeof value === 'string') {
    const problem = badText(value);
    return problem ? [{ field: path || '(body)', message: problem }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => unstorableStrings(item, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => {
      const field = path ? `${path}.${key}` : key;
      const problem = badText(key);
      return [...(problem ? [{ field, message: `its name ${problem}` }] : []), ...unstorableStrings(item, field)];
    });
  }
  return [];
}

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * App middleware: a JSON body with a string PostgreSQL cannot store is a 400
 * before any route sees it (a malformed body is left to the route: 400 invalid_json).
 */
export const refuseUnstorableStrings: MiddlewareHandler = async (c, next) => {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
  if (JSON_MEDIA_TYPE.test(mediaType)) {
    let value: unknown;
    try {
      value = parseJsonLossless(await c.req.text());
    } catch {
      return next();
    }
    const problems = unstorableStrings(value);
    if (problems.length > 0) throw new ApiError(400, 'validation_failed', 'The request is invalid.', problems);
  }
  return next();
};

/**
 * Reads a JSON body (losslessly) for routes that validate it themselves
 * (entity configs go through parseEntityConfig, which names every offending
 * path at once; previews keep big integers exact).
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw invalidJson();
  let body: unknown;
  try {
    body = parseJsonLossless(text);
  } catch {
    throw invalidJson();
  }
  // Checked here too: the middleware only looks at bodies sent as JSON.
  const problems = unstorableStrings(body);
  if (problems.length > 0) throw new ApiError(400, 'validation_failed', 'The request is invalid.', problems);
  return body;
}

/** The same, for routes that need a JSON object: anything else (null, an array, a number) is a 400. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const body = await readJsonBody(c);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'validation_failed', 'The request is invalid.', [
      {
        field: '(body)',
        message: `must be a JSON object, not ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
      },
    ]);
  }
  return body as Record<string, unknown>;
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
