import type { Random } from './prng.ts';

/**
 * How the demo ERP spells numbers and dates. Every spelling here is one that
 * SyncFlow's normalizer accepts (pipeline/normalize/numbers.ts,
 * date-text.ts) for the entity's convention; the broken spellings that must
 * be rejected live in the generator next to the defect they make.
 */

const group3 = (digits: string, separator: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, separator);

/** A price in cents written as people and exports write it, '.' as the decimal separator. */
export function formatPriceDot(cents: number, random: Random): string {
  const negative = cents < 0;
  const abs = Math.abs(cents);
  const whole = String(Math.floor(abs / 100));
  const fraction = String(abs % 100).padStart(2, '0');
  if (negative) {
    // Credits are written the accountant's way, or with a plain minus.
    return random.chance(0.7) ? `(${group3(whole, ',')}.${fraction})` : `-${whole}.${fraction}`;
  }
  switch (random.int(0, 6)) {
    case 0:
      return `${group3(whole, ',')}.${fraction}`; // 1,234.50
    case 1:
      return `€ ${group3(whole, ',')}.${fraction}`; // € 1,234.50
    case 2:
      return `$${whole}.${fraction}`; // $1234.50
    case 3:
      return ` ${whole}.${fraction} `; // surrounding spaces
    case 4:
      return abs % 100 === 0 ? `€ ${whole}` : `${whole}.${fraction} €`; // € 10, 12.50 €
    case 5:
      return `${(abs / 100).toExponential()}`.replace('e+', 'E'); // 1.2345E3
    default:
      return `${whole}.${fraction}`;
  }
}

/** A number written with ',' as the decimal separator and '.' grouping: '2,5', '1.020,75'. */
export function formatDecimalComma(hundredths: number, random: Random): string {
  const negative = hundredths < 0;
  const abs = Math.abs(hundredths);
  const whole = String(Math.floor(abs / 100));
  const fraction = String(abs % 100).padStart(2, '0');
  const grouped = random.chance(0.5) ? group3(whole, '.') : whole;
  const body = fraction === '00' && random.chance(0.5) ? grouped : `${grouped},${fraction.replace(/0$/, '')}`;
  return `${negative ? '-' : ''}${random.chance(0.1) ? ` ${body} ` : body}`;
}

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}
export interface CivilDateTime extends CivilDate {
  hour: number;
  minute: number;
  second: number;
}

const p2 = (n: number): string => String(n).padStart(2, '0');

/** A date in one of the formats the ERP's users and interfaces produce (day first where ambiguous: DMY). */
export function formatDateMixed(d: CivilDate, random: Random): string {
  const { year: y, month: m, day: dd } = d;
  switch (random.int(0, 6)) {
    case 0:
      return `${y}-${p2(m)}-${p2(dd)}`; // ISO
    case 1:
      return `${y}/${p2(m)}/${p2(dd)}`;
    case 2:
      return `${p2(dd)}.${p2(m)}.${y}`;
    case 3:
      return `${y}${p2(m)}${p2(dd)}`;
    case 4:
      return `${p2(dd)}-${p2(m)}-${y}`; // ambiguous: read as DMY by the entity config
    case 5:
      return `${p2(dd)}/${p2(m)}/${y}`;
    default:
      return `${y}-${p2(m)}-${p2(dd)} ${p2(random.int(6, 18))}:00`; // a date field holding a naive datetime
  }
}

/** A naive wall-clock datetime in the source time zone (Europe/Berlin), in mixed formats. */
export function formatDateTimeMixed(t: CivilDateTime, random: Random): string {
  const date = `${t.year}-${p2(t.month)}-${p2(t.day)}`;
  const time = `${p2(t.hour)}:${p2(t.minute)}`;
  switch (random.int(0, 4)) {
    case 0:
      return `${date} ${time}:${p2(t.second)}`;
    case 1:
      return `${p2(t.day)}.${p2(t.month)}.${t.year} ${time}`;
    case 2:
      return `${date}T${time}`;
    case 3:
      return `${t.year}/${p2(t.month)}/${p2(t.day)} ${time}:${p2(t.second)}`;
    default:
      return `${t.year}${p2(t.month)}${p2(t.day)} ${time}`;
  }
}

/** PostgreSQL text for a TIMESTAMP column (a real, typed ERP column: always well formed). */
export const timestampText = (t: CivilDateTime): string =>
  `${t.year}-${p2(t.month)}-${p2(t.day)} ${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** A valid calendar date in [fromYear, toYear]. */
export function randomDate(random: Random, fromYear: number, toYear: number): CivilDate {
  const year = random.int(fromYear, toYear);
  const month = random.int(1, 12);
  return { year, month, day: random.int(1, daysIn(year, month)) };
}

/**
 * Wall-clock times on the two 2025 DST switch nights in Berlin: 02:30 on
 * 30 March does not exist, 02:30 on 26 October happens twice. SyncFlow reads
 * them by a fixed rule (zoned-time.ts); they are valid rows, not defects.
 */
const DST_EDGES: CivilDateTime[] = [
  { year: 2025, month: 3, day: 30, hour: 2, minute: 30, second: 0 },
  { year: 2025, month: 10, day: 26, hour: 2, minute: 30, second: 0 },
];

export function randomDateTime(random: Random, fromYear: number, toYear: number): CivilDateTime {
  if (random.chance(0.01)) return { ...random.pick(DST_EDGES) };
  return {
    ...randomDate(random, fromYear, toYear),
    hour: random.int(5, 22),
    minute: random.pick([0, 15, 30, 45]),
    second: random.chance(0.8) ? 0 : random.int(1, 59),
  };
}
