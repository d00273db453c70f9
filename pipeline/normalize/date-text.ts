import { Rejection, reject } from '../errors.js';

/**
 * Recognises the date and datetime spellings of the seeds and checks the
 * calendar (2025-02-30 is rejected, never rolled over to March):
 * - `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (year first: never ambiguous);
 * - `YYYYMMDD`;
 * - `DD.MM.YYYY` (the dotted form is always day first);
 * - `DD-MM-YYYY` / `MM-DD-YYYY` and the same with `/`: ambiguous, read in the
 *   entity's configured `dateOrder`, never guessed (under DMY, 12-25-2025 is
 *   an error, not Christmas);
 * - any of those followed by `T` or spaces and `HH:mm`, `HH:mm:ss`,
 *   `HH:mm:ss.fff` (up to 9 digits, kept to milliseconds), then optionally
 *   `Z`, `±HH`, `±HHmm` or `±HH:mm`.
 */
export type DateOrder = 'DMY' | 'MDY';

export interface DateTimeParts {
  year: number;
  month: number;
  day: number;
  /** False for date-only text (the time fields are then 0). */
  hasTime: boolean;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** Minutes east of UTC when the text carried an offset; undefined for naive text. */
  offsetMinutes: number | undefined;
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

export function isCalendarDate(year: number, month: number, day: number): boolean {
  return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * A hand-written scanner rather than regular expressions: this runs for every
 * date field of every row, and the scanner allocates nothing but the result.
 */
class Cursor {
  at = 0;
  text = '';
  reset(text: string): this {
    this.text = text;
    this.at = 0;
    return this;
  }
  get done(): boolean {
    return this.at >= this.text.length;
  }
  peek(): number {
    return this.text.charCodeAt(this.at);
  }
  /** Reads up to `max` digits; returns the count read (value in `value`). */
  value = 0;
  digits(max: number): number {
    let count = 0;
    let value = 0;
    while (count < max && this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      this.at++;
      count++;
    }
    this.value = value;
    return count;
  }
  skip(code: number): boolean {
    if (this.peek() !== code) return false;
    this.at++;
    return true;
  }
  skipSpaces(): number {
    const from = this.at;
    while (this.peek() === 32) this.at++;
    return this.at - from;
  }
}

// Parsing is synchronous and single-threaded: one cursor serves every call.
const sharedCursor = new Cursor();
const DASH = 45;
const SLASH = 47;
const DOT = 46;
const COMMA = 44;
const COLON = 58;
const PLUS = 43;
const isDateSeparator = (c: number) => c === DASH || c === SLASH || c === DOT;

const invalidDate = (text: string): Rejection =>
  reject('invalid_date', `not a recognised date: ${JSON.stringify(text)}`);

export function parseDateText(text: string, order: DateOrder): DateTimeParts | Rejection {
  const cur = sharedCursor.reset(text);
  let year: number;
  let month: number;
  let day: number;
  const firstLength = cur.digits(8);
  const first = cur.value;
  if (firstLength === 8) {
    // YYYYMMDD
    year = Math.floor(first / 10000);
    month = Math.floor(first / 100) % 100;
    day = first % 100;
  } else if (firstLength === 4 || firstLength === 1 || firstLength === 2) {
    const separator = cur.peek();
    if (!isDateSeparator(separator)) return invalidDate(text);
    cur.at++;
    if (cur.digits(2) === 0) return invalidDate(text);
    const second = cur.value;
    if (!cur.skip(separator)) return invalidDate(text);
    const thirdLength = cur.digits(4);
    const third = cur.value;
    if (firstLength === 4) {
      if (thirdLength === 0 || thirdLength > 2) return invalidDate(text);
      year = first;
      month = second;
      day = third;
    } else {
      if (thirdLength !== 4) return invalidDate(text);
      // The dotted form is always day first; dashes and slashes follow the configured order.
      const dayFirst = separator === DOT || order === 'DMY';
      day = dayFirst ? first : second;
      month = dayFirst ? second : first;
      year = third;
    }
  } else {
    return invalidDate(text);
  }
  if (cur.done) return checkedDate(text, year, month, day);

  // Time of day: `T` or spaces, HH:mm[:ss[.fff]], optional spaces, optional offset.
  if (cur.peek() === 84 || cur.peek() === 116) cur.at++;
  else if (cur.skipSpaces() === 0) return invalidDate(text);
  if (cur.digits(2) === 0) return invalidDate(text);
  const hour = cur.value;
  if (!cur.skip(COLON) || cur.digits(2) !== 2) return invalidDate(text);
  const minute = cur.value;
  let second = 0;
  let millisecond = 0;
  if (cur.skip(COLON)) {
    if (cur.digits(2) !== 2) return invalidDate(text);
    second = cur.value;
    if (cur.peek() === DOT || cur.peek() === COMMA) {
      cur.at++;
      const fractionLength = cur.digits(3);
      if (fractionLength === 0) return invalidDate(text);
      millisecond = cur.value * 10 ** (3 - fractionLength);
      cur.digits(6); // digits beyond milliseconds are dropped
    }
  }
  cur.skipSpaces();
  let offsetMinutes: number | undefined;
  if (!cur.done) {
    const sign = cur.peek();
    if (sign === 90 || sign === 122) {
      cur.at++;
      offsetMinutes = 0;
    } else if (sign === PLUS || sign === DASH) {
      cur.at++;
      if (cur.digits(2) !== 2) return invalidDate(text);
      const offsetHours = cur.value;
      let offsetMins = 0;
      const withColon = cur.skip(COLON);
      const minuteDigits = cur.digits(2);
      if (minuteDigits === 2) offsetMins = cur.value;
      else if (minuteDigits !== 0 || withColon) return invalidDate(text);
      if (offsetHours > 18 || offsetMins > 59) {
        return reject('invalid_offset', `not a UTC offset: ${JSON.stringify(text.slice(cur.at - 6))}`);
      }
      offsetMinutes = (sign === DASH ? -1 : 1) * (offsetHours * 60 + offsetMins);
    }
    if (!cur.done) return invalidDate(text);
  }
  const parts = checkedDate(text, year, month, day);
  if (parts instanceof Rejection) return parts;
  if (hour > 23 || minute > 59 || second > 59) {
    return reject('impossible_time', `no such time of day: ${JSON.stringify(text)}`);
  }
  parts.hasTime = true;
  parts.hour = hour;
  parts.minute = minute;
  parts.second = second;
  parts.millisecond = millisecond;
  parts.offsetMinutes = offsetMinutes;
  return parts;
}

function checkedDate(text: string, year: number, month: number, day: number): DateTimeParts | Rejection {
  if (!isCalendarDate(year, month, day)) {
    return reject('impossible_date', `no such calendar date: ${JSON.stringify(text)}`);
  }
  return { year, month, day, hasTime: false, hour: 0, minute: 0, second: 0, millisecond: 0, offsetMinutes: undefined };
}
