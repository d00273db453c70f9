import { describe, expect, it } from 'vitest';
import { renderFields, renderValue } from '../../../pipeline/identity/canonical.js';
import { createIdentityComputer } from '../../../pipeline/identity/identity.js';
import { compareRowversions, extractRowversion } from '../../../pipeline/identity/rowversion.js';
import { entity } from './entity.js';

const itemsEntity = () =>
  entity({
    businessKey: ['part_no', 'plant'],
    rowversionField: 'rv',
    fields: [
      { source: 'P', target: 'part_no' },
      { source: 'PL', target: 'plant' },
      { source: 'Q', target: 'qty', type: 'NUMBER' },
      { source: 'D', target: 'descr' },
      { source: 'RV', target: 'rv', type: 'NUMBER' },
    ],
  });

describe('canonical rendering', () => {
  it('renders each kind one way', () => {
    expect(renderValue(null)).toBe('\\0');
    expect(renderValue(undefined)).toBe('\\0');
    expect(renderValue('')).toBe('');
    expect(renderValue(10)).toBe('10');
    expect(renderValue(10.0)).toBe('10');
    expect(renderValue(1e21)).toBe('1000000000000000000000');
    expect(renderValue(0.001)).toBe('0.001');
    expect(renderValue(1e-7)).toBe('0.0000001');
    expect(renderValue(-0)).toBe('0');
    expect(renderValue('10.00')).toBe('10.00'); // a string field's text is text
    expect(renderValue(12n)).toBe('12');
    expect(renderValue(true)).toBe('true');
    expect(renderValue('2025-12-08')).toBe('2025-12-08');
    expect(renderValue(new Date('2025-12-08T10:00:00Z'))).toBe('2025-12-08T10:00:00.000Z');
    expect(renderValue(['b', 'a'])).toBe('["b","a"]');
    expect(renderValue({ b: 1, a: { d: 2, c: 1 } })).toBe('{"a":{"c":1,"d":2},"b":1}');
  });

  it('escapes | = and \\ so different records never render the same', () => {
    expect(renderValue('a|b=c\\d')).toBe('a\\|b\\=c\\\\d');
    const a = renderFields({ x: '1|y=2', y: null }, ['x', 'y']);
    const b = renderFields({ x: '1', y: '2|y=\\0' }, ['x', 'y']);
    expect(a).not.toBe(b);
    expect(renderFields({ x: '\\0' }, ['x'])).not.toBe(renderFields({ x: null }, ['x']));
  });
});

describe('identity', () => {
  it('hashes the business key in declared order and the data sorted by name, without identity fields', async () => {
    const identity = await createIdentityComputer(itemsEntity());
    expect(identity.dataFields).toEqual(['descr', 'qty']);
    const row = { part_no: 'P-100', plant: 'DE01', qty: 5, descr: 'Bolt', rv: 7 };
    const id = identity.identify(row);
    expect(id.bkHash).toMatch(/^[0-9a-f]{32}$/);
    expect(id.dataHash).toMatch(/^[0-9a-f]{64}$/);
    expect(id.reference).toBe('items[part_no=P-100|plant=DE01]');
    expect(id.rowversion).toBe('7');
    // The rowversion does not change data_hash; any data field does.
    expect(identity.identify({ ...row, rv: 8 }).dataHash).toBe(id.dataHash);
    expect(identity.identify({ ...row, qty: 6 }).dataHash).not.toBe(id.dataHash);
    expect(identity.identify({ ...row, qty: 6 }).bkHash).toBe(id.bkHash);
    // Key order of the row object does not matter; stray keys are ignored.
    expect(identity.identify({ rv: 7, descr: 'Bolt', qty: 5, plant: 'DE01', part_no: 'P-100', extra: 1 })).toEqual(id);
  });

  it('uses the declared business-key order', async () => {
    const a = await createIdentityComputer(itemsEntity());
    const b = await createIdentityComputer({ ...itemsEntity(), businessKey: ['plant', 'part_no'] });
    const row = { part_no: 'P-100', plant: 'DE01' };
    expect(a.identify(row).bkHash).not.toBe(b.identify(row).bkHash);
  });
});

describe('rowversions', () => {
  it('compares decimal text of any length as big integers', () => {
    const big = '123456789012345678901234567890';
    expect(
      compareRowversions(extractRowversion(`${big}1`, 'integer')!, extractRowversion(big, 'integer')!, 'integer'),
    ).toBe(1);
    expect(compareRowversions('9', '10', 'integer')).toBe(-1);
    expect(compareRowversions('-10', '-9', 'integer')).toBe(-1);
    expect(compareRowversions('-1', '0', 'integer')).toBe(-1);
    expect(extractRowversion('000120', 'integer')).toBe('120');
    expect(extractRowversion(42, 'integer')).toBe('42');
    expect(extractRowversion(1.5, 'integer')).toBeNull();
    expect(extractRowversion(null, 'integer')).toBeNull();
  });
  it('compares hex (RAW, SQL Server rowversion) as unsigned big-endian numbers', () => {
    const a = extractRowversion('0x00000000000007D1', 'hex')!;
    const b = extractRowversion('00000000000007d0', 'hex')!;
    expect(a).toBe('7d1');
    expect(compareRowversions(a, b, 'hex')).toBe(1);
    expect(compareRowversions('ff', '100', 'hex')).toBe(-1);
  });
  it('compares timestamps in time', () => {
    expect(compareRowversions('2025-12-08T10:00:00.000Z', '2025-12-08T09:59:59.999Z', 'time')).toBe(1);
    expect(extractRowversion('yesterday', 'time')).toBeNull();
  });
});
