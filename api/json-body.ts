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
 * How deeply a request body may nest objects and arrays. Entity configurations,
 * connections and preview rows need a handful of levels; the parsers, validators
 * and walkers here recurse once per level (thousands of levels overflowed the
 * stack: a 500), and Prisma refuses JSON nested beyond 128 levels.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Where a JSON text first nests deeper than MAX_JSON_DEPTH (`fields[1].default.a`), or null.
 * A scan of the text, without recursion, so it is safe on any input; malformed JSON is left to the parser.
 */
export function tooDeeplyNested(text: string): string | null {
  const frames: Array<{ object: boolean; key: string | null; index: number; expectKey: boolean }> = [];
  const pathOf = () =>
    frames
      .slice(0, -1)
      .reduce((path, f) => (f.object ? `${path}${path ? '.' : ''}${f.key ?? ''}` : `${path}[${f.index}]`), '') ||
    '(body)';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = frames.at(-1);
      if (top?.object && top.expectKey) {
        try {
          top.key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          top.key = text.slice(i + 1, end);
        }
        top.expectKey = false;
      }
      i = end;
    } else if (ch === '{' || ch === '[') {
      frames.push({ object: ch === '{', key: null, index: 0, expectKey: ch === '{' });
      if (frames.length > MAX_JSON_DEPTH) return pathOf();
    } else if (ch === '}' || ch === ']') {
      frames.pop();
    } else if (ch === ',') {
      const top = frames.at(-1);
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return null;
}

const nestingProblem = (text: string) => {
  const field = tooDeeplyNested(text);
  return field === null
    ? null
    : new ApiError(400, 'validation_failed', 'The request is invalid.', [
        { field, message: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` },
      ]);
};

/**
 * App middleware: a JSON body with a string PostgreSQL cannot store, or nested
 * deeper than MAX_JSON_DEPTH, is a 400 before any route sees it (a malformed
 * body is left to the route: 400 invalid_json).
 */
export const refuseUnstorableStrings: MiddlewareHandler = async (c, next) => {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
  if (JSON_MEDIA_TYPE.test(mediaType)) {
    const text = await c.req.text();
    const tooDeep = nestingProblem(text);
    if (tooDeep) throw tooDeep;
    let value: unknown;
    try {
      value = parseJsonLossless(text);
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
  // Checked before parsing: the parser and the checks below recurse once per level.
  const tooDeep = nestingProblem(text);
  if (tooDeep) throw tooDeep;
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
