import { fc } from '@fast-check/vitest';
import type { EntityConfigInput } from '../../../pipeline/entity-config.js';
import { plainDecimalOf } from '../../../pipeline/normalize/decimal.js';

/**
 * Generators for the pipeline's property tests. A row is generated in two steps: a *logical* row (what the
 * record means: clean texts, exact decimals, calendar dates, instants, bytes...) and then one *spelling* of it
 * in the way sources write such values (padding, control characters, decomposed accents, case, grouping,
 * currency, accounting parentheses, exponents, every accepted date format in the entity's date order and
 * decimal separator, naive times in the entity's zone, offsets, Date objects, byte arrays, shuffled keys).
 * Every spelling is valid by construction for the declared type (docs/pipeline.md, pipeline/normalize/*), and
 * two spellings of one logical row must normalize to the same values. Invalid values come from
 * {@link invalidValueArb} and {@link invalidNormalizedArb}, each with the error code it must produce.
 */

export interface EntityOptions {
  sourceTimeZone: string;
  dateOrder: 'DMY' | 'MDY';
  decimalSeparator: '.' | ',';
}

// Source name = target name, so a normalized row can be fed back in as a source row.
export const fields: EntityConfigInput['fields'] = [
  { source: 'k', target: 'k' },
  { source: 's', target: 's' },
  { source: 'up', target: 'up', transformation: 'uppercase' },
  { source: 'title', target: 'title', transformation: 'title_case' },
  { source: 'special', target: 'special', transformation: 'remove_special_chars' },
  { source: 'strip', target: 'strip', transformation: 'strip_whitespace' },
  { source: 'cap', target: 'cap', transformation: 'capitalize' },
  {
    source: 'mapped',
    target: 'mapped',
    transformation: 'lowercase',
    valueMap: { values: { Book: 'book', BOOKS: 'book', DVDs: 'dvd' }, caseInsensitive: true, unmapped: 'reject' },
  },
  { source: 'i', target: 'i', type: 'integer' },
  { source: 'n', target: 'n', type: 'NUMBER', range: { min: -1e12, max: 1e12 } },
  { source: 'd', target: 'd', type: 'DATE' },
  { source: 't', target: 't', type: 'TIMESTAMP' },
  { source: 'b', target: 'b', type: 'boolean' },
  { source: 'x', target: 'x', type: 'RAW' },
  { source: 'j', target: 'j', type: 'jsonb' },
  { source: 'ls', target: 'ls', list: true },
  { source: 'ln', target: 'ln', type: 'NUMBER', list: true },
];
export const businessKey = ['k', 's'];
export const fieldNames = fields.map((f) => f.target);
export const nonKeyFields = fieldNames.filter((f) => !businessKey.includes(f));

export const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu'];
export const optionsArb: fc.Arbitrary<EntityOptions> = fc.record({
  sourceTimeZone: fc.constantFrom(...zones),
  dateOrder: fc.constantFrom('DMY' as const, 'MDY' as const),
  decimalSeparator: fc.constantFrom('.' as const, ',' as const),
});

/** A spelled value and the name of the spelling, for coverage statistics. */
export type Spelled = [value: unknown, label: string];
const spelled = (value: unknown, label: string): Spelled => [value, label];

// ---------------------------------------------------------------------------------------------------------------
// Logical values
// ---------------------------------------------------------------------------------------------------------------

/**
 * Characters of clean text: ASCII, precomposed accents, letters whose case mapping changes length (ß, ǰ, ΐ, ﬁ,
 * İ), currency, and the canonical form's `\ | =`.
 */
const wordChar = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split(''),
  'é',
  'ü',
  'Ø',
  'ß',
  'ǰ',
  'ΐ',
  'ﬁ',
  'İ',
  '€',
  "'",
  '|',
  '=',
  '\\',
  '-',
  '.',
  ',',
  '(',
);
const word = fc.array(wordChar, { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));
/** Clean text: a fixed point of layer 2 (NFC, single spaces, no edges, no controls), never empty. */
export const cleanTextArb = fc.array(word, { minLength: 1, maxLength: 4 }).map((words) => words.join(' '));

export type LogicalDate = { kind: 'calendar'; year: number; month: number; day: number } | Instant;
export type LogicalTimestamp =
  | {
      kind: 'wallClock';
      year: number;
      month: number;
      day: number;
      hour: number;
      minute: number;
      second: number;
      ms: number;
    }
  | Instant;
export type Instant = { kind: 'instant'; ms: number };

export interface LogicalRow {
  k: string;
  s: string;
  up: string | null;
  title: string | null;
  special: string | null;
  strip: string | null;
  cap: string | null;
  mapped: 'book' | 'dvd' | null;
  /** Canonical integer text (any length). */
  i: bigint | null;
  /** Canonical decimal text, |n| < 1e12. */
  n: string | null;
  d: LogicalDate | null;
  t: LogicalTimestamp | null;
  b: boolean | null;
  x: Uint8Array | null;
  j: unknown;
  ls: string[] | null;
  ln: string[] | null;
}

const isLeap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysIn = (year: number, month: number) =>
  month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

const yearArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1900, max: 2100 }) },
  fc.integer({ min: 2, max: 9998 }),
);
const calendarArb = fc
  .record({ year: yearArb, month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 31 }) })
  .map(({ year, month, day }) => ({ kind: 'calendar' as const, year, month, day: Math.min(day, daysIn(year, month)) }));
const instantArb = fc
  .integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) })
  .map((ms) => ({ kind: 'instant' as const, ms }));
/** Wall-clock times, including each zone's DST gaps and overlaps (valid too: docs/pipeline.md, layer 4). */
const dstWallClocks: [number, number, number, number, number][] = [
  [2025, 3, 9, 2, 30], // New York gap
  [2025, 11, 2, 1, 30], // New York overlap
  [2025, 3, 30, 2, 30], // Berlin gap
  [2025, 10, 26, 2, 30], // Berlin overlap
  [2025, 10, 5, 2, 15], // Lord Howe half-hour gap
  [2025, 4, 6, 1, 45], // Lord Howe half-hour overlap
];
const wallClockArb = fc
  .oneof(
    { weight: 4, arbitrary: fc.tuple(calendarArb, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })) },
    fc
      .constantFrom(...dstWallClocks)
      .map(([year, month, day, hour, minute]): [{ year: number; month: number; day: number }, number, number] => [
        { year, month, day },
        hour,
        minute,
      ]),
  )
  .chain(([date, hour, minute]) =>
    fc
      .record({
        second: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 59 })),
        ms: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999 })),
      })
      .map(({ second, ms }) => ({
        kind: 'wallClock' as const,
        year: date.year,
        month: date.month,
        day: date.day,
        hour,
        minute,
        second,
        ms,
      })),
  );

/** Canonical decimal text: no exponent, no leading zeros, no trailing fractional zeros, never `-0`. */
const decimalArb = (maxIntDigits: number, maxFracDigits: number) =>
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc.constant(''),
        fc.stringMatching(new RegExp(`^[1-9][0-9]{0,${maxIntDigits - 1}}$`)),
        fc.stringMatching(/^[1-9][0-9]{0,2}$/),
      ),
      fc.oneof(fc.constant(''), fc.stringMatching(new RegExp(`^[0-9]{0,${maxFracDigits - 1}}[1-9]$`))),
    )
    .map(([negative, int, frac]) => {
      const body = `${int || '0'}${frac ? `.${frac}` : ''}`;
      return negative && body !== '0' ? `-${body}` : body;
    });
const integerArb = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: -100_000n, max: 100_000n }) },
  fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }),
);

const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.option(arb, { nil: null, freq: 8 }) as fc.Arbitrary<T | null>;

const jsonArb = fc.jsonValue({ maxDepth: 2 }).filter((v) => v !== null);

export const logicalValueArbs = {
  k: cleanTextArb,
  s: cleanTextArb,
  up: nullable(cleanTextArb),
  title: nullable(cleanTextArb),
  special: nullable(cleanTextArb),
  strip: nullable(cleanTextArb),
  cap: nullable(cleanTextArb),
  mapped: nullable(fc.constantFrom('book' as const, 'dvd' as const)),
  i: nullable(integerArb),
  n: nullable(decimalArb(12, 6)),
  d: nullable(fc.oneof({ weight: 3, arbitrary: calendarArb }, instantArb)),
  t: nullable(fc.oneof({ weight: 2, arbitrary: wallClockArb }, instantArb)),
  b: nullable(fc.boolean()),
  x: nullable(fc.uint8Array({ minLength: 1, maxLength: 8 })),
  j: nullable(jsonArb),
  ls: nullable(fc.uniqueArray(cleanTextArb, { minLength: 1, maxLength: 4 })),
  ln: nullable(fc.uniqueArray(decimalArb(12, 4), { minLength: 1, maxLength: 4 })),
} satisfies Record<keyof LogicalRow, fc.Arbitrary<unknown>>;

export const logicalRowArb: fc.Arbitrary<LogicalRow> = fc.record(logicalValueArbs) as fc.Arbitrary<LogicalRow>;

// ---------------------------------------------------------------------------------------------------------------
// Spellings
// ---------------------------------------------------------------------------------------------------------------

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
/** Edge padding that layer 2 removes (whitespace of every kind, controls, line breaks). */
const edgePadding = fc
  .array(pick([' ', '\t', '\u00a0', '\u3000', '\r\n', '\n', '\r', '\u0000', '\u0085', '\u007f']), { maxLength: 3 })
  .map((p) => p.join(''));
/** What a single space inside text may have been written as. */
const spaceRun = pick([' ', ' ', '  ', '\t', '\u00a0', ' \u0000 ', '\u2003', ' \t ']);
const decomposed: Record<string, string> = { é: 'e\u0301', ü: 'u\u0308' };

type TextNoise = { caseFold?: boolean; anyWhitespace?: boolean; specials?: boolean };

/** A spelling of clean text that normalizes back to it (after the field's transformation, see noise). */
function spellText(text: string, noise: TextNoise = {}): fc.Arbitrary<Spelled> {
  const chars = [...text];
  return fc
    .record({
      before: edgePadding,
      after: edgePadding,
      perChar: fc.array(
        fc.record({
          decompose: fc.boolean(),
          flipCase: fc.boolean(),
          space: spaceRun,
          insert: fc.option(
            pick([
              '\u0000',
              '\u0007',
              '\u009f',
              ...(noise.anyWhitespace ? [' ', '\t', '\n', '\u00a0'] : []),
              ...(noise.specials ? ['-', '!', '#', '€', '|', '=', '.', '*'] : []),
            ]),
            { freq: 4 },
          ),
        }),
        { minLength: chars.length, maxLength: chars.length },
      ),
    })
    .map(({ before, after, perChar }) => {
      let out = before;
      chars.forEach((c, index) => {
        const how = perChar[index]!;
        let piece = c;
        if (c === ' ') piece = how.space;
        else if (how.decompose && decomposed[c]) piece = decomposed[c]!;
        else if (noise.caseFold && how.flipCase && /[A-Za-z]/.test(c)) {
          piece = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
        }
        out += piece + (how.insert ?? '');
      });
      return spelled(out + after, 'text');
    });
}

const asciiCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flips) => [...text].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const padded = (arb: fc.Arbitrary<string>, label: string) =>
  fc
    .tuple(pick(['', ' ', '\t', '  ']), arb, pick(['', ' ', '\t', '\u00a0']))
    .map(([a, v, b]) => spelled(a + v + b, label));

function spellMapped(value: 'book' | 'dvd'): fc.Arbitrary<Spelled> {
  const spellings = value === 'book' ? ['Book', 'BOOKS', 'book', 'books'] : ['DVDs', 'dvd'];
  // Keys match case-insensitively after the lowercase transformation; canonical values map to themselves.
  return pick(spellings).chain((s) => padded(asciiCase(s), `mapped:${s.toLowerCase()}`));
}

const currency = pick(['€', '$', '£', '¥', '€ ']);
const groupCharsFor = { '.': [',', "'"], ',': ['.', "'"] } as const;

function groupDigits(int: string, separator: string): string {
  let out = '';
  for (let i = 0; i < int.length; i++) {
    if (i > 0 && (int.length - i) % 3 === 0) out += separator;
    out += int[i];
  }
  return out;
}

/**
 * Spellings of canonical decimal text in an entity with the given decimal separator: a JS number or bigint
 * where exact, and text with grouping, a `+`, accounting parentheses, currency, spaces, leading zeros,
 * trailing fractional zeros or an exponent.
 */
function spellDecimal(canonical: string, separator: '.' | ',', integer: boolean): fc.Arbitrary<Spelled> {
  const negative = canonical.startsWith('-');
  const body = negative ? canonical.slice(1) : canonical;
  const [int = '0', frac = ''] = body.split('.');
  const options: fc.Arbitrary<Spelled>[] = [];
  if (plainDecimalOf(Number(canonical)) === canonical)
    options.push(fc.constant(spelled(Number(canonical), 'number:js')));
  if (integer) options.push(fc.constant(spelled(BigInt(canonical), 'number:bigint')));
  options.push(
    fc
      .record({
        grouping: fc.option(pick(groupCharsFor[separator]), { freq: 2 }),
        sign: fc.constantFrom('plain', 'accounting', 'plus'),
        money: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, fc.tuple(currency, fc.boolean())),
        leadingZeros: fc.constantFrom('', '', '0', '00'),
        trailingZeros: fc.constantFrom('', '', '0', '000'),
        exponent: fc.oneof(
          { weight: 3, arbitrary: fc.constant(null) },
          fc.tuple(fc.nat(), pick(['e', 'E']), fc.boolean(), fc.nat({ max: 3 })),
        ),
      })
      .map(({ grouping, sign, money, leadingZeros, trailingZeros, exponent }) => {
        let text: string;
        let label: string;
        if (exponent) {
          // Move the point p places from the left of all digits, append zeros, compensate in the exponent.
          const [at, e, plus, extraZeros] = exponent;
          const digits = int + frac + '0'.repeat(extraZeros);
          const p = at % (digits.length + 1);
          const mantissa = p === 0 ? `0${separator}${digits}` : `${digits.slice(0, p)}${separator}${digits.slice(p)}`;
          const shift = int.length - p;
          text = `${mantissa}${e}${shift >= 0 && plus ? '+' : ''}${shift}`;
          label = 'number:exponent';
        } else {
          const intText = grouping && !leadingZeros ? groupDigits(int, grouping) : leadingZeros + int;
          const fracText = frac + trailingZeros;
          text = fracText ? `${intText}${separator}${fracText}` : intText;
          label = grouping && !leadingZeros ? `number:grouped${grouping}` : 'number:text';
        }
        if (money) text = money[1] ? money[0] + text : `${text} ${money[0].trim()}`;
        if (money) label += '+currency';
        if (negative && sign === 'accounting') text = `(${text})`;
        else if (negative) text = `-${text}`;
        else if (sign === 'plus') text = `+${text}`;
        return spelled(text, label);
      }),
  );
  return fc.oneof(...options);
}

const p2 = (n: number) => String(n).padStart(2, '0');
const p4 = (n: number) => String(n).padStart(4, '0');
const maybeShort = (n: number, short: boolean) => (short ? String(n) : p2(n));

/** Every accepted spelling of a calendar date, in the entity's date order. */
function spellCalendar(
  year: number,
  month: number,
  day: number,
  order: 'DMY' | 'MDY',
  allowInteger: boolean,
): fc.Arbitrary<Spelled> {
  const forms: fc.Arbitrary<Spelled>[] = [
    fc
      .tuple(pick(['-', '/', '.']), fc.boolean())
      .map(([sep, short]) =>
        spelled(`${p4(year)}${sep}${maybeShort(month, short)}${sep}${maybeShort(day, short)}`, `date:YMD${sep}`),
      ),
    fc.constant(spelled(`${p4(year)}${p2(month)}${p2(day)}`, 'date:YYYYMMDD')),
    fc
      .boolean()
      .map((short) => spelled(`${maybeShort(day, short)}.${maybeShort(month, short)}.${p4(year)}`, 'date:DD.MM.YYYY')),
    fc.tuple(pick(['-', '/']), fc.boolean()).map(([sep, short]) => {
      const [a, b] = order === 'DMY' ? [day, month] : [month, day];
      return spelled(`${maybeShort(a, short)}${sep}${maybeShort(b, short)}${sep}${p4(year)}`, `date:${order}${sep}`);
    }),
  ];
  if (allowInteger && year >= 1000) forms.push(fc.constant(spelled(year * 10000 + month * 100 + day, 'date:integer')));
  return fc.oneof(...forms);
}

/** `HH:mm`, `HH:mm:ss`, `HH:mm:ss.fff…` (comma too), as far as the parts allow. */
function spellTime(hour: number, minute: number, second: number, ms: number): fc.Arbitrary<string> {
  const forms: fc.Arbitrary<string>[] = [
    fc.constant(`${p2(hour)}:${p2(minute)}:${p2(second)}.${String(ms).padStart(3, '0')}`),
  ];
  forms.push(
    fc
      .tuple(pick(['.', ',']), pick(['', '000', '999']))
      .map(([sep, extra]) => `${p2(hour)}:${p2(minute)}:${p2(second)}${sep}${String(ms).padStart(3, '0')}${extra}`),
  );
  if (ms === 0) forms.push(fc.constant(`${hour}:${p2(minute)}:${p2(second)}`));
  if (ms === 0 && second === 0) forms.push(fc.constant(`${p2(hour)}:${p2(minute)}`));
  return fc.oneof(...forms);
}
const timeSeparator = pick(['T', ' ', '  ', 't']);

const offsets = [0, 60, -300, 330, 345, -210, 840, -720, 525];
/** An instant written as text with an offset (or Z), or as a Date object. */
function spellInstant(ms: number): fc.Arbitrary<Spelled> {
  return fc.oneof(
    fc.constant(spelled(new Date(ms), 'instant:Date')),
    fc.constant(spelled(new Date(ms).toISOString(), 'instant:ISO-Z')),
    fc.tuple(pick(offsets), pick(['colon', 'compact', 'hours']), timeSeparator).map(([offset, style, sep]) => {
      const local = new Date(ms + offset * 60_000);
      const date = `${p4(local.getUTCFullYear())}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}`;
      const time = `${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:${p2(local.getUTCSeconds())}.${String(local.getUTCMilliseconds()).padStart(3, '0')}`;
      const abs = Math.abs(offset);
      const sign = offset < 0 ? '-' : '+';
      let zone: string;
      if (offset === 0 && style !== 'compact') zone = style === 'colon' ? 'Z' : ' z';
      else if (style === 'hours' && abs % 60 === 0) zone = `${sign}${p2(abs / 60)}`;
      else if (style === 'compact') zone = `${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
      else zone = `${sign}${p2(Math.floor(abs / 60))}:${p2(abs % 60)}`;
      return spelled(`${date}${sep}${time}${zone}`, 'instant:offset');
    }),
  );
}

function spellDate(value: LogicalDate, options: EntityOptions): fc.Arbitrary<Spelled> {
  if (value.kind === 'instant') return spellInstant(value.ms);
  const date = spellCalendar(value.year, value.month, value.day, options.dateOrder, true);
  return fc.oneof(
    { weight: 3, arbitrary: date },
    // A time of day (Oracle DATE always has one) is dropped from a naive date.
    spellCalendar(value.year, value.month, value.day, options.dateOrder, false).chain(([text]) =>
      fc
        .tuple(timeSeparator, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([sep, h, m]) => spelled(`${text}${sep}${p2(h)}:${p2(m)}`, 'date:with-time')),
    ),
  );
}

function spellTimestamp(value: LogicalTimestamp, options: EntityOptions): fc.Arbitrary<Spelled> {
  if (value.kind === 'instant') return spellInstant(value.ms);
  const { year, month, day, hour, minute, second, ms } = value;
  const midnight = hour === 0 && minute === 0 && second === 0 && ms === 0;
  const withTime = fc
    .tuple(
      spellCalendar(year, month, day, options.dateOrder, false),
      timeSeparator,
      spellTime(hour, minute, second, ms),
    )
    .map(([[date], sep, time]) => spelled(`${date}${sep}${time}`, 'timestamp:naive'));
  return midnight
    ? fc.oneof(
        withTime,
        spellCalendar(year, month, day, options.dateOrder, true).map(([v]) => spelled(v, 'timestamp:date-only')),
      )
    : withTime;
}

function spellBoolean(value: boolean): fc.Arbitrary<Spelled> {
  const words = value ? ['y', 'yes', 't', 'true', '1'] : ['n', 'no', 'f', 'false', '0'];
  return fc.oneof(
    fc.constant(spelled(value, 'boolean:boolean')),
    fc.constant(spelled(value ? 1 : 0, 'boolean:number')),
    pick(words).chain((w) => padded(asciiCase(w), 'boolean:word')),
  );
}

function spellBinary(bytes: Uint8Array): fc.Arbitrary<Spelled> {
  const hex = Buffer.from(bytes).toString('hex');
  return fc.oneof(
    fc.constant(spelled(new Uint8Array(bytes), 'binary:bytes')),
    fc.constant(spelled(Buffer.from(bytes), 'binary:Buffer')),
    fc
      .tuple(pick(['', '0x', '\\x']), asciiCase(hex))
      .chain(([prefix, h]) => padded(fc.constant(prefix + h), 'binary:hex')),
  );
}

/** Deep copy with object keys in another order. */
function reorderKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reorderKeys(v, seed + i));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!).reverse();
    return Object.fromEntries(rotated.map(([k, v]) => [k, reorderKeys(v, seed + 1)]));
  }
  return value;
}

function spellJson(value: unknown): fc.Arbitrary<Spelled> {
  const asText = fc
    .tuple(fc.nat(), pick([undefined, 0, 2, '\t']))
    .chain(([seed, indent]) =>
      padded(fc.constant(JSON.stringify(reorderKeys(value, seed), null, indent)), 'json:text'),
    );
  // A JSON string document must be written as JSON text: a bare string is parsed as JSON.
  if (typeof value === 'string') return asText;
  return fc.oneof(
    asText,
    fc.nat().map((seed) => spelled(reorderKeys(value, seed), 'json:document')),
  );
}

/** A list: items spelled, nulls and empty items sprinkled in, later duplicates appended; one item may be bare. */
function spellList(
  items: string[],
  spellItem: (item: string) => fc.Arbitrary<Spelled>,
  label: string,
): fc.Arbitrary<Spelled> {
  return fc
    .tuple(
      fc.tuple(...items.map(spellItem)),
      fc.array(fc.tuple(fc.nat(), pick([null, '', '  ', undefined])), { maxLength: 2 }),
      fc
        .array(fc.nat({ max: items.length - 1 }), { maxLength: 2 })
        .chain((dups) => fc.tuple(...dups.map((d) => spellItem(items[d]!)))),
      fc.boolean(),
    )
    .map(([spelledItems, holes, duplicates, bare]) => {
      if (items.length === 1 && bare && holes.length === 0 && duplicates.length === 0) {
        return spelled(spelledItems[0]![0], `${label}:bare`);
      }
      const list: unknown[] = spelledItems.map(([v]) => v);
      for (const [at, hole] of holes) list.splice(at % (list.length + 1), 0, hole);
      list.push(...duplicates.map(([v]) => v));
      return spelled(list, `${label}:list`);
    });
}

/** Spellings of "nothing": the field missing, null, undefined, empty or blank (non-key fields only). */
const MISSING = Symbol('missing');
const nullSpelling = (list: boolean) =>
  fc.constantFrom<Spelled>(
    [MISSING, 'null:missing'],
    [null, 'null:null'],
    [undefined, 'null:undefined'],
    ['', 'null:empty'],
    [' \t ', 'null:blank'],
    ...(list
      ? ([
          [[], 'null:empty-list'],
          [[null, '', undefined], 'null:empty-items'],
        ] as Spelled[])
      : []),
  );

type FieldName = keyof LogicalRow;
function spellField(field: FieldName, value: unknown, options: EntityOptions): fc.Arbitrary<Spelled> {
  if (value === null) return nullSpelling(field === 'ls' || field === 'ln');
  const v = value as never;
  switch (field) {
    case 'k':
    case 's':
      return spellText(v);
    case 'up':
    case 'title':
    case 'cap':
      return spellText(v, { caseFold: true });
    case 'strip':
      return spellText(v, { anyWhitespace: true });
    case 'special':
      return spellText(v, { specials: true });
    case 'mapped':
      return spellMapped(v);
    case 'i':
      return spellDecimal(String(v), options.decimalSeparator, true);
    case 'n':
      return spellDecimal(v, options.decimalSeparator, false);
    case 'd':
      return spellDate(v, options);
    case 't':
      return spellTimestamp(v, options);
    case 'b':
      return spellBoolean(v);
    case 'x':
      return spellBinary(v);
    case 'j':
      return spellJson(v);
    case 'ls':
      return spellList(v, (item) => spellText(item), 'ls');
    case 'ln':
      return spellList(v, (item) => spellDecimal(item, options.decimalSeparator, false), 'ln');
  }
}

export interface SpelledRow {
  row: Record<string, unknown>;
  labels: string[];
}

/** One spelling of a logical row, keys in a random order, missing fields left out. */
export function spellRow(logical: LogicalRow, options: EntityOptions): fc.Arbitrary<SpelledRow> {
  const names = Object.keys(logical) as FieldName[];
  return fc
    .tuple(
      fc.tuple(...names.map((name) => spellField(name, logical[name], options))),
      fc.shuffledSubarray(names, { minLength: names.length }),
    )
    .map(([values, order]) => {
      const byName = new Map(names.map((name, i) => [name, values[i]!] as const));
      const row: Record<string, unknown> = {};
      const labels: string[] = [];
      for (const name of order) {
        const [value, label] = byName.get(name)!;
        labels.push(`${name}:${label}`);
        if (value !== MISSING) row[name] = value;
      }
      return { row, labels };
    });
}

/** Options, a logical row and one spelling of it. */
export const spelledRowArb = optionsArb.chain((options) =>
  logicalRowArb.chain((logical) => spellRow(logical, options).map((spelling) => ({ options, logical, ...spelling }))),
);

// ---------------------------------------------------------------------------------------------------------------
// What the normalizer must produce, where it is independent of the time zone
// ---------------------------------------------------------------------------------------------------------------

/** docs/pipeline.md, layer 3: a JS number when the double reads back as the same decimal, the text otherwise. */
const exactOrNumber = (canonical: string): number | string =>
  plainDecimalOf(Number(canonical)) === canonical ? Number(canonical) : canonical;

/** The normalized value of a field, or `undefined` where it depends on the zone or a transformation. */
export function expectedValue(field: FieldName, logical: LogicalRow): unknown {
  const value = logical[field];
  if (value === null) return null;
  switch (field) {
    case 'k':
    case 's':
    case 'mapped':
      return value;
    case 'i':
      return exactOrNumber(String(value));
    case 'n':
      return exactOrNumber(value as string);
    case 'ln':
      return (value as string[]).map(exactOrNumber);
    case 'ls':
      return value;
    case 'd': {
      const d = value as LogicalDate;
      return d.kind === 'calendar' ? `${p4(d.year)}-${p2(d.month)}-${p2(d.day)}` : undefined;
    }
    case 't': {
      const t = value as LogicalTimestamp;
      return t.kind === 'instant' ? new Date(t.ms).toISOString() : undefined;
    }
    case 'b':
      return value;
    case 'x':
      return Buffer.from(value as Uint8Array).toString('hex');
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Invalid on purpose
// ---------------------------------------------------------------------------------------------------------------

export interface InvalidCase {
  field: string;
  value: unknown;
  code: string;
  label: string;
}
const bad =
  (field: string, code: string, label: string) =>
  (value: unknown): InvalidCase => ({ field, value, code, label });

/** A raw value that must fail NORMALIZE on its field with the given code (whatever else the row holds). */
export function invalidValueArb(options: EntityOptions): fc.Arbitrary<InvalidCase> {
  const sep = options.decimalSeparator;
  const other = sep === '.' ? ',' : '.';
  const digits = fc.integer({ min: 1, max: 999_999 });
  const year = fc.integer({ min: 1000, max: 9999 });
  const nonLeapYear = year.filter((y) => !isLeap(y));
  const swapped =
    // Day > 12 first under MDY, or second under DMY: the month is out of range, never silently swapped.
    fc
      .tuple(fc.integer({ min: 13, max: 31 }), fc.integer({ min: 1, max: 12 }), year, pick(['-', '/']))
      .map(([day, month, y, s]) =>
        options.dateOrder === 'MDY' ? `${day}${s}${p2(month)}${s}${y}` : `${p2(month)}${s}${day}${s}${y}`,
      );
  const impossibleDates = fc.oneof(
    year.map((y) => `${y}-02-30`),
    nonLeapYear.map((y) => `${y}-02-29`),
    fc.tuple(year, fc.integer({ min: 13, max: 99 })).map(([y, m]) => `${y}-${m}-01`),
    fc.tuple(year, pick([4, 6, 9, 11])).map(([y, m]) => `${p2(31)}.${p2(m)}.${y}`),
    fc.constant('0000-01-01'),
    swapped,
  );
  const impossibleTimes = fc
    .tuple(year, pick(['24:00', '10:60', '23:59:60', '25:10']))
    .map(([y, time]) => `${y}-06-15 ${time}`);
  const notDates = pick([
    'yesterday',
    '2025-1',
    '2025-06-15X',
    '15/06/25',
    '2025-06-15 10',
    '2025-06-15T10:00:00+5',
    '1.2',
  ]);
  const temporal = (field: 'd' | 't') =>
    fc.oneof(
      impossibleDates.map(bad(field, 'impossible_date', 'impossible-date')),
      impossibleTimes.map(bad(field, 'impossible_time', 'impossible-time')),
      notDates.map(bad(field, 'invalid_date', 'not-a-date')),
      fc.constant(new Date(Number.NaN)).map(bad(field, 'invalid_date', 'invalid-Date')),
      pick(['2025-06-15T10:00+19:00', '2025-06-15T10:00-20']).map(bad(field, 'invalid_offset', 'bad-offset')),
      pick([2.5, 123, true, 123456789]).map(bad(field, 'invalid_type', 'wrong-type')),
    );
  return fc.oneof(
    pick([null, '', '   ', '\u0000\t', '\r\n']).chain((v) =>
      pick(['k', 's']).map((f) => bad(f, 'required', 'key-missing')(v)),
    ),
    fc
      .tuple(digits, fc.integer({ min: 1, max: 99 }))
      .map(([a, b]) => bad('i', 'not_integer', 'fraction')(`${a}${sep}${p2(b).replace(/0$/, '5')}`)),
    fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(bad('i', 'not_integer', 'fraction-js')),
    fc
      .tuple(digits, fc.integer({ min: 1, max: 99 }))
      .map(([a, b]) => bad('n', 'invalid_number', 'wrong-separator')(`${a}${other}${b}`)),
    pick(['--5', '+-5', '(-5)', '12a', 'abc', '1 2,3.4', '1e', 'e5', '(5', '5)']).map(
      bad('i', 'invalid_number', 'not-a-number'),
    ),
    pick(['1e1001', '-1e-1001']).map(bad('n', 'out_of_range', 'exponent')),
    fc
      .tuple(fc.integer({ min: 2, max: 9 }), fc.boolean())
      .map(([m, neg]) => bad('n', 'out_of_range', 'range')(`${neg ? '-' : ''}${m}e12`)),
    pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]).map(bad('n', 'not_finite', 'not-finite')),
    pick([true, {}, new Date(0)]).map(bad('i', 'invalid_type', 'wrong-type')),
    temporal('d'),
    temporal('t'),
    pick(['maybe', 'yess', 'ja', '2', 'on', 'nope']).map(bad('b', 'invalid_boolean', 'word')),
    pick([2, -1, 0.5]).map(bad('b', 'invalid_boolean', 'number')),
    pick([{}, [true], new Date(0)]).map(bad('b', 'invalid_type', 'wrong-type')),
    pick(['abc', '0X12', 'zz', '0x1', '12 34', '\\x0g']).map(bad('x', 'invalid_binary', 'hex')),
    pick([12, true, {}]).map(bad('x', 'invalid_type', 'wrong-type')),
    pick(['{a:1}', '[1,', "{'a':1}", 'undefined', 'NaN', '{"a":1}}']).map(bad('j', 'invalid_json', 'text')),
    fc
      .stringMatching(/^[a-z]{1,8}$/)
      .filter((w) => !['book', 'books', 'dvd', 'dvds'].includes(w))
      .map(bad('mapped', 'unmapped_value', 'unmapped')),
    fc
      .tuple(decimalArb(6, 2), pick(['x', '--1', '1e']))
      .map(([ok, wrong]) => bad('ln', 'invalid_number', 'list-item')([ok.replace('.', sep), wrong])),
  );
}

/** A normalized value that VALIDATE must refuse on its field with the given code (data that skipped NORMALIZE). */
export const invalidNormalizedArb: fc.Arbitrary<InvalidCase> = fc.oneof(
  pick(['k', 's']).map((f) => bad(f, 'required', 'key-null')(null)),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(bad('i', 'invalid_type', 'fraction')),
  pick(['1.0', '01', '-0x1', '1e3', '+1']).map(bad('i', 'invalid_type', 'text')),
  pick([Number.NaN, Number.POSITIVE_INFINITY, '1.50', '1e3', '.5', '+1']).map(bad('n', 'invalid_type', 'shape')),
  fc.double({ min: 1.000001e12, max: 1e300, noNaN: true }).map(bad('n', 'out_of_range', 'range')),
  pick(['2025-1-05', '05.01.2025', '2025-01-05T00:00:00.000Z', 20250105]).map(bad('d', 'invalid_type', 'shape')),
  pick(['2025-01-05T00:00:00Z', '2025-01-05', '2025-01-05T00:00:00.000+01:00', Date.UTC(2025, 0, 5)]).map(
    bad('t', 'invalid_type', 'shape'),
  ),
  pick(['Y', 1, 'true', 0]).map(bad('b', 'invalid_type', 'shape')),
  pick(['ABCD', 'abc', '0x00', 12]).map(bad('x', 'invalid_type', 'shape')),
  pick([5, {}, true]).map(bad('j', 'invalid_type', 'shape')),
  pick([[], ['a', null], 'a', [1]]).map(bad('ls', 'invalid_type', 'shape')),
);
