import { canonicalJson } from '../canonical-json.js';
import { plainDecimalOf } from '../normalize/decimal.js';

/**
 * THE canonical rendering behind bk_hash and data_hash, defined once.
 *
 * A record renders as `name=value` pairs joined by `|` (business key: in the
 * declared key order; data: sorted by field name, code-unit order). Names are
 * identifiers (the config schema enforces it), so they never contain `=`,
 * `|` or `\`. A value renders as:
 * - null / missing: `\0` (backslash zero), which no string can render as;
 * - string: itself, with `\`, `|` and `=` escaped by a backslash (so `a|b=c`
 *   renders `a\|b\=c`); the empty string renders empty (it does not survive
 *   normalization anyway: empty → null);
 * - number: plain decimal, no exponent, no trailing zeros, `-0` as `0`:
 *   10, 10.0 and 1e1 all render `10`; 0.001 renders `0.001`. Exact decimal
 *   strings of number fields are already canonical text (`12345678901234567890.5`).
 *   A number-field value `"10.00"` never reaches here: normalization made it 10;
 * - bigint: its decimal digits; boolean: `true` / `false`;
 * - date: `YYYY-MM-DD`; timestamp: ISO 8601 UTC with milliseconds (both are
 *   normalized strings); a Date object renders its toISOString();
 * - binary: lower-case hex (normalized string; a byte array renders as hex);
 * - list and nested JSON: canonical JSON (keys sorted at every depth, no
 *   whitespace), then escaped like a string.
 * Because each field has one declared kind, two different normalized records
 * of one entity can never render the same text.
 */
export const NULL_RENDERING = '\\0';

const needsEscape = /[\\|=]/;
const escapable = /[\\|=]/g;

export const escapeText = (text: string): string => (needsEscape.test(text) ? text.replace(escapable, '\\$&') : text);

export function renderValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return escapeText(value);
    case 'number':
      // Safe integers print without an exponent already (and V8 prints them fast).
      if (Number.isSafeInteger(value)) return value === 0 ? '0' : String(value);
      return Number.isFinite(value) ? plainDecimalOf(value) : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
      return NULL_RENDERING;
    case 'object':
      if (value === null) return NULL_RENDERING;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? NULL_RENDERING : value.toISOString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
      return escapeText(canonicalJson(value));
    default:
      return escapeText(String(value));
  }
}

/** `name=value|name=value` over the given field names, in the given order. */
export function renderFields(values: Readonly<Record<string, unknown>>, names: readonly string[]): string {
  let text = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    text += `${i === 0 ? '' : '|'}${name}=${renderValue(values[name])}`;
  }
  return text;
}
