import { describe, expect, it } from 'vitest';
import { exactJsonNumber } from '../../../connectors/file/jsonl-reader.ts';
import { decodeBytes, InvalidTextHandler, wellFormed } from '../../../connectors/file/text.ts';
import { createNormalizer } from '../../../pipeline/normalize/engine.ts';
import { addRowProblem, ROW_PROBLEMS, rowProblemsOf } from '../../../pipeline/row-problems.ts';
import { entity } from '../pipeline/entity.ts';

/** A JSON Lines entity keyed by an integer `id` (connection-named, as entity configs are now). */
const keyedById = () =>
  entity({
    source: { type: 'file', connection: 'files', path: 'items.jsonl', format: 'jsonl' } as never,
    targets: [{ type: 'postgres', connection: 'warehouse', name: 'main', table: 'items' }] as never,
    businessKey: ['id'],
    fields: [
      { source: 'id', target: 'id', type: 'integer' },
      { source: 'name', target: 'name' },
      { source: 'meta.note', target: 'note' },
    ],
  });

describe('JSON numbers, losslessly (issue 10, finding 9)', () => {
  it.each([
    ['42', 42],
    ['-0', -0],
    ['0.1', 0.1],
    ['1.10', 1.1],
    ['9007199254740991', 9007199254740991],
    ['123.456e2', 12345.6],
    // Not exact as a double: the exact text.
    ['9007199254740992', '9007199254740992'],
    ['9007199254740993', '9007199254740993'],
    ['12345678901234567891', '12345678901234567891'],
    ['12345678901234567890', '12345678901234567890'],
    ['1e23', '1e23'],
    ['0.1000000000000000055511151231257827', '0.1000000000000000055511151231257827'],
    ['1e400', '1e400'],
    ['1e-400', '1e-400'],
  ])('%s → %o', (text, value) => {
    expect(exactJsonNumber(text)).toStrictEqual(value);
  });

  it('keys beyond 2^53 stay distinct through NORMALIZE, as exact integers', () => {
    const result = createNormalizer(keyedById()).normalizeRows([
      { id: exactJsonNumber('9007199254740993'), name: 'a' },
      { id: exactJsonNumber('9007199254740992'), name: 'b' },
      { id: exactJsonNumber('12345678901234567891'), name: 'c' },
      { id: exactJsonNumber('12345678901234567890'), name: 'd' },
      { id: exactJsonNumber('17'), name: 'e' },
    ]);
    expect(result.failed).toEqual([]);
    // NORMALIZE's exact form: a double where it is exact (2^53 itself is), digit text beyond.
    expect(result.valid.map((r) => r.values.id)).toEqual([
      '9007199254740993',
      9007199254740992,
      '12345678901234567891',
      '12345678901234567890',
      17,
    ]);
  });
});

describe('invalid text in files (issue 10, finding 14)', () => {
  it('tells invalid UTF-8 bytes apart, and latin1 has none', () => {
    expect(decodeBytes(Buffer.from('héllo'), 'utf8')).toEqual({ text: 'héllo', valid: true });
    expect(decodeBytes(new Uint8Array([0x61, 0xff, 0x62]), 'utf8')).toEqual({ text: 'a\uFFFDb', valid: false });
    // An encoded surrogate (ED A0 80) is not UTF-8 either.
    expect(decodeBytes(Buffer.from([0xed, 0xa0, 0x80]), 'utf8').valid).toBe(false);
    expect(decodeBytes(Buffer.from([0x61, 0xff]), 'latin1')).toEqual({ text: 'aÿ', valid: true });
    // A real U+FFFD in the file is valid text.
    expect(decodeBytes(Buffer.from('a\uFFFD'), 'utf8').valid).toBe(true);
  });

  it('replaces lone surrogates only', () => {
    expect(wellFormed('a\uD83D\uDE00b')).toEqual({ text: 'a\uD83D\uDE00b', valid: true });
    expect(wellFormed('a\uD800b')).toEqual({ text: 'a\uFFFDb', valid: false });
    expect(wellFormed('\uDC00\uD800')).toEqual({ text: '\uFFFD\uFFFD', valid: false });
    expect(wellFormed('x\uD800')).toEqual({ text: 'x\uFFFD', valid: false });
  });

  it('reject marks the row under a symbol no mapping or JSON sees; replace counts it', () => {
    const rejecting = new InvalidTextHandler('reject');
    const row: Record<string, unknown> = { id: 1, name: 'a\uFFFD' };
    rejecting.settle(row, [{ column: 'name', reason: 'bytes that are not valid UTF-8' }], 'at byte 10');
    expect(rowProblemsOf(row)).toEqual([
      {
        column: 'name',
        code: 'invalid_encoding',
        message: 'column "name" of the record at byte 10 holds bytes that are not valid UTF-8 (shown as U+FFFD)',
      },
    ]);
    expect(JSON.stringify(row)).toBe('{"id":1,"name":"a\uFFFD"}');
    expect(Object.keys(row)).toEqual(['id', 'name']);
    expect(rowProblemsOf({ ...row })).toHaveLength(1);
    const replacing = new InvalidTextHandler('replace');
    const kept: Record<string, unknown> = { id: 1, name: 'a\uFFFD' };
    replacing.settle(kept, [{ column: 'name', reason: 'bytes that are not valid UTF-8' }], 'at byte 10');
    replacing.settle(kept, [], 'at byte 20');
    expect(rowProblemsOf(kept)).toBeUndefined();
    expect(replacing.replacedRows).toBe(1);
  });

  it("NORMALIZE fails a marked row with the reader's error type first, naming the target field", () => {
    const bad: Record<string, unknown> = { id: 2, name: 'a\uFFFD', meta: { note: '\uFFFD' } };
    addRowProblem(bad, { column: 'name', code: 'invalid_encoding', message: 'column "name" holds bad bytes' });
    addRowProblem(bad, { column: 'meta', code: 'invalid_encoding', message: 'column "meta" holds bad bytes' });
    const unknown: Record<string, unknown> = { id: 3, name: 'c' };
    addRowProblem(unknown, { column: null, code: 'invalid_encoding', message: 'somewhere' });
    const result = createNormalizer(keyedById()).normalizeRows([{ id: 1, name: 'ok' }, bad, unknown]);
    expect(result.valid.map((r) => r.index)).toEqual([0]);
    expect(result.failed.map((f) => f.errors)).toEqual([
      [
        {
          field: 'name',
          layer: 'types',
          code: 'invalid_encoding',
          message: 'column "name" holds bad bytes',
          value: 'a\uFFFD',
        },
        {
          field: 'note',
          layer: 'types',
          code: 'invalid_encoding',
          message: 'column "meta" holds bad bytes',
          value: { note: '\uFFFD' },
        },
      ],
      [{ field: '*', layer: 'types', code: 'invalid_encoding', message: 'somewhere', value: null }],
    ]);
    expect(ROW_PROBLEMS).toBe(Symbol.for('syncflow.rowProblems'));
  });
});
