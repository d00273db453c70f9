import { type Rejection, reject } from '../errors.js';
import { canonicalDecimal, exactNumber, isCanonicalDecimalText } from './decimal.js';

/**
 * Layer 3: numbers written by people and exports. Accepted, in this order:
 * accounting parentheses `(1,234.50)` → negative; currency symbols (any
 * Unicode `Sc`) and spaces anywhere (also NBSP / thin spaces used as group
 * separators); one optional leading sign (`--5`, `+-5` are errors, and so is
 * a sign inside parentheses); thousands grouping in strict groups of three
 * (`,` or `'` when the decimal separator is `.`; `.` or `'` when it is `,`),
 * so `1,2` or `1234,56` in a `.` entity is an error, not a guess; an exponent
 * `e±n` (|n| ≤ 1000). The result is exact: a double when it reads back as the
 * same decimal, canonical decimal text otherwise.
 */
export type DecimalSeparator = '.' | ',';
export type ParsedNumber = number | string;

const MAX_EXPONENT = 1000;
const plainNumber = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;
const currencyAndSpaces = /[\p{Sc}\s]/gu;
const signedRest = /^([+-]?)(.*)$/s;
const bodyForSeparator: Record<DecimalSeparator, RegExp> = {
  '.': /^(\d{1,3}(?:[,']\d{3})+|\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/,
  ',': /^(\d{1,3}(?:[.']\d{3})+|\d+)?(?:,(\d*))?(?:[eE]([+-]?\d+))?$/,
};
const groupSeparators = /[.,']/g;
const dotDecimal = /^\d+\.\d+$/;

/** Digits in text that matched plainNumber: everything but a leading `-` and the point. */
const digitCount = (text: string): number =>
  text.length - (text.charCodeAt(0) === 45 ? 1 : 0) - (text.includes('.') ? 1 : 0);

const invalid = (text: string): Rejection => reject('invalid_number', `not a number: ${JSON.stringify(text)}`);

/** Parses number text (already string-cleaned) into a double or exact decimal text. */
export function parseNumberText(text: string, separator: DecimalSeparator): ParsedNumber | Rejection {
  // Fast path: plain machine-written numbers short enough to be exact doubles (at most 15 digits in all:
  // `69000000000.03385` has 16 and is not one).
  if (separator === '.' && plainNumber.test(text) && digitCount(text) <= 15) {
    const value = Number(text);
    return value === 0 ? 0 : value;
  }
  let rest = text;
  let negative = false;
  const accounting = rest.length > 2 && rest.charCodeAt(0) === 40 && rest.charCodeAt(rest.length - 1) === 41;
  if (accounting) rest = rest.slice(1, -1);
  rest = rest.replace(currencyAndSpaces, '');
  const signed = signedRest.exec(rest)!;
  if (signed[1] !== '') {
    if (accounting) return invalid(text);
    negative = signed[1] === '-';
  }
  rest = signed[2]!;
  negative ||= accounting;
  // Our own exact-decimal output (more digits than a double holds) must read
  // back unchanged under a `,` separator too: idempotence.
  if (separator === ',' && dotDecimal.test(rest)) {
    const candidate = negative ? `-${rest}` : rest;
    if (isCanonicalDecimalText(candidate) && typeof exactNumber(candidate) === 'string') return candidate;
  }
  const match = bodyForSeparator[separator].exec(rest);
  if (!match) return invalid(text);
  const intDigits = (match[1] ?? '').replace(groupSeparators, '');
  const fracDigits = match[2] ?? '';
  if (intDigits.length + fracDigits.length === 0) return invalid(text);
  const exponent = match[3] === undefined ? 0 : Number(match[3]);
  if (Math.abs(exponent) > MAX_EXPONENT) return reject('out_of_range', `exponent too large: ${JSON.stringify(text)}`);
  return exactNumber(canonicalDecimal(negative, intDigits + fracDigits, intDigits.length + exponent));
}

/** Integers keep exactness too: a double while it is a safe integer, digit text beyond. */
export function toInteger(value: ParsedNumber): ParsedNumber | Rejection {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return reject('not_integer', `not an integer: ${value}`);
    return value;
  }
  if (value.includes('.')) return reject('not_integer', `not an integer: ${value}`);
  return value;
}
