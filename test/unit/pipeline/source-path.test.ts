import { describe, expect, it } from 'vitest';
import { createSourceReader } from '../../../pipeline/normalize/source-path.ts';

describe('source paths', () => {
  it('read plain keys, dotted keys and nested paths', () => {
    expect(createSourceReader('a')({ a: 1 })).toBe(1);
    expect(createSourceReader('a.b')({ 'a.b': 2, a: { b: 3 } })).toBe(2);
    expect(createSourceReader('a.b')({ a: { b: 3 } })).toBe(3);
    expect(createSourceReader('a.b.c')({ a: { b: null } })).toBeUndefined();
  });

  it("read only a row's own properties, never inherited ones", () => {
    for (const source of [
      '__proto__',
      'constructor',
      'toString',
      'a.constructor',
      'a.__proto__',
      'a.b.hasOwnProperty',
    ]) {
      expect(createSourceReader(source)({ a: { b: {} } }), source).toBeUndefined();
    }
    // A row that really has such a key (a JSON document may) is read as it is.
    expect(createSourceReader('constructor')(JSON.parse('{"constructor":"x"}'))).toBe('x');
  });
});
