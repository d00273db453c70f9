import { formatInTimeZone } from 'date-fns-tz';

/**
 * Reading naive wall-clock times in an IANA zone, DST-correct, with a fixed
 * rule for the two awkward cases (the same as RFC 5545 and JavaScript
 * Temporal's `compatible` disambiguation):
 * - a time in the spring-forward gap (02:30 on 2025-03-09 in New York does
 *   not exist) is read with the offset in force before the gap, i.e. it moves
 *   forward by the gap's length: 02:30 → 03:30 EDT = 07:30Z;
 * - a time in the fall-back overlap (01:30 on 2025-11-02 in New York happens
 *   twice) is the earlier of the two instants: 01:30 EDT = 05:30Z.
 * date-fns-tz's fromZonedTime does not pick consistently across zones, so
 * only its offset lookup is used, and that is cached per UTC day (a day with
 * no transition has one offset) to keep Intl formatting out of the hot path.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const CACHE_LIMIT = 50_000;

const offsetText = /^([+-])(\d{2}):(\d{2})$/;

function lookupOffset(instant: number, zone: string): number {
  const text = formatInTimeZone(instant, zone, 'xxx');
  const match = offsetText.exec(text);
  if (!match) return 0; // 'Z' for UTC-like zones
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return (match[1] === '-' ? -minutes : minutes) * MINUTE;
}

export class ZoneClock {
  private readonly dayOffsets = new Map<number, number>();
  private readonly minuteOffsets = new Map<number, number>();
  private readonly transitionDays = new Set<number>();

  constructor(readonly zone: string) {}

  /** The zone's UTC offset (ms, east positive) at an instant. */
  offsetAt(instant: number): number {
    const day = Math.floor(instant / DAY);
    const known = this.dayOffsets.get(day);
    if (known !== undefined) return known;
    if (!this.transitionDays.has(day)) {
      const start = lookupOffset(day * DAY, this.zone);
      const end = lookupOffset(day * DAY + DAY - MINUTE, this.zone);
      if (start === end) {
        this.remember(this.dayOffsets, day, start);
        return start;
      }
      this.transitionDays.add(day); // from now on this day is looked up by minute
    }
    const minute = Math.floor(instant / MINUTE);
    const byMinute = this.minuteOffsets.get(minute);
    if (byMinute !== undefined) return byMinute;
    const offset = lookupOffset(minute * MINUTE, this.zone);
    this.remember(this.minuteOffsets, minute, offset);
    return offset;
  }

  /** The UTC instant of a naive wall-clock time (given as if it were UTC), with the gap/overlap rule above. */
  instantOf(naiveAsUtc: number): number {
    const before = this.offsetAt(naiveAsUtc - DAY);
    const after = this.offsetAt(naiveAsUtc + DAY);
    if (before === after) return naiveAsUtc - before;
    const earlier = naiveAsUtc - before;
    const later = naiveAsUtc - after;
    const earlierValid = this.offsetAt(earlier) === before;
    const laterValid = this.offsetAt(later) === after;
    if (earlierValid && laterValid) return Math.min(earlier, later); // overlap: the first occurrence
    if (earlierValid) return earlier;
    if (laterValid) return later;
    return naiveAsUtc - before; // gap: keep the pre-transition offset, i.e. move forward
  }

  private remember(map: Map<number, number>, key: number, value: number): void {
    if (map.size >= CACHE_LIMIT) map.clear();
    map.set(key, value);
  }
}

const clocks = new Map<string, ZoneClock>();

/** One clock (and cache) per zone for the whole process. */
export function zoneClock(zone: string): ZoneClock {
  let clock = clocks.get(zone);
  if (!clock) {
    clock = new ZoneClock(zone);
    clocks.set(zone, clock);
  }
  return clock;
}

/** True when Intl knows the IANA zone name. */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
