import { describe, expect, it } from 'vitest';
import { createSourceKeyReader, sourceKeyText } from '../../../pipeline/identity/source-key.ts';
import { entity } from './entity.ts';

/** Issue 13, part 5: a DLQ record names its source record by the key as read, even when nothing normalized. */
const config = entity({
  businessKey: ['plant', 'part_no'],
  fields: [
    { source: 'PART_NO', target: 'part_no', transformation: 'uppercase' },
    { source: 'meta.plant', target: 'plant' },
    { source: 'QTY', target: 'qty', type: 'NUMBER' },
  ],
});

describe('the source key of a raw row', () => {
  const sourceKey = createSourceKeyReader(config);

  it('renders the raw key columns in businessKey order, unnormalized', () => {
    expect(sourceKey({ PART_NO: ' p-1 ', meta: { plant: 'DE01' }, QTY: 'x' })).toBe('plant=DE01|part_no= p-1 ');
    expect(sourceKey({ PART_NO: 42, 'meta.plant': 'AT02' })).toBe('plant=AT02|part_no=42');
  });

  it('renders a missing or null value empty and escapes the separators', () => {
    expect(sourceKey({ PART_NO: null })).toBe('plant=|part_no=');
    expect(sourceKey({ PART_NO: 'a|b=c\\d', meta: { plant: '' } })).toBe('plant=|part_no=a\\|b\\=c\\\\d');
  });

  it('is null when no row could be read', () => {
    expect(sourceKey(null)).toBeNull();
    expect(sourceKey('garbage')).toBeNull();
    expect(sourceKey([1, 2])).toBeNull();
  });

  it('renders values as plain text', () => {
    expect(sourceKeyText(true)).toBe('true');
    expect(sourceKeyText(10n)).toBe('10');
    expect(sourceKeyText(1.5)).toBe('1.5');
    expect(sourceKeyText(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000Z');
    expect(sourceKeyText({ b: 1 })).toBe('{"b":1}');
    expect(sourceKeyText(undefined)).toBe('');
  });
});
