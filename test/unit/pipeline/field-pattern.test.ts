import { describe, expect, it } from 'vitest';
import type { EntityConfigInput } from '../../../pipeline/entity-config.js';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.js';
import { compileFieldPattern, MAX_PATTERN_PROGRAM_SIZE } from '../../../pipeline/validate/field-pattern.js';
import { createRowValidator } from '../../../pipeline/validate/validator.js';
import { entity } from './entity.js';

/** Finding 5 of issue 10: a field pattern ran on V8's backtracking engine, and `(a+)+` froze the process. */
const withPattern = (pattern: string): Partial<EntityConfigInput> => ({
  source: { type: 'file', connection: 'files', path: 'items.csv', format: 'csv' },
  targets: [{ type: 'postgres', connection: 'warehouse', name: 'main', table: 'items' }],
  fields: [
    { source: 'PART_NO', target: 'part_no' },
    { source: 'CODE', target: 'code', rules: { pattern } },
  ],
});

const validateCode = (pattern: string, code: string) =>
  createRowValidator(entity(withPattern(pattern))).validateRows([{ index: 0, values: { part_no: 'K', code } }]);

describe('field patterns on a linear-time engine', () => {
  it('rejects a value against a catastrophic pattern at once (31 and 10,000 characters)', () => {
    for (const value of ['a'.repeat(31) + '!', 'a'.repeat(9_999) + '!']) {
      const started = performance.now();
      const result = validateCode('(a+)+', value);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(result.valid).toHaveLength(0);
      expect(result.failed[0]!.errors).toMatchObject([{ field: 'code', code: 'pattern' }]);
    }
    expect(validateCode('(a+)+', 'a'.repeat(10_000)).valid).toHaveLength(1);
  });

  it('gives the same verdicts as the JavaScript engine, whole value, Unicode', () => {
    const patterns = [
      '[A-Z]{2}\\d{2}',
      '\\p{L}+',
      '.',
      '.+',
      '[.]',
      '\\s',
      '\\S+',
      '[\\s,]+',
      '[\\u00e9]',
      '\\uD83D\\uDE00',
      '\\u{1F600}',
      '[^]',
      '[]',
      '[[:a]+',
      '\\cA',
      '(?<y>\\d{4})-\\d{2}',
      '\\p{Script=Greek}+',
      '\\p{gc=Lu}',
      '[\\b]',
      'a|ab',
      '^a$',
      'x*?y',
      '\\bfoo\\b',
      '😀+',
    ];
    const values = ['AB12', 'héllo', 'a', '\n', '\r', '.', ' ', '\u00a0', '\u2028', 'a b', ',, ', 'é', '😀', '\u0001'];
    values.push('2025-12', 'αβγ', 'Ω', '\b', 'ab', 'xxy', 'foo', '[:', ':a', '😀😀', 'AB1', 'e\u0301');
    for (const pattern of patterns) {
      const compiled = compileFieldPattern(pattern);
      if (!compiled.ok) throw new Error(`${pattern}: ${compiled.message}`);
      const reference = new RegExp(`^(?:${pattern})$`, 'u');
      for (const value of values) {
        expect([pattern, value, compiled.pattern.test(value)]).toEqual([pattern, value, reference.test(value)]);
      }
    }
  });

  it('refuses at config time what the engine cannot run, naming fields[i].rules.pattern', () => {
    const refused = [
      'a(?=b)',
      '(?<!a)b',
      '(a)\\1',
      '(?<x>a)\\k<x>',
      '(',
      '(?i)a',
      'a{2000}',
      '[\\S]',
      '(?:[ab]?){900}',
    ];
    for (const pattern of refused) {
      const parsed = parseEntityConfig({ name: 'items', businessKey: ['part_no'], ...withPattern(pattern) });
      expect(parsed.ok, pattern).toBe(false);
      if (!parsed.ok) expect(parsed.errors.map((e) => e.path)).toEqual(['fields[1].rules.pattern']);
    }
    const tooLarge = compileFieldPattern('(?:[ab]?){900}');
    expect(tooLarge.ok || tooLarge.message).toMatch(`at most ${MAX_PATTERN_PROGRAM_SIZE}`);
  });

  it('fails a value longer than the work bound without matching it, and says why', () => {
    const compiled = compileFieldPattern('[ab]*a[ab]{500}c');
    if (!compiled.ok) throw new Error(compiled.message);
    const bound = compiled.pattern.maxValueLength;
    expect(bound).toBeGreaterThan(1_000);
    expect(bound).toBeLessThan(20_000);
    const result = validateCode('[ab]*a[ab]{500}c', 'a'.repeat(bound + 1));
    expect(result.failed[0]!.errors[0]!.message).toMatch(`longer than ${bound} characters`);
    const started = performance.now();
    expect(compiled.pattern.test('ab'.repeat(bound / 2))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
