import { describe, expect, it } from 'vitest';
import { createNormalizer } from '../../../pipeline/normalize/engine.js';
import { entity, normalizeValue } from './entity.js';

describe('layer 5: transformations', () => {
  it.each([
    ['uppercase', 'straße m8', 'STRASSE M8'],
    ['lowercase', 'BOLT M8', 'bolt m8'],
    ['trim', '  bolt ', 'bolt'],
    ['strip_whitespace', 'P 100 - A', 'P100-A'],
    ['title_case', "o'neil and the BIG-bolt", "O'neil And The Big-Bolt"],
    ['capitalize', 'bOLT m8', 'Bolt m8'],
    ['remove_special_chars', 'Bolt - M8 (zinc) #5 é', 'Bolt M8 zinc 5 é'],
  ] as const)('%s: %j → %j', (transformation, input, expected) => {
    expect(normalizeValue({ transformation }, input)).toEqual({ value: expected });
  });
  // Found by the property tests: upper-casing a first letter that becomes two (ß → SS) was not idempotent
  // (`SSa` → `Ssa` on the next run), and a combining mark started a new word.
  it.each([
    ['title_case', 'ßa straße', 'Ssa Straße'],
    ['title_case', 'ǰob ﬁsh', 'J̌ob Fish'],
    ['capitalize', 'ßa A', 'Ssa a'],
    ['capitalize', '𐐨x', '𐐀x'],
  ] as const)('%s: %j → %j, and that again → itself', (transformation, input, expected) => {
    expect(normalizeValue({ transformation }, input)).toEqual({ value: expected });
    expect(normalizeValue({ transformation }, expected)).toEqual({ value: expected });
  });
  it('yields null when a transformation leaves nothing', () => {
    expect(normalizeValue({ transformation: 'remove_special_chars' }, '#-#')).toEqual({ value: null });
  });
});

describe('layer 5: value maps', () => {
  const valueMap = { values: { Book: 'book', books: 'book', Film: 'film' }, caseInsensitive: true };
  it('maps spellings to one canonical value', () => {
    for (const spelling of ['Book', 'BOOK', 'books', ' book ']) {
      expect(normalizeValue({ valueMap }, spelling)).toEqual({ value: 'book' });
    }
  });
  it('keeps, rejects or defaults unmapped values as configured', () => {
    expect(normalizeValue({ valueMap: { ...valueMap, unmapped: 'keep' } }, 'Tool')).toEqual({ value: 'Tool' });
    expect(normalizeValue({ valueMap: { ...valueMap, unmapped: 'reject' } }, 'Tool').errors?.[0]).toMatchObject({
      layer: 'mapping',
      code: 'unmapped_value',
    });
    expect(normalizeValue({ valueMap: { ...valueMap, unmapped: 'default', default: 'other' } }, 'Tool')).toEqual({
      value: 'other',
    });
  });
  it('accepts canonical values as themselves even when unmapped values are rejected', () => {
    const strict = { values: { Book: 'book' }, caseInsensitive: false, unmapped: 'reject' as const };
    expect(normalizeValue({ valueMap: strict }, 'book')).toEqual({ value: 'book' });
    expect(normalizeValue({ valueMap: strict }, 'BOOK').errors?.[0]).toMatchObject({ code: 'unmapped_value' });
  });
  it('compares keys after the transformation', () => {
    expect(normalizeValue({ transformation: 'uppercase', valueMap: { values: { Book: 'book' } } }, 'book')).toEqual({
      value: 'book',
    });
  });
});

describe('layer 5: lists, JSON, defaults, required, dotted paths', () => {
  it('turns a string-or-list into a normalized list without empties or duplicates', () => {
    expect(normalizeValue({ list: true }, 'Ann')).toEqual({ value: ['Ann'] });
    expect(normalizeValue({ list: true }, [' Ann ', 'Bob', '', null, 'Ann', 'Cafe\u0301', 'Caf\u00e9'])).toEqual({
      value: ['Ann', 'Bob', 'Caf\u00e9'],
    });
    expect(normalizeValue({ list: true }, ['', '  '])).toEqual({ value: null });
    expect(normalizeValue({ list: true, type: 'NUMBER' }, ['1,000', 1000, '(2)'])).toEqual({ value: [1000, -2] });
    expect(normalizeValue({ list: true, type: 'NUMBER' }, ['1', '--2']).errors?.[0]).toMatchObject({
      code: 'invalid_number',
      message: expect.stringContaining('item 1'),
    });
  });
  it('keeps JSON fields as canonical JSON text', () => {
    expect(normalizeValue({ type: 'jsonb' }, { b: [2, { d: 1, c: 0 }], a: 'x' })).toEqual({
      value: '{"a":"x","b":[2,{"c":0,"d":1}]}',
    });
    expect(normalizeValue({ type: 'json' }, ' {"b":1, "a":2} ')).toEqual({ value: '{"a":2,"b":1}' });
    expect(normalizeValue({ type: 'json' }, '{oops').errors?.[0]).toMatchObject({ code: 'invalid_json' });
  });
  it('reads booleans and binary', () => {
    for (const yes of ['Y', 'y', '1', 'true', 'TRUE', 'yes', 1, true]) {
      expect(normalizeValue({ type: 'boolean' }, yes)).toEqual({ value: true });
    }
    for (const no of ['N', '0', 'false', 'no', 0, false])
      expect(normalizeValue({ type: 'bool' }, no)).toEqual({ value: false });
    expect(normalizeValue({ type: 'boolean' }, 'maybe').errors?.[0]).toMatchObject({ code: 'invalid_boolean' });
    expect(normalizeValue({ type: 'RAW' }, '0x00FF')).toEqual({ value: '00ff' });
    expect(normalizeValue({ type: 'bytea' }, new Uint8Array([1, 171]))).toEqual({ value: '01ab' });
    expect(normalizeValue({ type: 'RAW' }, 'abc').errors?.[0]).toMatchObject({ code: 'invalid_binary' });
  });
  it('applies defaults to nulls and enforces required fields', () => {
    expect(normalizeValue({ type: 'NUMBER', default: '1,5' }, '  ', { decimalSeparator: ',' })).toEqual({ value: 1.5 });
    expect(normalizeValue({ required: true }, '   ').errors?.[0]).toMatchObject({ layer: 'mapping', code: 'required' });
  });
  it('treats business-key fields as required', () => {
    const normalizer = createNormalizer(entity());
    const result = normalizer.normalizeRows([{ PART_NO: ' ' }, { PART_NO: 'A' }]);
    expect(result.failed[0]!.errors[0]).toMatchObject({ field: 'part_no', code: 'required' });
    expect(result.metrics).toEqual({ rows: 2, successful: 1, failed: 1, successRate: 0.5 });
  });
  it('reads dotted paths into nested documents, literal keys first', () => {
    const config = entity({
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'meta.author', target: 'author' },
      ],
    });
    const normalizer = createNormalizer(config);
    const rows = [
      { PART_NO: 'A', meta: { author: ' Ann ' } },
      { PART_NO: 'B', 'meta.author': 'Bob' },
      { PART_NO: 'C', meta: 5 },
    ];
    expect(normalizer.normalizeRows(rows).valid.map((r) => r.values.author)).toEqual(['Ann', 'Bob', null]);
  });
});

describe('the engine', () => {
  it('collects every failing field of a row and goes on with the batch', () => {
    const config = entity({
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'Q', target: 'qty', type: 'NUMBER' },
        { source: 'D', target: 'due', type: 'DATE' },
      ],
    });
    const result = createNormalizer(config).normalizeRows([
      { PART_NO: 'A', Q: '--5', D: '2025-02-30' },
      { PART_NO: 'B', Q: '(1,234.50)', D: '20251208' },
    ]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.errors).toEqual([
      { field: 'qty', layer: 'numbers', code: 'invalid_number', message: expect.any(String), value: '--5' },
      { field: 'due', layer: 'dates', code: 'impossible_date', message: expect.any(String), value: '2025-02-30' },
    ]);
    expect(result.valid[0]).toEqual({ index: 1, values: { part_no: 'B', qty: -1234.5, due: '2025-12-08' } });
  });

  it('never throws, even on a row with a throwing getter or a non-object row', () => {
    const hostile = Object.defineProperty({}, 'PART_NO', {
      get() {
        throw new Error('boom');
      },
    });
    const result = createNormalizer(entity()).normalizeRows([hostile, null as never, 42 as never]);
    expect(result.failed.map((f) => f.errors[0]!.code)).toEqual(['unreadable_row', 'required', 'required']);
  });

  it('shows every layer’s output per field in track-stages mode', () => {
    const config = entity({
      fields: [
        { source: 'PART_NO', target: 'part_no', transformation: 'uppercase' },
        { source: 'Q', target: 'qty', type: 'NUMBER' },
      ],
    });
    const result = createNormalizer(config).normalizeRows([{ PART_NO: ' p-1\r\n', Q: '€ 1,000' }], {
      trackStages: true,
    });
    expect(result.stages?.[0]).toEqual({
      part_no: { source: ' p-1\r\n', types: ' p-1\r\n', strings: 'p-1', numbers: 'p-1', dates: 'p-1', mapping: 'P-1' },
      qty: { source: '€ 1,000', types: '€ 1,000', strings: '€ 1,000', numbers: 1000, dates: 1000, mapping: 1000 },
    });
  });
});
