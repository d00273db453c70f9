import { canonicalJson } from '../canonical-json.js';
import { type Rejection, reject } from '../errors.js';

/** Booleans from `Y/N`, `1/0`, `true/false`, `yes/no`, `t/f` (any case), the numbers 1 and 0, and booleans. */
const booleanWords: Record<string, boolean> = {
  y: true,
  yes: true,
  t: true,
  true: true,
  '1': true,
  n: false,
  no: false,
  f: false,
  false: false,
  '0': false,
};

export function parseBoolean(value: string | number): boolean | Rejection {
  if (typeof value === 'number') {
    if (value === 1) return true;
    if (value === 0) return false;
  } else {
    const known = booleanWords[value.toLowerCase()];
    if (known !== undefined) return known;
  }
  return reject('invalid_boolean', `not a boolean (Y/N, 1/0, true/false): ${JSON.stringify(value)}`);
}

/** Binary (RAW, bytea) as lower-case hex. Text may carry a `0x` or `\x` prefix; odd lengths are rejected. */
const hexText = /^(?:0x|\\x)?((?:[0-9a-fA-F]{2})*)$/;

export function parseHex(value: string | Uint8Array): string | Rejection {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  const match = hexText.exec(value);
  if (!match) return reject('invalid_binary', `not hexadecimal bytes: ${JSON.stringify(value)}`);
  return match[1]!.toLowerCase();
}

/**
 * JSON fields are kept as canonical JSON text (see canonical-json.ts). Text is
 * parsed as JSON (so our own output reads back as itself); any other value is
 * taken as the document itself.
 */
export function parseJsonValue(value: unknown): string | Rejection {
  if (typeof value !== 'string') return canonicalJson(value);
  try {
    return canonicalJson(JSON.parse(value));
  } catch {
    return reject('invalid_json', `not JSON text: ${JSON.stringify(value.slice(0, 80))}`);
  }
}
