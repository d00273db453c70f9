import { Rejection, reject } from '../errors.js';
import { type DateOrder, type DateTimeParts, parseDateText } from './date-text.js';
import { zoneClock } from './zoned-time.js';

/**
 * Layer 4: dates and timestamps.
 * - `timestamp` fields become ISO 8601 UTC with milliseconds
 *   (`2025-12-08T09:30:00.000Z`): text with an offset is exact; naive text is
 *   read in the entity's source time zone (see zoned-time.ts for DST gaps and
 *   overlaps); a date without a time is midnight in that zone.
 * - `date` fields stay `YYYY-MM-DD`: naive text keeps its calendar date (a
 *   time of day, as Oracle DATE always carries, is dropped); text with an
 *   offset and JS Date objects are instants, and take their calendar date in
 *   the source time zone.
 */

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Date.UTC, minus its two-digit-year quirk (years 0-99 would become 19xx). */
function utcMillis(p: DateTimeParts): number {
  if (p.year >= 100) return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.millisecond);
  const date = new Date(0);
  date.setUTCFullYear(p.year, p.month - 1, p.day);
  date.setUTCHours(p.hour, p.minute, p.second, p.millisecond);
  return date.getTime();
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));
const pad4 = (n: number): string => (n >= 1000 ? String(n) : String(n).padStart(4, '0'));
const formatDate = (year: number, month: number, day: number): string => `${pad4(year)}-${pad2(month)}-${pad2(day)}`;

/**
 * `new Date(instant).toISOString()` for instants of years 0001-9999, without the Date object: the same text,
 * about three times faster (it runs for every timestamp field of every row). The calendar date comes from
 * the day number by Howard Hinnant's civil_from_days (days since 1970-01-01, proleptic Gregorian calendar,
 * computed in 400-year eras of 146097 days, each starting on March 1st so the leap day ends a year).
 */
export function isoUtcText(instant: number): string {
  const days = Math.floor(instant / DAY);
  let ms = instant - days * DAY;
  const hour = Math.floor(ms / HOUR);
  ms -= hour * HOUR;
  const minute = Math.floor(ms / MINUTE);
  ms -= minute * MINUTE;
  const second = Math.floor(ms / 1000);
  ms -= second * 1000;

  const shifted = days + 719468; // days since 0000-03-01
  const era = Math.floor(shifted / 146097);
  const dayOfEra = shifted - era * 146097; // 0..146096
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100)); // from March 1st
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0);
  return `${formatDate(year, month, day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${pad3(ms)}Z`;
}

const FIRST_INSTANT = -62135596800000; // 0001-01-01T00:00:00Z
const LAST_INSTANT = 253402300799999; // 9999-12-31T23:59:59.999Z
const outOfRange = (value: unknown): Rejection =>
  reject('out_of_range', `outside years 0001-9999 once in UTC: ${JSON.stringify(String(value))}`);

/**
 * The calendar date of an instant read on the source's wall clock, held to the same years 0001-9999 as text
 * dates: a Date object of year 0 must not become `0000-12-31`, which the text path (rightly) refuses.
 */
function calendarDateOf(wallClockAsUtc: number, input: TemporalInput): string | Rejection {
  const d = new Date(wallClockAsUtc);
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) return outOfRange(input);
  return formatDate(year, d.getUTCMonth() + 1, d.getUTCDate());
}

export type TemporalInput = string | Date;

export function createDateNormalizer(zone: string, order: DateOrder) {
  const clock = zoneClock(zone);
  return (input: TemporalInput): string | Rejection => {
    if (input instanceof Date) {
      const instant = input.getTime();
      if (Number.isNaN(instant)) return reject('invalid_date', 'an invalid Date object');
      return calendarDateOf(instant + clock.offsetAt(instant), input);
    }
    const parts = parseDateText(input, order);
    if (parts instanceof Rejection) return parts;
    if (parts.offsetMinutes === undefined) return formatDate(parts.year, parts.month, parts.day);
    const instant = utcMillis(parts) - parts.offsetMinutes * MINUTE;
    return calendarDateOf(instant + clock.offsetAt(instant), input);
  };
}

export function createTimestampNormalizer(zone: string, order: DateOrder) {
  const clock = zoneClock(zone);
  return (input: TemporalInput): string | Rejection => {
    let instant: number;
    if (input instanceof Date) {
      instant = input.getTime();
      if (Number.isNaN(instant)) return reject('invalid_date', 'an invalid Date object');
    } else {
      // Fast path: our own output (and any exact ISO UTC text) reads back as itself.
      if (isoUtc.test(input)) {
        const parsed = Date.parse(input);
        if (!Number.isNaN(parsed) && new Date(parsed).toISOString() === input) return input;
      }
      const parts = parseDateText(input, order);
      if (parts instanceof Rejection) return parts;
      const wallClock = utcMillis(parts);
      instant =
        parts.offsetMinutes === undefined ? clock.instantOf(wallClock) : wallClock - parts.offsetMinutes * MINUTE;
    }
    if (instant < FIRST_INSTANT || instant > LAST_INSTANT) return outOfRange(input);
    return isoUtcText(instant);
  };
}
