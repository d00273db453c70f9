/**
 * Exact decimal text. Numbers travel as JS numbers when a double gives back
 * the same decimal text (shortest round trip) and as canonical decimal
 * strings otherwise, so a NUMBER(38) key or a 20-digit amount never loses
 * digits. Canonical decimal text: optional `-`, no leading zeros (a lone `0`
 * before the point at most), no trailing zeros after the point, no exponent,
 * never `-0`.
 */

/** Any decimal with at most this many significant digits survives a trip through a double. */
const DOUBLE_EXACT_DIGITS = 15;

/**
 * Canonical text from a sign, a digit string and the number of digits that
 * stand before the decimal point (may be negative or beyond the digits:
 * that is how exponents are applied without floating-point arithmetic).
 */
export function canonicalDecimal(negative: boolean, digits: string, pointAt: number): string {
  const length = digits.length;
  let intDigits: string;
  let fracDigits: string;
  if (pointAt <= 0) {
    intDigits = '';
    fracDigits = '0'.repeat(-pointAt) + digits;
  } else if (pointAt >= length) {
    intDigits = digits + '0'.repeat(pointAt - length);
    fracDigits = '';
  } else {
    intDigits = digits.slice(0, pointAt);
    fracDigits = digits.slice(pointAt);
  }
  let start = 0;
  while (start < intDigits.length && intDigits.charCodeAt(start) === 48) start++;
  let end = fracDigits.length;
  while (end > 0 && fracDigits.charCodeAt(end - 1) === 48) end--;
  const intText = start === intDigits.length ? '0' : intDigits.slice(start);
  const body = end === 0 ? intText : `${intText}.${fracDigits.slice(0, end)}`;
  return negative && body !== '0' ? `-${body}` : body;
}

/**
 * The text of a double that is a whole number of hundredths below 10^13 (prices, quantities), else undefined.
 * It is String(value), built from two integers, which V8 prints several times faster than a fraction:
 * the hundredths text reads back as the double, and its digits are the shortest that do (String's choice):
 * below 10^13 consecutive doubles are less than 0.01 apart, so no other text with at most two decimals
 * reads back as the same double, and a text with more decimals needs more digits.
 */
function hundredthsText(value: number): string | undefined {
  const hundredths = Math.round(value * 100);
  if (!(Math.abs(value) < 1e13) || hundredths / 100 !== value) return undefined;
  const abs = Math.abs(hundredths);
  const int = Math.floor(abs / 100);
  const fraction = abs % 100;
  const digits =
    fraction === 0
      ? String(int)
      : fraction % 10 === 0
        ? `${int}.${fraction / 10}`
        : `${int}.${fraction < 10 ? '0' : ''}${fraction}`;
  return hundredths < 0 ? `-${digits}` : digits;
}

/** String(value) for a number, faster for whole numbers of hundredths. */
export const numberText = (value: number): string => hundredthsText(value) ?? String(value);

/** Plain (never exponential) decimal text of a finite double: the shortest text that reads back as it. */
export function plainDecimalOf(value: number): string {
  if (value === 0) return '0'; // also -0
  const text = numberText(value);
  if (!text.includes('e')) return text;
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text)!;
  return canonicalDecimal(match[1] === '-', match[2]! + (match[3] ?? ''), 1 + Number(match[4]));
}

function significantDigitCount(canonical: string): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    if (first < 0 && c === 48) continue;
    if (first < 0) first = count;
    count++;
    if (c !== 48) last = count;
  }
  return first < 0 ? 0 : last - first;
}

/** A JS number when the double reads back as this canonical text, the text itself otherwise. */
export function exactNumber(canonical: string): number | string {
  const value = Number(canonical);
  if (!Number.isFinite(value)) return canonical;
  if (significantDigitCount(canonical) <= DOUBLE_EXACT_DIGITS) return value;
  return plainDecimalOf(value) === canonical ? value : canonical;
}

const canonicalDecimalPattern = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
export const isCanonicalDecimalText = (text: string): boolean => canonicalDecimalPattern.test(text) && text !== '-0';
