/**
 * The arithmetic of a nightly sync window: a daily span of wall-clock time in an IANA time zone, such as
 * 19:00–07:00 Europe/Berlin. Pure: no I/O, no clock (`now` is always a parameter), deterministic; the only
 * module state is a cache of one `Intl.DateTimeFormat` per zone.
 *
 * Semantics:
 * - A window occurrence opens on a local calendar date D at `start` local time, and closes at `end` local
 *   time on D when end > start (a same-day window, 09:00–17:00), or on D+1 when end < start (the window
 *   crosses midnight, 19:00–07:00). start === end (an empty window) is invalid and throws a RangeError.
 *   An occurrence is the half-open span of instants [opening, close): open exactly at its opening, closed
 *   exactly at its close.
 * - Wall-clock times are turned into instants with the "compatible" disambiguation of
 *   Temporal.ZonedDateTime and RFC 5545:
 *   - a local time inside a spring-forward gap does not exist, and is moved forward by the gap's length
 *     (02:30 on the day Europe/Berlin jumps from 02:00 to 03:00 means 03:30 CEST, 01:30Z);
 *   - a local time inside the repeated fall-back hour exists twice, and means its first (earlier, still
 *     summer-time) occurrence (02:30 on the day Europe/Berlin falls back from 03:00 to 02:00 means
 *     02:30 CEST, 00:30Z).
 * - Consequences: a window's real length is its nominal (wall-clock) length plus or minus the DST shift
 *   of the night it spans. 19:00–07:00 Europe/Berlin lasts 12 real hours on an ordinary night, 11 hours
 *   over the spring-forward night and 13 hours over the fall-back night. An edge inside the skipped hour
 *   moves forward by the gap; an edge inside the repeated hour takes the first occurrence. Zones without
 *   DST (Asia/Tokyo, UTC) have no such nights.
 * - Corner cases, when both edges of a window fall around a gap: an occurrence whose close, after that
 *   conversion, is not after its opening (02:30–03:15 on a spring-forward day: 03:30 CEST to 03:15 CEST)
 *   contains no instant and is skipped; two consecutive occurrences may overlap by at most the gap (the
 *   close moved forward past the next opening), and then `windowAt` reports the earlier-opened one; an
 *   occurrence identical to the one before (a whole skipped calendar day, Pacific/Apia 2011-12-30) is
 *   reported once.
 */
import { z } from 'zod';

const TIME_PATTERN = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;
const TIME_MESSAGE = 'a time of day, HH:MM or HH:MM:SS (00:00–23:59:59)';

/** 'HH:MM', 00:00–23:59. */
export const windowTimeSchema = z.string().regex(TIME_PATTERN, TIME_MESSAGE);

/** A daily window: opens at `start` and closes at `end` (on the next day when end < start), local time in `timeZone`. */
export interface SyncWindow {
  /** 'HH:MM' */
  start: string;
  /** 'HH:MM'; start === end is invalid (an empty window). */
  end: string;
  /** An IANA time zone, e.g. 'Europe/Berlin'. */
  timeZone: string;
}

/** Whether `nowMs` is inside an occurrence, and that occurrence (if open) or the next one (if closed). */
export interface WindowState {
  open: boolean;
  opensAtMs: number;
  closesAtMs: number;
}

export interface Occurrence {
  opensAtMs: number;
  closesAtMs: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (format === undefined) {
    // Throws a RangeError for a zone Intl does not know.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** true for an IANA time zone Intl accepts ('Europe/Berlin', 'UTC'); false otherwise ('Mars/Base', '', 'GMT+99', '+01:00'). */
export function isTimeZone(zone: string): boolean {
  // Offset strings ('+01:00') are not IANA zones; newer engines accept them in Intl, Node 20 does not.
  if (typeof zone !== 'string' || zone === '' || /^[+\-\u2212]/.test(zone)) return false;
  try {
    formatFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** en-US with era and h23, as `formatFor` formats: '10/25/2026 AD, 02:30:00'. */
const FORMATTED = /^(\d+)\/(\d+)\/(\d+) (AD|BC), (\d+):(\d+):(\d+)$/;

/** The zone's offset from UTC at the instant `ms` (whole seconds), in milliseconds: local wall time − UTC. */
function offsetMs(timeZone: string, ms: number): number {
  const instant = Math.floor(ms / 1000) * 1000;
  const format = formatFor(timeZone);
  let fields: number[];
  let bc: boolean;
  // format() is about three times faster than formatToParts(), which is the fallback should an engine's
  // en-US pattern ever differ.
  const match = FORMATTED.exec(format.format(instant));
  if (match !== null) {
    fields = [match[3], match[1], match[2], match[5], match[6], match[7]].map(Number);
    bc = match[4] === 'BC';
  } else {
    const parts = format.formatToParts(instant);
    const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value);
    fields = [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
    bc = /^B/.test(parts.find((part) => part.type === 'era')?.value ?? '');
  }
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = fields;
  const wall = new Date(0);
  wall.setUTCFullYear(bc ? 1 - year : year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  return wall.getTime() - instant;
}

/**
 * The instant of local wall time `wallMs` (a wall-clock reading expressed as if it were UTC) in `timeZone`,
 * "compatible" disambiguation: in a gap, moved forward by the gap's length; in a repetition, the earlier.
 * Assumes at most one offset change within a day either side (as Temporal's reference implementation does).
 */
function wallToInstant(timeZone: string, wallMs: number): number {
  const before = offsetMs(timeZone, wallMs - DAY_MS);
  const after = offsetMs(timeZone, wallMs + DAY_MS);
  if (before === after) return wallMs - before; // no offset change around: the common case
  let best: number | undefined;
  for (const offset of before === after ? [before] : [before, after]) {
    const candidate = wallMs - offset;
    if (offsetMs(timeZone, candidate) === offset && (best === undefined || candidate < best)) best = candidate;
  }
  if (best !== undefined) return best;
  // No candidate: the wall time is in a gap. Read it with the offset in force before the gap, which moves it
  // forward by the gap's length (after − before).
  return wallMs - before;
}

/** Milliseconds since local midnight of an 'HH:MM' or 'HH:MM:SS'; RangeError for anything else. */
function timeOfDayMs(time: string, name: 'start' | 'end'): number {
  const match = TIME_PATTERN.exec(time);
  if (match === null) throw new RangeError(`window ${name} must be ${TIME_MESSAGE}, got ${JSON.stringify(time)}`);
  return (Number(time.slice(0, 2)) * 3600 + Number(time.slice(3, 5)) * 60 + Number(time.slice(6, 8) || 0)) * 1000;
}

interface ParsedWindow {
  startMs: number;
  endMs: number;
  /** 0 for a same-day window, 1 when it closes on the next day. */
  endDayOffset: 0 | 1;
  timeZone: string;
}

function parse(w: SyncWindow): ParsedWindow {
  const startMs = timeOfDayMs(w.start, 'start');
  const endMs = timeOfDayMs(w.end, 'end');
  if (startMs === endMs) {
    throw new RangeError(`an empty window: start and end are both ${w.start}`);
  }
  formatFor(w.timeZone); // a RangeError now for an unknown zone
  return { startMs, endMs, endDayOffset: endMs < startMs ? 1 : 0, timeZone: w.timeZone };
}

/** Nominal length in wall-clock minutes, crossing midnight when end < start (19:00–07:00 → 720); RangeError when start === end. */
export function windowLengthMinutes(w: SyncWindow): number {
  const { startMs, endMs } = parse(w);
  return ((endMs - startMs + DAY_MS) % DAY_MS) / MINUTE_MS;
}

/** The occurrence opening on local date `day` (days since 1970-01-01), possibly empty (close <= opening). */
function occurrenceOn(p: ParsedWindow, day: number): Occurrence {
  return {
    opensAtMs: wallToInstant(p.timeZone, day * DAY_MS + p.startMs),
    closesAtMs: wallToInstant(p.timeZone, (day + p.endDayOffset) * DAY_MS + p.endMs),
  };
}

/**
 * The non-empty occurrences in increasing opening order, starting with those opening on local date
 * `firstDay`; an occurrence empty after conversion, or opening no later than the one before, is left out.
 */
function* occurrencesFrom(p: ParsedWindow, firstDay: number): Generator<Occurrence> {
  let lastOpening = Number.NEGATIVE_INFINITY;
  for (let day = firstDay; ; day++) {
    const occurrence = occurrenceOn(p, day);
    if (occurrence.closesAtMs > occurrence.opensAtMs && occurrence.opensAtMs > lastOpening) {
      lastOpening = occurrence.opensAtMs;
      yield occurrence;
    }
  }
}

/**
 * The occurrences from the one containing `nowMs` (if any) or else the next one: the first, in opening order,
 * that closes after now. Starts scanning two local days before now's local date, so that an occurrence
 * opened the day before (crossing midnight), even stretched by a DST shift, is seen.
 */
function* occurrencesAround(nowMs: number, p: ParsedWindow): Generator<Occurrence> {
  if (!Number.isFinite(nowMs)) throw new RangeError(`now must be a finite number of milliseconds, got ${nowMs}`);
  const localDay = Math.floor((nowMs + offsetMs(p.timeZone, nowMs)) / DAY_MS);
  let started = false;
  for (const occurrence of occurrencesFrom(p, localDay - 2)) {
    if (!started && occurrence.closesAtMs <= nowMs) continue;
    started = true;
    yield occurrence;
  }
}

/**
 * If `nowMs` is inside a window occurrence: open=true, opensAtMs = that occurrence's opening (<= now),
 * closesAtMs its close (> now). Otherwise open=false and opensAtMs/closesAtMs are the NEXT occurrence
 * (opensAtMs > now). An occurrence is [opening, close).
 */
export function windowAt(nowMs: number, w: SyncWindow): WindowState {
  const first = occurrencesAround(nowMs, parse(w)).next();
  if (first.done) throw new Error('unreachable: the occurrences never end');
  const { opensAtMs, closesAtMs } = first.value;
  return { open: opensAtMs <= nowMs, opensAtMs, closesAtMs };
}

/** The next `count` occurrences starting with the one containing now (if open) or the next one, in opening order. */
export function nextOccurrences(nowMs: number, w: SyncWindow, count: number): Occurrence[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const p = parse(w);
  const result: Occurrence[] = [];
  if (count === 0) return result;
  for (const occurrence of occurrencesAround(nowMs, p)) {
    result.push(occurrence);
    if (result.length === count) break;
  }
  return result;
}

/** The wall-clock time of day of instant `ms` in `timeZone`, as 'HH:MM:SS' (a window edge relative to now). */
export function clockTimeAt(ms: number, timeZone: string): string {
  const wall = ms + offsetMs(timeZone, ms);
  return new Date(wall).toISOString().slice(11, 19);
}
