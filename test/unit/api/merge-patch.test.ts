import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { applyMergePatch, patchEntityConfig } from '../../../api/merge-patch.ts';
import { patchFromSets } from '../../../cli/commands/entities.ts';

describe('applyMergePatch (RFC 7396)', () => {
  it('passes the examples of RFC 7396, appendix A', () => {
    const cases: Array<[unknown, unknown, unknown]> = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['c', 'd'],
      ],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(applyMergePatch(target, patch)).toEqual(result);
  });

  it('keeps a member named __proto__ a member, and changes neither argument', () => {
    const target = { a: { b: 1 } };
    const patch = JSON.parse('{"__proto__":{"polluted":true},"a":{"c":2}}');
    const result = applyMergePatch(target, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(result).sort()).toEqual(['__proto__', 'a']);
    expect(target).toEqual({ a: { b: 1 } });
  });

  test.prop([fc.dictionary(fc.string(), fc.jsonValue())])('an empty patch changes nothing', (target) => {
    expect(applyMergePatch(target, {})).toEqual(target);
  });
});

describe('patchEntityConfig', () => {
  const stored = {
    name: 'items',
    deletePolicy: 'none',
    fields: [
      { source: 'A', target: 'a', required: true },
      { source: 'B', target: 'b' },
    ],
  };

  it('patches fields by target name: merge one, remove one, add one, order kept', () => {
    expect(
      patchEntityConfig(stored, {
        deletePolicy: 'soft',
        fields: { b: { sensitive: true, source: 'B2' }, a: null, c: { source: 'C' } },
      }),
    ).toEqual({
      name: 'items',
      deletePolicy: 'soft',
      fields: [
        { source: 'B2', target: 'b', sensitive: true },
        { target: 'c', source: 'C' },
      ],
    });
  });

  it('replaces the field list whole when given an array (plain RFC 7396)', () => {
    expect(patchEntityConfig(stored, { fields: [{ source: 'X', target: 'x' }] })).toEqual({
      ...stored,
      fields: [{ source: 'X', target: 'x' }],
    });
  });
});

describe('syncflow entities patch --set', () => {
  it('turns path=value pairs into a merge patch, values parsed as JSON when they are', () => {
    expect(
      patchFromSets([
        'deletePolicy=soft',
        'pageSize=500',
        'fields.qty.sensitive=true',
        'fields.qty.source=Q.TY',
        'x=null',
      ]),
    ).toEqual({ deletePolicy: 'soft', pageSize: 500, fields: { qty: { sensitive: true, source: 'Q.TY' } }, x: null });
    expect(() => patchFromSets(['deletePolicy'])).toThrow(/path=value/);
  });
});
