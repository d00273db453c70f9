import { describe, expect, it } from 'vitest';
import { cleanString } from '../../../pipeline/normalize/strings.js';
import { normalizeValue } from './entity.js';

describe('layer 2: strings', () => {
  it('trims and collapses runs of spaces', () => {
    expect(cleanString('  Bolt   M8  ')).toBe('Bolt M8');
  });
  it('turns CRLF and lone CR inside values into LF, collapsing blank lines', () => {
    expect(cleanString('line one\r\nline two\rline three')).toBe('line one\nline two\nline three');
    expect(cleanString('a \r\n\r\n  b')).toBe('a\nb');
  });
  it('removes NUL and other control characters, keeping tab and newline as separators', () => {
    expect(cleanString('A\u0000B\u0007C\u001bD\u007f\u0085E')).toBe('ABCDE');
    expect(cleanString('a\tb')).toBe('a b');
    expect(cleanString('a\t\t b\nc')).toBe('a b\nc');
  });
  it('turns every other whitespace run (Unicode spaces too) into one space, single or not, beside single spaces', () => {
    // Text that leaves the ASCII fast path: its lone spaces stay, every other run becomes one space or one `\n`.
    expect(cleanString('Café a\u00a0b c\u2003\u2003d e\u3000f')).toBe('Café a b c d e f');
    expect(cleanString('Café \u00a0 x \t y\t\u202f z')).toBe('Café x y z');
    expect(cleanString('Café x \n\u00a0y\u2028z')).toBe('Café x\ny z');
  });
  it('composes combining characters (NFC)', () => {
    const decomposed = 'Cafe\u0301';
    expect(cleanString(decomposed)).toBe('Caf\u00e9');
    expect(cleanString(decomposed)).toHaveLength(4);
  });
  it('makes empty and whitespace-only strings null', () => {
    expect(cleanString('')).toBeNull();
    expect(cleanString('   \t\r\n ')).toBeNull();
    expect(cleanString('\u0000\u0001')).toBeNull();
    expect(cleanString('\u00a0\u2003')).toBeNull();
  });
  it('leaves clean text untouched (the fast path)', () => {
    const clean = 'P-100 Bolt';
    expect(cleanString(clean)).toBe(clean);
  });
  it('applies through the engine on string fields', () => {
    expect(normalizeValue({}, '  x\r\ny  ')).toEqual({ value: 'x\ny' });
    expect(normalizeValue({}, '   ')).toEqual({ value: null });
  });
});

describe('layer 1: string coercion', () => {
  it('renders scalars as text', () => {
    expect(normalizeValue({}, 10.5)).toEqual({ value: '10.5' });
    expect(normalizeValue({}, 1e21)).toEqual({ value: '1000000000000000000000' });
    expect(normalizeValue({}, 12345678901234567890n)).toEqual({ value: '12345678901234567890' });
    expect(normalizeValue({}, true)).toEqual({ value: 'true' });
    expect(normalizeValue({}, { b: 1, a: 2 })).toEqual({ value: '{"a":2,"b":1}' });
  });
  it('keeps null null; unknown type names are strings', () => {
    expect(normalizeValue({ type: 'SDO_GEOMETRY' }, null)).toEqual({ value: null });
    expect(normalizeValue({ type: 'SDO_GEOMETRY' }, 'x')).toEqual({ value: 'x' });
  });
});
