import { fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  clockTimeAt,
  isTimeZone,
  nextOccurrences,
  type SyncWindow,
  windowAt,
  windowLengthMinutes,
  windowTimeSchema,
} from '../../../pipeline/background/window.ts';

const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad instant ${iso}`);
  return ms;
};
const iso = (ms: number): string => new Date(ms).toISOString();
const HOUR = 3_600_000;
const MINUTE = 60_000;

const nightly = (timeZone: string): SyncWindow => ({ start: '19:00', end: '07:00', timeZone });
const office = (timeZone: string): SyncWindow => ({ start: '09:00', end: '17:00', timeZone });

/** A WindowState / occurrence in ISO instants, for readable failures. */
const readable = (s: { opensAtMs: number; closesAtMs: number; open?: boolean }) => ({
  ...(s.open === undefined ? {} : { open: s.open }),
  opens: iso(s.opensAtMs),
  closes: iso(s.closesAtMs),
});

/** The wall-clock reading of an instant in a zone: 'YYYY-MM-DD HH:MM'. */
const wall = (ms: number, timeZone: string): string => {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
};

describe('windowTimeSchema', () => {
  it.each(['00:00', '23:59', '07:00', '19:00', '12:30', '09:05', '20:00', '19:00:30', '23:59:59'])(
    'accepts %s',
    (time) => {
      expect(windowTimeSchema.safeParse(time).success).toBe(true);
    },
  );

  it.each([
    '24:00',
    '25:00',
    '7:00',
    '19:60',
    '',
    '07:00 ',
    ' 07:00',
    '0700',
    '07:0',
    '07:000',
    '-1:00',
    'ab:cd',
    '07.00',
    '07:00:60',
    '07:00:5',
    '07:00:',
  ])('refuses %j', (time) => {
    const result = windowTimeSchema.safeParse(time);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('a time of day, HH:MM or HH:MM:SS (00:00–23:59:59)');
  });

  it('refuses what is not a string', () => {
    expect(windowTimeSchema.safeParse(700).success).toBe(false);
    expect(windowTimeSchema.safeParse(null).success).toBe(false);
  });
});

describe('isTimeZone', () => {
  it.each(['Europe/Berlin', 'UTC', 'America/New_York', 'Asia/Tokyo', 'Etc/GMT+5', 'Australia/Lord_Howe'])(
    'accepts %s',
    (zone) => {
      expect(isTimeZone(zone)).toBe(true);
    },
  );

  it.each(['Mars/Base', '', 'GMT+99', 'Europe/Berlinn', '+01:00', '-05:00', ' Europe/Berlin', 'Europe'])(
    'refuses %j',
    (zone) => {
      expect(isTimeZone(zone)).toBe(false);
    },
  );
});

describe('seconds (HH:MM:SS: windows of seconds, as the integration tests use)', () => {
  it('opens and closes at the second', () => {
    const w = { start: '10:00:15', end: '10:00:45', timeZone: 'UTC' };
    const at = (iso: string) => windowAt(Date.parse(iso), w);
    expect(at('2026-06-01T10:00:14.999Z')).toEqual({
      open: false,
      opensAtMs: Date.parse('2026-06-01T10:00:15Z'),
      closesAtMs: Date.parse('2026-06-01T10:00:45Z'),
    });
    expect(at('2026-06-01T10:00:30Z').open).toBe(true);
    expect(at('2026-06-01T10:00:45Z')).toMatchObject({ open: false, opensAtMs: Date.parse('2026-06-02T10:00:15Z') });
    expect(windowLengthMinutes(w)).toBe(0.5);
  });
});

describe('windowLengthMinutes', () => {
  it('is the nominal wall-clock length, crossing midnight when end < start', () => {
    expect(windowLengthMinutes(nightly('Europe/Berlin'))).toBe(720);
    expect(windowLengthMinutes(office('Europe/Berlin'))).toBe(480);
    expect(windowLengthMinutes({ start: '23:59', end: '00:00', timeZone: 'UTC' })).toBe(1);
    expect(windowLengthMinutes({ start: '00:00', end: '23:59', timeZone: 'UTC' })).toBe(1439);
    expect(windowLengthMinutes({ start: '00:01', end: '00:00', timeZone: 'UTC' })).toBe(1439);
    expect(windowLengthMinutes({ start: '22:30', end: '01:15', timeZone: 'Asia/Tokyo' })).toBe(165);
  });

  it('does not depend on DST: it is wall-clock minutes', () => {
    expect(windowLengthMinutes(nightly('America/New_York'))).toBe(720);
  });

  it('throws a RangeError for an empty window (start === end) and for malformed times or zones', () => {
    expect(() => windowLengthMinutes({ start: '07:00', end: '07:00', timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => windowLengthMinutes({ start: '7:00', end: '08:00', timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => windowLengthMinutes({ start: '07:00', end: '24:00', timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => windowLengthMinutes({ start: '07:00', end: '08:00', timeZone: 'Mars/Base' })).toThrow(RangeError);
  });
});

describe('windowAt, a window crossing midnight (19:00–07:00 Europe/Berlin, winter: UTC+1)', () => {
  const w = nightly('Europe/Berlin');

  it('before the opening: closed, the evening occurrence next', () => {
    expect(readable(windowAt(at('2026-01-15T12:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-01-15T18:00:00.000Z',
      closes: '2026-01-16T06:00:00.000Z',
    });
  });

  it('inside, before midnight and after midnight: open, the occurrence that opened the evening before', () => {
    const expected = { open: true, opens: '2026-01-15T18:00:00.000Z', closes: '2026-01-16T06:00:00.000Z' };
    expect(readable(windowAt(at('2026-01-15T20:00:00Z'), w))).toEqual(expected);
    expect(readable(windowAt(at('2026-01-15T23:30:00Z'), w))).toEqual(expected); // 00:30 local, the next day
    expect(readable(windowAt(at('2026-01-16T05:59:59.999Z'), w))).toEqual(expected);
  });

  it('exactly at the opening: open', () => {
    expect(readable(windowAt(at('2026-01-15T18:00:00Z'), w))).toEqual({
      open: true,
      opens: '2026-01-15T18:00:00.000Z',
      closes: '2026-01-16T06:00:00.000Z',
    });
  });

  it('one millisecond before the opening: closed, opening in 1 ms', () => {
    const now = at('2026-01-15T18:00:00Z') - 1;
    const state = windowAt(now, w);
    expect(state.open).toBe(false);
    expect(state.opensAtMs - now).toBe(1);
  });

  it('exactly at the close: closed, the next occurrence that same evening', () => {
    expect(readable(windowAt(at('2026-01-16T06:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-01-16T18:00:00.000Z',
      closes: '2026-01-17T06:00:00.000Z',
    });
  });

  it('after the close, during the day: closed, the evening occurrence', () => {
    expect(readable(windowAt(at('2026-01-16T11:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-01-16T18:00:00.000Z',
      closes: '2026-01-17T06:00:00.000Z',
    });
  });

  it('is 12 real hours on an ordinary night', () => {
    const s = windowAt(at('2026-07-01T12:00:00Z'), w); // summer: UTC+2
    expect(readable(s)).toEqual({ open: false, opens: '2026-07-01T17:00:00.000Z', closes: '2026-07-02T05:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(12 * HOUR);
  });

  it('crosses a year boundary', () => {
    expect(readable(windowAt(at('2026-12-31T23:00:00Z'), w))).toEqual({
      open: true,
      opens: '2026-12-31T18:00:00.000Z',
      closes: '2027-01-01T06:00:00.000Z',
    });
  });
});

describe('windowAt, a same-day window (09:00–17:00 Europe/Berlin, winter: UTC+1)', () => {
  const w = office('Europe/Berlin');

  it('before, inside, at the opening, at the close, after', () => {
    const today = { opens: '2026-02-10T08:00:00.000Z', closes: '2026-02-10T16:00:00.000Z' };
    const tomorrow = { opens: '2026-02-11T08:00:00.000Z', closes: '2026-02-11T16:00:00.000Z' };
    expect(readable(windowAt(at('2026-02-10T05:00:00Z'), w))).toEqual({ open: false, ...today });
    expect(readable(windowAt(at('2026-02-09T23:30:00Z'), w))).toEqual({ open: false, ...today }); // 00:30 local
    expect(readable(windowAt(at('2026-02-10T08:00:00Z'), w))).toEqual({ open: true, ...today });
    expect(readable(windowAt(at('2026-02-10T12:00:00Z'), w))).toEqual({ open: true, ...today });
    expect(readable(windowAt(at('2026-02-10T16:00:00Z'), w))).toEqual({ open: false, ...tomorrow });
    expect(readable(windowAt(at('2026-02-10T22:59:59Z'), w))).toEqual({ open: false, ...tomorrow }); // 23:59:59 local
    expect(readable(windowAt(at('2026-02-10T23:00:00Z'), w))).toEqual({ open: false, ...tomorrow }); // 00:00 local
  });
});

describe('windowAt, a window ending at midnight and one starting at midnight (UTC)', () => {
  it('23:00–00:00 closes at the next midnight', () => {
    const w: SyncWindow = { start: '23:00', end: '00:00', timeZone: 'UTC' };
    expect(readable(windowAt(at('2026-05-05T23:30:00Z'), w))).toEqual({
      open: true,
      opens: '2026-05-05T23:00:00.000Z',
      closes: '2026-05-06T00:00:00.000Z',
    });
    expect(readable(windowAt(at('2026-05-06T00:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-05-06T23:00:00.000Z',
      closes: '2026-05-07T00:00:00.000Z',
    });
  });

  it('00:00–06:00 opens at midnight', () => {
    const w: SyncWindow = { start: '00:00', end: '06:00', timeZone: 'UTC' };
    expect(readable(windowAt(at('2026-05-06T00:00:00Z'), w))).toEqual({
      open: true,
      opens: '2026-05-06T00:00:00.000Z',
      closes: '2026-05-06T06:00:00.000Z',
    });
    expect(readable(windowAt(at('2026-05-05T23:59:59.999Z'), w))).toEqual({
      open: false,
      opens: '2026-05-06T00:00:00.000Z',
      closes: '2026-05-06T06:00:00.000Z',
    });
  });
});

describe('windowAt across DST changes, Europe/Berlin', () => {
  const w = nightly('Europe/Berlin');

  it('spring forward (2026-03-29, 02:00 CET → 03:00 CEST): the night of the 28th lasts 11 real hours', () => {
    const s = windowAt(at('2026-03-28T22:00:00Z'), w);
    expect(readable(s)).toEqual({ open: true, opens: '2026-03-28T18:00:00.000Z', closes: '2026-03-29T05:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(11 * HOUR);
    // The instant after the jump (01:00Z = 03:00 CEST) is still inside.
    expect(windowAt(at('2026-03-29T01:00:00Z'), w).open).toBe(true);
    // 06:00 UTC was inside on the previous morning (07:00 CET); now it is 08:00 CEST: closed.
    expect(readable(windowAt(at('2026-03-29T05:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-03-29T17:00:00.000Z',
      closes: '2026-03-30T05:00:00.000Z',
    });
    const next = windowAt(at('2026-03-29T12:00:00Z'), w);
    expect(next.closesAtMs - next.opensAtMs).toBe(12 * HOUR);
  });

  it('fall back (2026-10-25, 03:00 CEST → 02:00 CET): the night of the 24th lasts 13 real hours', () => {
    const s = windowAt(at('2026-10-24T20:00:00Z'), w);
    expect(readable(s)).toEqual({ open: true, opens: '2026-10-24T17:00:00.000Z', closes: '2026-10-25T06:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(13 * HOUR);
    // Both readings of 02:30 local are inside.
    expect(windowAt(at('2026-10-25T00:30:00Z'), w).open).toBe(true);
    expect(windowAt(at('2026-10-25T01:30:00Z'), w).open).toBe(true);
    // 05:30Z = 06:30 CET: still inside (it would have been 07:30 CEST).
    expect(windowAt(at('2026-10-25T05:30:00Z'), w).open).toBe(true);
    expect(readable(windowAt(at('2026-10-25T06:00:00Z'), w))).toEqual({
      open: false,
      opens: '2026-10-25T18:00:00.000Z',
      closes: '2026-10-26T06:00:00.000Z',
    });
  });

  it('an edge inside the skipped hour moves forward by the gap: 02:30 on 2026-03-29 opens at 03:30 CEST (01:30Z)', () => {
    const ww: SyncWindow = { start: '02:30', end: '05:00', timeZone: 'Europe/Berlin' };
    expect(readable(windowAt(at('2026-03-28T12:00:00Z'), ww))).toEqual({
      open: false,
      opens: '2026-03-29T01:30:00.000Z',
      closes: '2026-03-29T03:00:00.000Z',
    });
    // 01:15Z = 03:15 CEST: not yet open, although the nominal opening (02:30) has passed on the wall clock.
    expect(windowAt(at('2026-03-29T01:15:00Z'), ww).open).toBe(false);
    expect(windowAt(at('2026-03-29T01:30:00Z'), ww).open).toBe(true);
    // The day before and the day after are plain.
    expect(readable(windowAt(at('2026-03-28T00:00:00Z'), ww))).toEqual({
      open: false,
      opens: '2026-03-28T01:30:00.000Z',
      closes: '2026-03-28T04:00:00.000Z',
    });
    expect(readable(windowAt(at('2026-03-29T12:00:00Z'), ww))).toEqual({
      open: false,
      opens: '2026-03-30T00:30:00.000Z',
      closes: '2026-03-30T03:00:00.000Z',
    });
  });

  it('a close inside the skipped hour moves forward by the gap too: 22:00–02:30 closes at 03:30 CEST', () => {
    const ww: SyncWindow = { start: '22:00', end: '02:30', timeZone: 'Europe/Berlin' };
    const s = windowAt(at('2026-03-28T23:00:00Z'), ww);
    expect(readable(s)).toEqual({ open: true, opens: '2026-03-28T21:00:00.000Z', closes: '2026-03-29T01:30:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(windowLengthMinutes(ww) * MINUTE); // 4½ h: the gap, then +1 h
  });

  it('an edge inside the repeated hour takes the first occurrence: 02:30 on 2026-10-25 opens at 02:30 CEST (00:30Z)', () => {
    const ww: SyncWindow = { start: '02:30', end: '05:00', timeZone: 'Europe/Berlin' };
    const s = windowAt(at('2026-10-24T12:00:00Z'), ww);
    expect(readable(s)).toEqual({ open: false, opens: '2026-10-25T00:30:00.000Z', closes: '2026-10-25T04:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(3.5 * HOUR);
    expect(windowAt(at('2026-10-25T00:30:00Z'), ww).open).toBe(true);
    // The second 02:30 (CET, 01:30Z) is inside the same occurrence, not a new opening.
    expect(readable(windowAt(at('2026-10-25T01:30:00Z'), ww))).toEqual({ ...readable(s), open: true });
  });

  it('a close inside the repeated hour takes the first occurrence: 22:00–02:30 closes at 02:30 CEST', () => {
    const ww: SyncWindow = { start: '22:00', end: '02:30', timeZone: 'Europe/Berlin' };
    const s = windowAt(at('2026-10-24T21:00:00Z'), ww);
    expect(readable(s)).toEqual({ open: true, opens: '2026-10-24T20:00:00.000Z', closes: '2026-10-25T00:30:00.000Z' });
    // The second 02:45 local (CET, 01:45Z) is after the close.
    expect(windowAt(at('2026-10-25T01:45:00Z'), ww).open).toBe(false);
  });

  it('occurrences may overlap by the gap when the close is moved past the next opening; windowAt reports the earlier', () => {
    // 03:00–02:30: the close 02:30 on 2026-03-29 is 03:30 CEST, after that day's opening at 03:00 CEST.
    const ww: SyncWindow = { start: '03:00', end: '02:30', timeZone: 'Europe/Berlin' };
    expect(nextOccurrences(at('2026-03-28T12:00:00Z'), ww, 2).map(readable)).toEqual([
      { opens: '2026-03-28T02:00:00.000Z', closes: '2026-03-29T01:30:00.000Z' },
      { opens: '2026-03-29T01:00:00.000Z', closes: '2026-03-30T00:30:00.000Z' },
    ]);
    expect(readable(windowAt(at('2026-03-29T01:15:00Z'), ww))).toEqual({
      open: true,
      opens: '2026-03-28T02:00:00.000Z',
      closes: '2026-03-29T01:30:00.000Z',
    });
    expect(readable(windowAt(at('2026-03-29T01:30:00Z'), ww))).toEqual({
      open: true,
      opens: '2026-03-29T01:00:00.000Z',
      closes: '2026-03-30T00:30:00.000Z',
    });
  });

  it('a window entirely inside the skipped hour has no occurrence that day', () => {
    const ww: SyncWindow = { start: '02:10', end: '02:50', timeZone: 'Europe/Berlin' };
    // 02:10 → 03:10 CEST and 02:50 → 03:50 CEST: moved together by the gap, 40 minutes.
    const s = windowAt(at('2026-03-28T12:00:00Z'), ww);
    expect(readable(s)).toEqual({ open: false, opens: '2026-03-29T01:10:00.000Z', closes: '2026-03-29T01:50:00.000Z' });
    // An edge in the gap, the other after it, read so that the close is before the opening: skipped.
    const skipped: SyncWindow = { start: '02:30', end: '03:15', timeZone: 'Europe/Berlin' };
    expect(nextOccurrences(at('2026-03-28T12:00:00Z'), skipped, 2).map(readable)).toEqual([
      { opens: '2026-03-30T00:30:00.000Z', closes: '2026-03-30T01:15:00.000Z' },
      { opens: '2026-03-31T00:30:00.000Z', closes: '2026-03-31T01:15:00.000Z' },
    ]);
  });
});

describe('windowAt across DST changes, America/New_York', () => {
  const w = nightly('America/New_York');

  it('spring forward (2026-03-08, 02:00 EST → 03:00 EDT): the night of the 7th lasts 11 real hours', () => {
    const s = windowAt(at('2026-03-08T03:00:00Z'), w);
    expect(readable(s)).toEqual({ open: true, opens: '2026-03-08T00:00:00.000Z', closes: '2026-03-08T11:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(11 * HOUR);
    const after = windowAt(at('2026-03-08T11:00:00Z'), w);
    expect(readable(after)).toEqual({
      open: false,
      opens: '2026-03-08T23:00:00.000Z',
      closes: '2026-03-09T11:00:00.000Z',
    });
    expect(after.closesAtMs - after.opensAtMs).toBe(12 * HOUR);
  });

  it('fall back (2026-11-01, 02:00 EDT → 01:00 EST): the night of Oct 31 lasts 13 real hours', () => {
    const s = windowAt(at('2026-11-01T06:00:00Z'), w);
    expect(readable(s)).toEqual({ open: true, opens: '2026-10-31T23:00:00.000Z', closes: '2026-11-01T12:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(13 * HOUR);
  });

  it('edges in the skipped and in the repeated hour', () => {
    const ww: SyncWindow = { start: '02:30', end: '04:00', timeZone: 'America/New_York' };
    // 02:30 does not exist on 2026-03-08: 03:30 EDT = 07:30Z.
    expect(readable(windowAt(at('2026-03-08T05:00:00Z'), ww))).toEqual({
      open: false,
      opens: '2026-03-08T07:30:00.000Z',
      closes: '2026-03-08T08:00:00.000Z',
    });
    // 01:30 exists twice on 2026-11-01: the first is 01:30 EDT = 05:30Z.
    const repeated: SyncWindow = { start: '01:30', end: '03:00', timeZone: 'America/New_York' };
    const s = windowAt(at('2026-11-01T04:00:00Z'), repeated);
    expect(readable(s)).toEqual({ open: false, opens: '2026-11-01T05:30:00.000Z', closes: '2026-11-01T08:00:00.000Z' });
    expect(s.closesAtMs - s.opensAtMs).toBe(2.5 * HOUR);
  });
});

describe('windowAt in a zone without DST', () => {
  it('Asia/Tokyo (UTC+9) is plain all year', () => {
    const w = nightly('Asia/Tokyo');
    for (const day of ['2026-01-10', '2026-03-29', '2026-07-10', '2026-10-25', '2026-11-01']) {
      const s = windowAt(at(`${day}T00:00:00Z`), w); // 09:00 local: closed
      expect(s.open).toBe(false);
      expect(iso(s.opensAtMs)).toBe(`${day}T10:00:00.000Z`);
      expect(s.closesAtMs - s.opensAtMs).toBe(12 * HOUR);
    }
    expect(readable(windowAt(at('2026-03-29T15:00:00Z'), w))).toEqual({
      open: true,
      opens: '2026-03-29T10:00:00.000Z',
      closes: '2026-03-29T22:00:00.000Z',
    });
  });

  it('UTC is plain', () => {
    expect(readable(windowAt(at('2026-10-25T02:00:00Z'), nightly('UTC')))).toEqual({
      open: true,
      opens: '2026-10-24T19:00:00.000Z',
      closes: '2026-10-25T07:00:00.000Z',
    });
  });

  it('half-hour and 45-minute offsets (Asia/Kolkata, Asia/Kathmandu)', () => {
    expect(readable(windowAt(at('2026-06-01T12:00:00Z'), nightly('Asia/Kolkata')))).toEqual({
      open: false,
      opens: '2026-06-01T13:30:00.000Z',
      closes: '2026-06-02T01:30:00.000Z',
    });
    expect(readable(windowAt(at('2026-06-01T12:00:00Z'), nightly('Asia/Kathmandu')))).toEqual({
      open: false,
      opens: '2026-06-01T13:15:00.000Z',
      closes: '2026-06-02T01:15:00.000Z',
    });
  });
});

describe('windowAt, odd zones', () => {
  it('Australia/Lord_Howe: a 30-minute DST shift (2026-04-05 back, 2026-10-04 forward)', () => {
    const w = nightly('Australia/Lord_Howe');
    const back = windowAt(at('2026-04-04T12:00:00Z'), w);
    expect(back.open).toBe(true);
    expect(back.closesAtMs - back.opensAtMs).toBe(12.5 * HOUR);
    const forward = windowAt(at('2026-10-03T12:00:00Z'), w);
    expect(forward.open).toBe(true);
    expect(forward.closesAtMs - forward.opensAtMs).toBe(11.5 * HOUR);
  });

  it('Pacific/Apia skipped 2011-12-30 entirely: the occurrence of that day is the one of the 31st, reported once', () => {
    const w: SyncWindow = { start: '10:00', end: '11:00', timeZone: 'Pacific/Apia' };
    expect(nextOccurrences(at('2011-12-28T00:00:00Z'), w, 4).map(readable)).toEqual([
      { opens: '2011-12-28T20:00:00.000Z', closes: '2011-12-28T21:00:00.000Z' }, // Dec 28, UTC−10
      { opens: '2011-12-29T20:00:00.000Z', closes: '2011-12-29T21:00:00.000Z' }, // Dec 29, UTC−10
      { opens: '2011-12-30T20:00:00.000Z', closes: '2011-12-30T21:00:00.000Z' }, // Dec 31, UTC+14
      { opens: '2011-12-31T20:00:00.000Z', closes: '2011-12-31T21:00:00.000Z' }, // Jan 1
    ]);
  });
});

describe('windowAt, invalid input', () => {
  it('throws a RangeError for an empty window, malformed times, an unknown zone, a non-finite now', () => {
    const now = at('2026-01-01T00:00:00Z');
    expect(() => windowAt(now, { start: '19:00', end: '19:00', timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => windowAt(now, { start: '19:00', end: '7:00', timeZone: 'UTC' })).toThrow(RangeError);
    expect(() => windowAt(now, { start: '19:00', end: '07:00', timeZone: 'Mars/Base' })).toThrow(RangeError);
    expect(() => windowAt(Number.NaN, nightly('UTC'))).toThrow(RangeError);
    expect(() => nextOccurrences(now, nightly('UTC'), -1)).toThrow(RangeError);
    expect(() => nextOccurrences(now, nightly('UTC'), 1.5)).toThrow(RangeError);
    expect(() => nextOccurrences(now, { start: '19:00', end: '19:00', timeZone: 'UTC' }, 1)).toThrow(RangeError);
  });
});

describe('nextOccurrences', () => {
  const w = nightly('Europe/Berlin');

  it('starts with the open occurrence when now is inside one', () => {
    expect(nextOccurrences(at('2026-01-15T20:00:00Z'), w, 3).map(readable)).toEqual([
      { opens: '2026-01-15T18:00:00.000Z', closes: '2026-01-16T06:00:00.000Z' },
      { opens: '2026-01-16T18:00:00.000Z', closes: '2026-01-17T06:00:00.000Z' },
      { opens: '2026-01-17T18:00:00.000Z', closes: '2026-01-18T06:00:00.000Z' },
    ]);
  });

  it('starts with the next occurrence when closed, also exactly at a close', () => {
    const expected = [
      { opens: '2026-01-16T18:00:00.000Z', closes: '2026-01-17T06:00:00.000Z' },
      { opens: '2026-01-17T18:00:00.000Z', closes: '2026-01-18T06:00:00.000Z' },
    ];
    expect(nextOccurrences(at('2026-01-16T12:00:00Z'), w, 2).map(readable)).toEqual(expected);
    expect(nextOccurrences(at('2026-01-16T06:00:00Z'), w, 2).map(readable)).toEqual(expected);
  });

  it('returns exactly count occurrences, none for 0', () => {
    expect(nextOccurrences(at('2026-01-15T12:00:00Z'), w, 0)).toEqual([]);
    expect(nextOccurrences(at('2026-01-15T12:00:00Z'), w, 1)).toHaveLength(1);
    expect(nextOccurrences(at('2026-01-15T12:00:00Z'), w, 400)).toHaveLength(400);
  });

  it('agrees with windowAt on the first occurrence', () => {
    for (const now of [at('2026-01-15T12:00:00Z'), at('2026-03-28T23:00:00Z'), at('2026-10-25T01:30:00Z')]) {
      const [first] = nextOccurrences(now, w, 1);
      const state = windowAt(now, w);
      expect(first).toEqual({ opensAtMs: state.opensAtMs, closesAtMs: state.closesAtMs });
    }
  });

  it('walks through both DST changes of a year in order, one a day, with the real durations', () => {
    const all = nextOccurrences(at('2026-01-01T12:00:00Z'), w, 365);
    expect(iso(all[0]!.opensAtMs)).toBe('2026-01-01T18:00:00.000Z');
    expect(iso(all[364]!.opensAtMs)).toBe('2026-12-31T18:00:00.000Z');
    const hours = new Map<number, number>();
    for (const [i, o] of all.entries()) {
      expect(o.closesAtMs).toBeGreaterThan(o.opensAtMs);
      if (i > 0) expect(o.opensAtMs).toBeGreaterThan(all[i - 1]!.closesAtMs);
      const h = (o.closesAtMs - o.opensAtMs) / HOUR;
      hours.set(h, (hours.get(h) ?? 0) + 1);
    }
    expect(Object.fromEntries(hours)).toEqual({ 11: 1, 12: 363, 13: 1 });
    const short = all.find((o) => o.closesAtMs - o.opensAtMs === 11 * HOUR)!;
    const long = all.find((o) => o.closesAtMs - o.opensAtMs === 13 * HOUR)!;
    expect(readable(short)).toEqual({ opens: '2026-03-28T18:00:00.000Z', closes: '2026-03-29T05:00:00.000Z' });
    expect(readable(long)).toEqual({ opens: '2026-10-24T17:00:00.000Z', closes: '2026-10-25T06:00:00.000Z' });
  });
});

describe('windowAt and nextOccurrences, properties over 2026', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'Asia/Tokyo',
    'UTC',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Kolkata',
    'Pacific/Chatham',
  ];
  const timeArb = fc
    .record({ h: fc.integer({ min: 0, max: 23 }), m: fc.constantFrom(0, 1, 15, 29, 30, 45, 59) })
    .map(({ h, m }) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const windowArb = fc
    .record({
      start: fc.oneof(fc.constantFrom('19:00', '09:00', '02:30', '00:00', '23:59'), timeArb),
      end: fc.oneof(fc.constantFrom('07:00', '17:00', '03:00', '00:00', '02:30'), timeArb),
      timeZone: fc.constantFrom(...zones),
    })
    .filter((w) => w.start !== w.end);
  // Whole 2026, to the millisecond, plus the edges of each DST change of the zones above weighted in.
  const nowArb = fc.oneof(
    fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) - 1 }),
    fc
      .record({
        change: fc.constantFrom(
          Date.UTC(2026, 2, 29, 1),
          Date.UTC(2026, 9, 25, 1),
          Date.UTC(2026, 2, 8, 7),
          Date.UTC(2026, 10, 1, 6),
          Date.UTC(2026, 3, 5, 3), // America/Santiago, back at local midnight
          Date.UTC(2026, 8, 6, 4), // America/Santiago, forward at local midnight
          Date.UTC(2026, 3, 4, 15), // Australia/Lord_Howe, ½ h back
          Date.UTC(2026, 9, 3, 15, 30), // Australia/Lord_Howe, ½ h forward
        ),
        delta: fc.integer({ min: -30 * HOUR, max: 30 * HOUR }),
      })
      .map(({ change, delta }) => change + delta),
  );

  it('is consistent: open means inside [opensAt, closesAt), closed means before the next and in no occurrence', async () => {
    await fc.assert(
      fc.property(nowArb, windowArb, (now, w) => {
        const state = windowAt(now, w);
        expect(state.closesAtMs).toBeGreaterThan(state.opensAtMs);
        if (state.open) {
          expect(state.opensAtMs).toBeLessThanOrEqual(now);
          expect(now).toBeLessThan(state.closesAtMs);
        } else {
          expect(now).toBeLessThan(state.opensAtMs);
        }
        // Real length within the nominal length ± the largest DST shift around (1 h; Lord Howe ½ h).
        expect(Math.abs(state.closesAtMs - state.opensAtMs - windowLengthMinutes(w) * MINUTE)).toBeLessThanOrEqual(
          HOUR,
        );
        const earlier = nextOccurrences(now - 3 * 24 * HOUR, w, 6);
        for (const [i, o] of earlier.entries()) {
          expect(o.closesAtMs).toBeGreaterThan(o.opensAtMs);
          if (i > 0) expect(o.opensAtMs).toBeGreaterThan(earlier[i - 1]!.opensAtMs);
          const contains = o.opensAtMs <= now && now < o.closesAtMs;
          if (!state.open) expect(contains).toBe(false);
        }
        expect(earlier.some((o) => o.opensAtMs === state.opensAtMs && o.closesAtMs === state.closesAtMs)).toBe(true);
        const [first] = nextOccurrences(now, w, 1);
        expect(first).toEqual({ opensAtMs: state.opensAtMs, closesAtMs: state.closesAtMs });
      }),
      { numRuns: 500, seed: 20260329 },
    );
  });

  /** The zone's offset at an instant, in ms, to the minute (the zones above have whole-minute offsets). */
  const offset = (ms: number, timeZone: string): number =>
    Date.parse(`${wall(ms, timeZone).replace(' ', 'T')}:00Z`) - Math.floor(ms / MINUTE) * MINUTE;

  it('opens and closes at `start`/`end` on the wall clock; in a gap, moved forward by it; repeated, the first', async () => {
    await fc.assert(
      fc.property(nowArb, windowArb, (now, w) => {
        const { opensAtMs, closesAtMs } = windowAt(now, w);
        for (const [edge, time] of [
          [opensAtMs, w.start],
          [closesAtMs, w.end],
        ] as const) {
          const reading = wall(edge, w.timeZone).slice(11);
          const before = offset(edge - 24 * HOUR, w.timeZone);
          if (reading !== time) {
            // Skipped: the clock jumped forward across `time`; read with the offset before the jump, it is `time`.
            expect(offset(edge, w.timeZone), `${w.timeZone} ${time} read ${reading} at ${iso(edge)}`).toBeGreaterThan(
              before,
            );
            expect(iso(edge + before).slice(11, 16)).toBe(time);
          } else {
            // A repeated time is read at its first occurrence: no earlier instant (within the 1-hour or
            // ½-hour shifts of these zones) reads the same.
            expect(wall(edge - HOUR, w.timeZone).slice(11)).not.toBe(time);
            expect(wall(edge - HOUR / 2, w.timeZone).slice(11)).not.toBe(time);
          }
        }
      }),
      { numRuns: 400, seed: 20261025 },
    );
  });
});

describe('clockTimeAt', () => {
  it('is the wall-clock time of day of an instant in a zone, to the second', () => {
    expect(clockTimeAt(Date.parse('2026-06-10T17:05:09.700Z'), 'Europe/Berlin')).toBe('19:05:09');
    expect(clockTimeAt(Date.parse('2026-01-10T17:05:09Z'), 'America/New_York')).toBe('12:05:09');
    expect(clockTimeAt(Date.parse('2026-01-10T17:05:09Z'), 'UTC')).toBe('17:05:09');
  });
});
