import { describe, expect, it } from 'vitest';
import { parseRecordKey } from '../../../control/trace.ts';
import { createSourceKeyReader } from '../../../pipeline/identity/source-key.ts';

/** The key of GET /entities/:name/records/:key and `syncflow trace`: a bk_hash or `field=value|…`, parsed strictly. */
const KEY = ['part_no', 'plant'];

describe('parseRecordKey', () => {
  it('takes 32 hex characters as a bk_hash (lower-cased)', () => {
    expect(parseRecordKey('0123456789ABCDEF0123456789abcdef', KEY)).toEqual({
      ok: true,
      key: { form: 'bk_hash', bkHash: '0123456789abcdef0123456789abcdef' },
    });
  });

  it('refuses a bk_hash of the wrong length or with a non-hex character, naming the key', () => {
    const short = parseRecordKey('abc', KEY);
    expect(short).toMatchObject({ ok: false, problems: [{ field: 'key' }] });
    expect(!short.ok && short.problems[0]!.message).toContain('32 hex characters, not 3');
    const bad = parseRecordKey('0123456789abcdef0123456789abcdeg', KEY);
    expect(!bad.ok && bad.problems[0]!.message).toContain('"g" is no hex digit');
  });

  it('reads the business key in any order and renders it as the source key, in businessKey order', () => {
    const parsed = parseRecordKey('plant=DE01|part_no=p-100', KEY);
    expect(parsed).toEqual({
      ok: true,
      key: {
        form: 'business_key',
        values: { part_no: 'p-100', plant: 'DE01' },
        sourceKey: 'part_no=p-100|plant=DE01',
      },
    });
  });

  it('undoes the escapes of the source key: what createSourceKeyReader writes parses back to the row values', () => {
    const reader = createSourceKeyReader({
      businessKey: KEY,
      fields: [
        { source: 'PART', target: 'part_no' },
        { source: 'PLANT', target: 'plant' },
      ],
    } as never);
    const row = { PART: 'a|b=c\\d', PLANT: '=' };
    const text = reader(row)!;
    expect(text).toBe('part_no=a\\|b\\=c\\\\d|plant=\\=');
    expect(parseRecordKey(text, KEY)).toEqual({
      ok: true,
      key: { form: 'business_key', values: { part_no: 'a|b=c\\d', plant: '=' }, sourceKey: text },
    });
  });

  it('allows an empty value (a key the source holds as null) but not an empty part', () => {
    expect(parseRecordKey('part_no=|plant=DE01', KEY)).toMatchObject({ ok: true });
    expect(parseRecordKey('part_no=x||plant=DE01', KEY)).toMatchObject({
      ok: false,
      problems: [{ field: 'key', message: expect.stringContaining('empty part') }],
    });
  });

  it('names an unknown, a repeated and a missing field', () => {
    expect(parseRecordKey('part_no=x|colour=red', KEY)).toEqual({
      ok: false,
      problems: [
        { field: 'key.colour', message: expect.stringContaining('not a business-key field') },
        { field: 'key.plant', message: expect.stringContaining('missing') },
      ],
    });
    expect(parseRecordKey('part_no=x|part_no=y|plant=DE01', KEY)).toEqual({
      ok: false,
      problems: [{ field: 'key.part_no', message: expect.stringContaining('more than once') }],
    });
  });

  it('refuses a part without =, a stray backslash and a trailing one', () => {
    for (const [text, message] of [
      ['part_no=x|plant', 'is not field=value'],
      ['part_no=x\\y|plant=DE01', 'no escape'],
      ['part_no=x|plant=DE01\\', 'lone backslash'],
    ] as const) {
      const parsed = parseRecordKey(text, KEY);
      expect(parsed.ok, text).toBe(false);
      expect(!parsed.ok && parsed.problems[0]).toEqual({ field: 'key', message: expect.stringContaining(message) });
    }
  });
});
