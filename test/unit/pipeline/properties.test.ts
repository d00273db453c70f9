import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { EntityConfigInput } from '../../../pipeline/entity-config.js';
import { createIdentityComputer } from '../../../pipeline/identity/identity.js';
import { createNormalizer } from '../../../pipeline/normalize/engine.js';
import { createRowValidator } from '../../../pipeline/validate/validator.js';
import { entity } from './entity.js';

// Source name = target name, so a normalized row can be fed back in as a source row.
const fields: EntityConfigInput['fields'] = [
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
    valueMap: { values: { Book: 'book', BOOKS: 'book' }, caseInsensitive: true, unmapped: 'reject' },
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

const messyText = fc
  .array(
    fc.constantFrom(
      ' ',
      '\t',
      '\r\n',
      '\r',
      '\u0000',
      '\u0085',
      '\u00a0',
      'e\u0301',
      'é',
      'ß',
      'a',
      'Z',
      '1',
      ',',
      '.',
      '-',
      '(',
      ')',
      '€',
      '|',
      '=',
      '\\',
      'Book',
      "'",
      'ǰ',
      'ΐ',
      'ﬁ',
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));
const numberText = fc
  .tuple(
    fc.constantFrom('', '-', '(', '€ ', '--'),
    fc.integer({ min: 0, max: 1e9 }),
    fc.constantFrom('', '.5', ',25', 'e-3', 'E2', '.000'),
    fc.constantFrom('', ')'),
  )
  .map((parts) => parts.join(''));
const dateText = fc
  .tuple(
    fc.integer({ min: 1, max: 31 }),
    fc.integer({ min: 1, max: 13 }),
    fc.integer({ min: 1899, max: 2100 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 59 }),
  )
  .chain(([d, m, y, h, mi]) => {
    const p = (n: number) => String(n).padStart(2, '0');
    return fc.constantFrom(
      `${y}-${p(m)}-${p(d)}`,
      `${p(d)}.${p(m)}.${y}`,
      `${p(d)}-${p(m)}-${y}`,
      `${y}${p(m)}${p(d)}`,
      `${y}-${p(m)}-${p(d)} ${p(h)}:${p(mi)}`,
      `${y}-${p(m)}-${p(d)}T${p(h)}:${p(mi)}:07+05:30`,
      `${y}-03-30 02:${p(mi)}`,
      `${y}-10-26 02:${p(mi)}`,
    );
  });
const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  messyText,
  numberText,
  dateText,
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date(),
  fc.constantFrom('Y', 'n', 'TRUE', '0', '0xAbCd', '{"b":1,"a":[2]}', 'BOOKS', 'book'),
  fc.array(fc.oneof(messyText, numberText, fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
  fc.uint8Array({ maxLength: 4 }),
);
const rowArb = fc.record(Object.fromEntries(fields.map((f) => [f.source, anyValue])), { requiredKeys: [] });

const zones = fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu');
const configArb = fc.record({
  sourceTimeZone: zones,
  dateOrder: fc.constantFrom('DMY' as const, 'MDY' as const),
  decimalSeparator: fc.constantFrom('.' as const, ',' as const),
});

describe('normalization properties', () => {
  test.prop([configArb, fc.array(rowArb, { maxLength: 5 })], { numRuns: 200 })(
    'never throws, accounts for every row, and is idempotent',
    (options, rows) => {
      const normalizer = createNormalizer(entity({ ...options, businessKey: ['k'], fields }));
      const first = normalizer.normalizeRows(rows);
      expect(first.valid.length + first.failed.length).toBe(rows.length);
      expect(first.metrics.rows).toBe(rows.length);
      const again = normalizer.normalizeRows(first.valid.map((r) => r.values));
      expect(again.failed).toEqual([]);
      expect(again.valid.map((r) => r.values)).toEqual(first.valid.map((r) => r.values));
      // Track-stages mode agrees with the fast path.
      const traced = normalizer.normalizeRows(rows, { trackStages: true });
      expect(traced.valid).toEqual(first.valid);
    },
  );

  test.prop([configArb, fc.array(rowArb, { maxLength: 5 })], { numRuns: 200 })(
    'normalized rows pass validation (the two stages agree on the contract)',
    (options, rows) => {
      const config = entity({ ...options, businessKey: ['k'], fields });
      const normalized = createNormalizer(config).normalizeRows(rows);
      const validated = createRowValidator(config).validateRows(normalized.valid);
      expect(validated.failed).toEqual([]);
    },
  );
});

describe('identity properties', () => {
  const shuffle = (values: Record<string, unknown>, order: number[]) => {
    const keys = Object.keys(values);
    const sorted = keys.map((k, i) => [k, order[i % order.length] ?? 0] as const).sort((a, b) => a[1] - b[1]);
    return Object.fromEntries(sorted.map(([k]) => [k, values[k]]));
  };
  test.prop([rowArb, fc.array(fc.integer(), { minLength: 1, maxLength: 20 })], { numRuns: 200 })(
    'bk_hash and data_hash are deterministic and independent of key order',
    async (row, order) => {
      const config = entity({ businessKey: ['k', 's'], fields });
      const [normalized] = createNormalizer(config).normalizeRows([{ ...row, k: 'K', s: 'S' }]).valid;
      if (!normalized) return;
      const identity = await createIdentityComputer(config);
      const a = identity.identify(normalized.values);
      const b = identity.identify(shuffle(normalized.values, order));
      const c = identity.identify(structuredClone(normalized.values));
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    },
  );
});
