import type { DeclaredKind } from '../../pipeline/declared-type.ts';
import { numberText } from '../../pipeline/normalize/decimal.ts';

/**
 * Values rendered for COPY's text format (the fastest input path PostgreSQL
 * has): tab-separated, `\N` for null, backslash escapes for the four
 * characters that would break a line. One encoder per column kind, chosen
 * once per batch rather than per value.
 */
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPED = /[\\\n\r\t]/g;
const escapeOf = (c: string): string => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t');

export function escapeCopyText(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPED, escapeOf);
}

export type CopyEncoder = (value: unknown) => string;

const NULL = '\\N';

function generic(value: unknown): string {
  if (value === null || value === undefined) return NULL;
  if (typeof value === 'string') return escapeCopyText(value);
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `\\\\x${Buffer.from(value).toString('hex')}`;
  return escapeCopyText(JSON.stringify(value));
}

const HEX_PREFIX = /^\\x/;

/** Binary fields arrive as lower-case hex (normalization layer 1) or as bytes. */
function binary(value: unknown): string {
  if (typeof value === 'string') return `\\\\x${value.replace(HEX_PREFIX, '')}`;
  return generic(value);
}

/** JSON fields: objects, arrays and scalars are serialised; a string is taken as JSON text already. */
function json(value: unknown): string {
  if (value === null || value === undefined) return NULL;
  if (typeof value === 'string') return escapeCopyText(value);
  return escapeCopyText(JSON.stringify(value));
}

export function encoderFor(kind: DeclaredKind): CopyEncoder {
  if (kind === 'binary') return binary;
  if (kind === 'json') return json;
  return generic;
}

// The encoded fields of the line being built, reused (encoding is synchronous, JavaScript single-threaded).
const fields: string[] = [];

/**
 * One COPY line (with its newline) from already-chosen encoders. Joined once from its fields: that makes one
 * flat string, where concatenation left a chain of two intermediate strings per field, which stayed alive with
 * the line (lines are kept for bisection) and made every later join of lines walk the chain.
 */
export function copyLine(values: unknown[], encoders: CopyEncoder[]): string {
  const last = values.length - 1;
  if (last < 0) return '\n';
  fields.length = values.length;
  for (let i = 0; i < last; i++) fields[i] = encoders[i]!(values[i]);
  fields[last] = `${encoders[last]!(values[last])}\n`;
  return fields.join('\t');
}
