import { type Rejection, reject } from '../errors.js';

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
  offsetMinutes?: number;
}

const timeSuffix =
  '(?:(?:T|\\s+)(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?\\s*(Z|[+-]\\d{2}(?::?\\d{2})?)?)?';
const yearFirst = new RegExp(`^(\\d{4})([-/.])(\\d{1,2})\\2(\\d{1,2})${timeSuffix}$`, 'i');
const compact = new RegExp(`^(\\d{4})(\\d{2})(\\d{2})${timeSuffix}$`, 'i');
const yearLast = new RegExp(`^(\\d{1,2})([-/.])(\\d{1,2})\\2(\\d{4})${timeSuffix}$`, 'i');

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

const invalidDate = (text: string): Rejection =>
  reject('invalid_date', `not a recognised date: ${JSON.stringify(text)}`);

export function parseDateText(text: string, order: DateOrder): DateTimeParts | Rejection {
  let year: number;
  let month: number;
  let day: number;
  let timeAt = 5;
  let match = yearFirst.exec(text);
  const compactMatch = match ? null : compact.exec(text);
  if (match) {
    year = Number(match[1]);
    month = Number(match[3]);
    day = Number(match[4]);
  } else if (compactMatch) {
    match = compactMatch;
    year = Number(match[1]);
    month = Number(match[2]);
    day = Number(match[3]);
    timeAt = 4;
  } else {
    match = yearLast.exec(text);
    if (!match) return invalidDate(text);
    const first = Number(match[1]);
    const second = Number(match[3]);
    const dayFirst = match[2] === '.' || order === 'DMY';
    day = dayFirst ? first : second;
    month = dayFirst ? second : first;
    year = Number(match[4]);
  }
  if (!isCalendarDate(year, month, day)) {
    return reject('impossible_date', `no such calendar date: ${JSON.stringify(text)}`);
  }
  const parts: DateTimeParts = { year, month, day, hasTime: false, hour: 0, minute: 0, second: 0, millisecond: 0 };
  if (match[timeAt] === undefined) return parts;
  const hour = Number(match[timeAt]);
  const minute = Number(match[timeAt + 1]);
  const second = match[timeAt + 2] === undefined ? 0 : Number(match[timeAt + 2]);
  const fraction = match[timeAt + 3];
  if (hour > 23 || minute > 59 || second > 59) {
    return reject('impossible_time', `no such time of day: ${JSON.stringify(text)}`);
  }
  parts.hasTime = true;
  parts.hour = hour;
  parts.minute = minute;
  parts.second = second;
  parts.millisecond = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offset = match[timeAt + 4];
  if (offset !== undefined) {
    const minutes = parseOffsetMinutes(offset);
    if (minutes === undefined) return reject('invalid_offset', `not a UTC offset: ${JSON.stringify(offset)}`);
    parts.offsetMinutes = minutes;
  }
  return parts;
}

function parseOffsetMinutes(offset: string): number | undefined {
  if (offset === 'Z' || offset === 'z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 18 || minutes > 59) return undefined;
  const total = hours * 60 + minutes;
  return offset[0] === '-' ? -total : total;
}
