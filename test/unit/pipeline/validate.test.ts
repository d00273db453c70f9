import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createRowValidator } from '../../../pipeline/validate/validator.js';
import { entity } from './entity.js';

const config = () =>
  entity({
    fields: [
      { source: 'PART_NO', target: 'part_no', rules: { pattern: '[A-Z]-\\d+', maxLength: 8 } },
      { source: 'Q', target: 'qty', type: 'integer', range: { min: 0, max: 100 } },
      { source: 'P', target: 'price', type: 'NUMBER' },
      { source: 'D', target: 'due', type: 'DATE', required: true },
      { source: 'T', target: 'at', type: 'TIMESTAMP' },
      { source: 'S', target: 'status', rules: { oneOf: ['open', 'closed'] } },
      { source: 'N', target: 'note', rules: { minLength: 2 } },
      { source: 'TAGS', target: 'tags', list: true, rules: { maxLength: 3 } },
      { source: 'X', target: 'raw', type: 'RAW' },
      { source: 'B', target: 'flag', type: 'boolean' },
    ],
  });

const good = {
  part_no: 'P-100',
  qty: 5,
  price: '12345678901234567890.5',
  due: '2025-12-08',
  at: '2025-12-08T10:00:00.000Z',
  status: 'open',
  note: null,
  tags: ['a', 'b'],
  raw: '00ff',
  flag: true,
};

describe('validation', () => {
  for (const engine of ['compiled', 'zod'] as const) {
    it(`${engine}: passes a good row and names each failing field`, () => {
      const validator = createRowValidator(config(), { engine });
      expect(validator.validateRow(good)).toBeUndefined();
      const errors = validator.validateRow({
        ...good,
        part_no: 'p100',
        qty: 101,
        price: 'ten',
        due: null,
        status: 'lost',
        note: 'x',
        tags: ['toolong'],
        flag: 'Y',
      });
      expect(errors?.map((e) => [e.field, e.code])).toEqual([
        ['part_no', 'pattern'],
        ['qty', 'out_of_range'],
        ['price', 'invalid_type'],
        ['due', 'required'],
        ['status', 'not_allowed'],
        ['note', 'too_short'],
        ['tags', 'too_long'],
        ['flag', 'invalid_type'],
      ]);
      expect(errors?.every((e) => e.layer === 'validation')).toBe(true);
    });
  }

  it('counts lengths in code points', () => {
    const validator = createRowValidator(
      entity({ fields: [{ source: 'A', target: 'part_no', rules: { maxLength: 2 } }] }),
    );
    expect(validator.validateRow({ part_no: '😀😀' })).toBeUndefined();
    expect(validator.validateRow({ part_no: '😀😀😀' })?.[0]?.code).toBe('too_long');
  });

  it('splits a page into valid and failed rows with metrics', () => {
    const validator = createRowValidator(config());
    const result = validator.validateRows([
      { index: 0, values: good },
      { index: 3, values: { ...good, qty: -1 } },
    ]);
    expect(result.valid.map((r) => r.index)).toEqual([0]);
    expect(result.failed.map((r) => r.index)).toEqual([3]);
    expect(result.metrics).toEqual({ rows: 2, successful: 1, failed: 1, successRate: 0.5 });
  });

  const valueArb = fc.oneof(
    fc.constantFrom(null, 'P-1', 'P-123456789', 'open', 'x', '2025-12-08', '00ff', '0f0', 'ten', '-0', '10', '1.50'),
    fc.integer({ min: -5, max: 200 }),
    fc.double(),
    fc.boolean(),
    fc.array(fc.constantFrom('a', 'abcd', null), { maxLength: 3 }),
  );
  test.prop([fc.dictionary(fc.constantFrom(...Object.keys(good)), valueArb)], { numRuns: 200 })(
    'the compiled validator and the zod schema agree on which fields fail',
    (overrides) => {
      const row = { ...good, ...overrides };
      const failing = (engine: 'compiled' | 'zod') =>
        (createRowValidator(config(), { engine }).validateRow(row) ?? []).map((e) => e.field).sort();
      expect(failing('compiled')).toEqual(failing('zod'));
    },
  );
});
