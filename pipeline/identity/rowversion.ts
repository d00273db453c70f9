import type { DeclaredKind } from '../declared-type.js';

/**
 * Rowversions: how a source says "this row changed". Three families, by the
 * rowversion field's declared kind:
 * - `integer` (integer, number, string fields): decimal digits of any length
 *   (an Oracle SCN, a NUMBER(38) counter) compared as big integers;
 * - `hex` (binary fields: SQL Server rowversion, Oracle RAW): unsigned
 *   big-endian bytes, compared as big integers;
 * - `time` (date and timestamp fields): normalized ISO text, compared in time.
 * The canonical text (what the identity store keeps) has no leading zeros, so
 * a comparison is a length check then a string comparison: no BigInt needed.
 */
export type RowversionFamily = 'integer' | 'hex' | 'time';

export function rowversionFamilyOf(kind: DeclaredKind): RowversionFamily | undefined {
  switch (kind) {
    case 'integer':
    case 'number':
    case 'string':
      return 'integer';
    case 'binary':
      return 'hex';
    case 'date':
    case 'timestamp':
      return 'time';
    default:
      return undefined;
  }
}

const decimalInteger = /^(-?)0*(\d+)$/;
const hexDigits = /^(?:0x|\\x)?0*([0-9a-f]+)$/i;
const isoTime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}\.\d{3}Z)?$/;

/** Canonical rowversion text from a normalized value, or null when there is none (or it is unusable). */
export function extractRowversion(value: unknown, family: RowversionFamily): string | null {
  if (value === null || value === undefined) return null;
  switch (family) {
    case 'integer': {
      const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : '') : String(value);
      const match = decimalInteger.exec(text);
      if (!match) return null;
      return match[1] === '-' && match[2] !== '0' ? `-${match[2]}` : match[2]!;
    }
    case 'hex': {
      const match = hexDigits.exec(String(value));
      return match ? match[1]!.toLowerCase() : null;
    }
    case 'time':
      return typeof value === 'string' && isoTime.test(value) ? value : null;
  }
}

function compareMagnitudes(a: string, b: string): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 for canonical rowversion texts of one family. */
export function compareRowversions(a: string, b: string, family: RowversionFamily): -1 | 0 | 1 {
  if (family === 'time') return a < b ? -1 : a > b ? 1 : 0;
  if (family === 'hex') return compareMagnitudes(a, b);
  const aNegative = a.startsWith('-');
  const bNegative = b.startsWith('-');
  if (aNegative !== bNegative) return aNegative ? -1 : 1;
  const magnitude = compareMagnitudes(aNegative ? a.slice(1) : a, bNegative ? b.slice(1) : b);
  return aNegative ? compareMagnitudes(b.slice(1), a.slice(1)) : magnitude;
}
