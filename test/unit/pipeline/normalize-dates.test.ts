import { describe, expect, it } from 'vitest';
import { isoUtcText } from '../../../pipeline/normalize/dates.js';
import { normalizeValue } from './entity.js';

const date = (value: unknown, options = {}) => normalizeValue({ type: 'DATE' }, value, options);
const ts = (value: unknown, zone = 'UTC', options = {}) =>
  normalizeValue({ type: 'TIMESTAMP' }, value, { sourceTimeZone: zone, ...options });

describe('layer 4: dates', () => {
  it.each([
    ['2025-12-08', '2025-12-08'],
    ['2025/12/08', '2025-12-08'],
    ['20251208', '2025-12-08'],
    ['08.12.2025', '2025-12-08'],
    ['8.12.2025', '2025-12-08'],
    ['08-12-2025', '2025-12-08'],
    ['2025-12-08 00:00:00', '2025-12-08'],
    ['2024-02-29', '2024-02-29'],
  ])('%s → %s (DMY)', (text, expected) => {
    expect(date(text)).toEqual({ value: expected });
  });

  it('reads 12-08-2025 by the configured day/month order, never by guessing', () => {
    expect(date('12-08-2025', { dateOrder: 'DMY' })).toEqual({ value: '2025-08-12' });
    expect(date('12-08-2025', { dateOrder: 'MDY' })).toEqual({ value: '2025-12-08' });
    expect(date('12/08/2025', { dateOrder: 'MDY' })).toEqual({ value: '2025-12-08' });
    // Under DMY, 12-25 is month 25: an error, not a silent swap.
    expect(date('12-25-2025', { dateOrder: 'DMY' }).errors?.[0]).toMatchObject({ code: 'impossible_date' });
    // The dotted form is always day first.
    expect(date('12.08.2025', { dateOrder: 'MDY' })).toEqual({ value: '2025-08-12' });
  });

  it.each(['2025-02-30', '2023-02-29', '2025-13-01', '31.04.2025', '20250230'])('rejects the impossible %s', (text) => {
    expect(date(text).errors?.[0]).toMatchObject({ field: 'v', layer: 'dates', code: 'impossible_date' });
  });

  it.each(['yesterday', '2025-1', '12/2025', '2025-12-08T25:00'])('rejects the unreadable %s', (text) => {
    expect(date(text).errors?.[0]).toMatchObject({ layer: 'dates' });
  });

  it('takes an instant’s calendar date in the source time zone', () => {
    expect(date('2025-12-08T23:30:00Z', { sourceTimeZone: 'Europe/Berlin' })).toEqual({ value: '2025-12-09' });
    expect(date(new Date('2025-12-08T23:30:00Z'), { sourceTimeZone: 'America/New_York' })).toEqual({
      value: '2025-12-08',
    });
    expect(date(20251208)).toEqual({ value: '2025-12-08' });
  });

  it('holds Date objects and offset text to the years 0001-9999 too (found by the idempotency property)', () => {
    expect(date(new Date('0000-12-31T23:59:59.999Z')).errors?.[0]).toMatchObject({ code: 'out_of_range' });
    expect(date('0001-01-01T00:30:00+01:00').errors?.[0]).toMatchObject({ code: 'out_of_range' });
    expect(date(new Date('0001-01-01T00:00:00Z'))).toEqual({ value: '0001-01-01' });
  });
});

describe('layer 4: timestamps', () => {
  it.each([
    ['2025-12-08T10:00:00Z', '2025-12-08T10:00:00.000Z'],
    ['2025-12-08 10:00', '2025-12-08T10:00:00.000Z'],
    ['2025-12-08T10:00:00.123456Z', '2025-12-08T10:00:00.123Z'],
    ['2025-12-08T12:00:00+02:00', '2025-12-08T10:00:00.000Z'],
    ['2025-12-08T12:00:00+0200', '2025-12-08T10:00:00.000Z'],
    ['2025-12-08T05:00-05', '2025-12-08T10:00:00.000Z'],
    ['08.12.2025 10:00:00', '2025-12-08T10:00:00.000Z'],
    ['20251208', '2025-12-08T00:00:00.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(ts(text)).toEqual({ value: expected });
  });

  it('reads naive values in the source time zone', () => {
    expect(ts('2025-07-01 12:00', 'Europe/Berlin')).toEqual({ value: '2025-07-01T10:00:00.000Z' });
    expect(ts('2025-01-01 12:00', 'Europe/Berlin')).toEqual({ value: '2025-01-01T11:00:00.000Z' });
    // An explicit offset wins over the zone.
    expect(ts('2025-01-01T12:00:00Z', 'Europe/Berlin')).toEqual({ value: '2025-01-01T12:00:00.000Z' });
  });

  it('moves a time in the spring-forward gap forward by the gap (02:30 → 03:30 local)', () => {
    expect(ts('2025-03-09 02:30', 'America/New_York')).toEqual({ value: '2025-03-09T07:30:00.000Z' });
    expect(ts('2025-03-30 02:30', 'Europe/Berlin')).toEqual({ value: '2025-03-30T01:30:00.000Z' });
    // Either side of the gap is unambiguous.
    expect(ts('2025-03-09 01:59', 'America/New_York')).toEqual({ value: '2025-03-09T06:59:00.000Z' });
    expect(ts('2025-03-09 03:00', 'America/New_York')).toEqual({ value: '2025-03-09T07:00:00.000Z' });
  });

  it('reads a time in the fall-back overlap as its first occurrence (summer time)', () => {
    expect(ts('2025-11-02 01:30', 'America/New_York')).toEqual({ value: '2025-11-02T05:30:00.000Z' });
    expect(ts('2025-10-26 02:30', 'Europe/Berlin')).toEqual({ value: '2025-10-26T00:30:00.000Z' });
    expect(ts('2025-11-02 02:30', 'America/New_York')).toEqual({ value: '2025-11-02T07:30:00.000Z' });
  });

  it('takes Date objects as instants and rejects invalid ones', () => {
    expect(ts(new Date('2025-12-08T10:00:00Z'))).toEqual({ value: '2025-12-08T10:00:00.000Z' });
    expect(ts(new Date(Number.NaN)).errors?.[0]).toMatchObject({ code: 'invalid_date' });
    expect(ts(12.5).errors?.[0]).toMatchObject({ layer: 'types', code: 'invalid_type' });
  });

  it('rejects impossible times and offsets', () => {
    expect(ts('2025-12-08 24:00').errors?.[0]).toMatchObject({ code: 'impossible_time' });
    expect(ts('2025-12-08 10:60').errors?.[0]).toMatchObject({ code: 'impossible_time' });
    expect(ts('2025-12-08T10:00+19:00').errors?.[0]).toMatchObject({ code: 'invalid_offset' });
    expect(ts('2025-02-30 10:00').errors?.[0]).toMatchObject({ code: 'impossible_date' });
  });

  it('formats instants exactly as Date#toISOString does, at every month boundary of the years 0001-9999', () => {
    const day = 86_400_000;
    for (let year = 1; year <= 9999; year++) {
      for (let month = 0; month < 12; month++) {
        const monthStart = new Date(0).setUTCFullYear(year, month, 1); // Date.UTC would read year 1 as 1901
        // The month's first millisecond, and a time of day on its last day that varies with the year.
        for (const instant of [monthStart, monthStart - day + ((year * 7_919_993 + month) % day)]) {
          if (year === 1 && month === 0 && instant < monthStart) continue; // before 0001-01-01
          if (isoUtcText(instant) !== new Date(instant).toISOString()) {
            expect(isoUtcText(instant)).toBe(new Date(instant).toISOString());
          }
        }
      }
    }
    expect(isoUtcText(Date.UTC(9999, 11, 31, 23, 59, 59, 999))).toBe('9999-12-31T23:59:59.999Z');
    expect(isoUtcText(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(isoUtcText(Date.UTC(2024, 1, 29, 13, 7, 5, 42))).toBe('2024-02-29T13:07:05.042Z');
    expect(isoUtcText(Date.UTC(1900, 1, 28, 23, 59, 59, 999) + 1)).toBe('1900-03-01T00:00:00.000Z');
  });
});
