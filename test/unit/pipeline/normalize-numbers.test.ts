import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../demo/prng.js';
import { numberText, plainDecimalOf } from '../../../pipeline/normalize/decimal.js';
import { parseNumberText } from '../../../pipeline/normalize/numbers.js';
import { normalizeValue } from './entity.js';

const num = (value: unknown, options = {}, field = {}) => normalizeValue({ type: 'NUMBER', ...field }, value, options);
const comma = { decimalSeparator: ',' as const };

describe('layer 3: numbers', () => {
  it.each([
    ['10,000', 10000],
    ['1,234,567.89', 1234567.89],
    ['(100)', -100],
    ['(1,234.50)', -1234.5],
    ['1e-3', 0.001],
    ['1.5E3', 1500],
    ['€ 10', 10],
    ['$1,000.00', 1000],
    ['-€10', -10],
    ['£ -3.5', -3.5],
    ["1'234.5", 1234.5],
    ['10.00', 10],
    ['007', 7],
    ['-0', 0],
    ['.5', 0.5],
  ])('%s → %s', (text, expected) => {
    expect(num(text)).toEqual({ value: expected });
  });

  it('reads decimal commas when the entity says so', () => {
    expect(num('1.234,56', comma)).toEqual({ value: 1234.56 });
    expect(num('(1.234,50)', comma)).toEqual({ value: -1234.5 });
    expect(num('12,5', comma)).toEqual({ value: 12.5 });
    expect(num('1 234,5', comma)).toEqual({ value: 1234.5 });
  });

  it.each(['--5', '+-5', '(-5)', '1,2', '1234,56', '12a', '1.2.3', '', 'e5', '--'])('rejects %j', (text) => {
    const result = num(text);
    if (text === '') expect(result).toEqual({ value: null });
    else expect(result.errors?.[0]).toMatchObject({ field: 'v', layer: 'numbers', code: 'invalid_number' });
  });

  it('keeps digits a double would lose as exact decimal text', () => {
    expect(num('12345678901234567890.12')).toEqual({ value: '12345678901234567890.12' });
    expect(num('9007199254740993')).toEqual({ value: '9007199254740993' });
    expect(num(12345678901234567890n)).toEqual({ value: '12345678901234567890' });
    expect(num('0.1')).toEqual({ value: 0.1 });
    // More than 15 digits split across the point (found by the property tests: the plain-number fast path
    // once read these as lossy doubles under a `.` separator while `,` kept them exact).
    expect(num('69000000000.03385')).toEqual({ value: '69000000000.03385' });
    expect(num('123456789012345.123456789012345')).toEqual({ value: '123456789012345.123456789012345' });
    expect(num('69000000000,03385', comma)).toEqual({ value: '69000000000.03385' });
    expect(num('-1234567890.12345')).toEqual({ value: -1234567890.12345 });
  });

  it('reads its own exact output back under a comma separator (idempotence)', () => {
    expect(parseNumberText('12345678901234567890.12', ',')).toBe('12345678901234567890.12');
    expect(parseNumberText('1.234', ',')).toBe(1234);
  });

  it('takes JS numbers as they are, refusing NaN and Infinity', () => {
    expect(num(42.5)).toEqual({ value: 42.5 });
    expect(num(-0)).toEqual({ value: 0 });
    expect(num(Number.NaN).errors?.[0]).toMatchObject({ layer: 'types', code: 'not_finite' });
    expect(num(true).errors?.[0]).toMatchObject({ layer: 'types', code: 'invalid_type' });
  });

  it('validates ranges', () => {
    expect(num('5', {}, { range: { min: 0, max: 10 } })).toEqual({ value: 5 });
    expect(num('(5)', {}, { range: { min: 0 } }).errors?.[0]).toMatchObject({ layer: 'numbers', code: 'out_of_range' });
    expect(num('11', {}, { range: { max: 10 } }).errors?.[0]).toMatchObject({ code: 'out_of_range' });
  });

  it('requires whole numbers for integer fields', () => {
    expect(normalizeValue({ type: 'integer' }, '1,000')).toEqual({ value: 1000 });
    expect(normalizeValue({ type: 'int8' }, '1.5').errors?.[0]).toMatchObject({ code: 'not_integer' });
    expect(normalizeValue({ type: 'bigint' }, '123456789012345678901234')).toEqual({
      value: '123456789012345678901234',
    });
  });

  it('rejects absurd exponents instead of building huge text', () => {
    expect(num('1e999999').errors?.[0]).toMatchObject({ code: 'out_of_range' });
  });
});

describe('plainDecimalOf', () => {
  it('prints whole numbers of hundredths exactly as String does (its fast path), near 10^13 and beyond too', () => {
    const random = mulberry32(15);
    const mismatches: number[] = [];
    const check = (value: number) => {
      const text = String(value);
      if (!text.includes('e') && plainDecimalOf(value) !== text) mismatches.push(value); // e: printed otherwise
    };
    for (let i = 0; i < 200_000; i++) {
      const scale = 10 ** (i % 17); // hundredths up to 10^16: past the 10^13 bound, where String takes over
      const hundredths = Math.floor(random() * scale) * (i % 2 === 0 ? 1 : -1);
      check(hundredths / 100);
      check(hundredths / 1000); // thousandths: not on the fast path
      check((hundredths + random()) / 100); // anything in between: not on it either
    }
    for (const value of [
      0.07,
      0.29,
      1.005,
      2.675,
      0.1 + 0.2,
      9999999999999.99,
      -9999999999999.99,
      1e13,
      1e13 + 0.01,
      0.01,
    ]) {
      check(value);
    }
    expect(mismatches).toEqual([]);
    expect(plainDecimalOf(-0)).toBe('0');
    expect(plainDecimalOf(-1234.5)).toBe('-1234.5');
    expect(plainDecimalOf(0.05)).toBe('0.05');
    expect(plainDecimalOf(1e21)).toBe('1000000000000000000000');
  });

  it('numberText is String, exponents, -0 and non-finite numbers included', () => {
    for (const value of [
      0,
      -0,
      1,
      -1,
      0.5,
      1234.56,
      -0.07,
      1e21,
      1e-7,
      123e-20,
      2 ** 53,
      Number.MAX_VALUE,
      Number.NaN,
    ]) {
      expect(numberText(value)).toBe(String(value));
    }
    expect(numberText(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
