import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvReader } from '../../../connectors/file/csv-reader.ts';
import { JsonlReader } from '../../../connectors/file/jsonl-reader.ts';
import { FileSource } from '../../../connectors/file/source.ts';
import type { InvalidTextPolicy } from '../../../connectors/file/text.ts';
import type { Row } from '../../../connectors/types.ts';
import { rowProblemsOf } from '../../../pipeline/row-problems.ts';

/**
 * Issue 10, findings 9 and 14, at the reader: JSON numbers keep their digits,
 * and invalid text (bytes that are not UTF-8, lone surrogates) is never
 * silently turned into U+FFFD. Readers are built directly (the factory and
 * connections are configuration's business).
 */
const fixtures = path.resolve(import.meta.dirname, '../../fixtures/csv');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'syncflow-text-'));
});

async function file(name: string, ...parts: Array<string | number[]>): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))));
  return target;
}

const jsonl = (file: string, invalidText?: InvalidTextPolicy) =>
  new JsonlReader({ path: file, encoding: 'utf8', columnTypes: {}, sampleSize: 100, invalidText });
const csv = (
  file: string,
  options: { delimiter?: string; encoding?: 'utf8' | 'latin1'; invalidText?: InvalidTextPolicy } = {},
) =>
  new CsvReader({
    path: file,
    delimiter: options.delimiter ?? ',',
    encoding: options.encoding ?? 'utf8',
    columnTypes: {},
    invalidText: options.invalidText,
  });

/** A row's columns only (toEqual also compares the symbol-keyed problems). */
const plain = (row: Row | undefined) => Object.fromEntries(Object.entries(row ?? {}));

async function rowsOf(reader: JsonlReader | CsvReader): Promise<Row[]> {
  const page = await new FileSource('test', reader).fetchPage({
    mode: 'full',
    keyColumns: [],
    cursor: null,
    pageSize: 100,
  });
  return page.rows;
}

describe('JSON Lines numbers', () => {
  it('keys beyond 2^53 come out as their exact digits, so they never merge', async () => {
    const reader = jsonl(
      await file(
        'big.jsonl',
        '{"id": 9007199254740993, "n": 1}\n{"id": 9007199254740992, "n": 2}\n',
        '{"id": 12345678901234567891, "n": 3}\n{"id": 12345678901234567890, "n": 4}\n',
        '{"id": 7, "n": 0.1, "x": 1.5e3, "p": 0.1000000000000000055511151231257827}\n',
      ),
    );
    const rows = await rowsOf(reader);
    expect(rows.map((r) => r.id)).toEqual([
      '9007199254740993',
      '9007199254740992',
      '12345678901234567891',
      '12345678901234567890',
      7,
    ]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(5);
    expect(rows[4]).toEqual({ id: 7, n: 0.1, x: 1500, p: '0.1000000000000000055511151231257827' });
    // describe() still calls a column of big integers a number.
    expect((await reader.describe()).map((c) => [c.name, c.kind])).toEqual([
      ['id', 'number'],
      ['n', 'number'],
      ['x', 'number'],
      ['p', 'number'],
    ]);
  });

  it('a duplicate key with another value is a malformed line, not a silent last-wins', async () => {
    await expect(rowsOf(jsonl(await file('dup.jsonl', '{"a": 1, "a": 2}\n')))).rejects.toMatchObject({
      code: 'malformed_record',
      message: expect.stringMatching(/byte 0: not valid JSON \(Duplicate key/),
    });
  });

  it('a __proto__ key stays an ordinary column', async () => {
    const rows = await rowsOf(jsonl(await file('proto.jsonl', '{"__proto__": {"polluted": true}, "k": "\\ud800"}\n')));
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect(Object.keys(rows[0]!)).toEqual(['__proto__', 'k']);
  });
});

describe('invalid text in JSON Lines', () => {
  const lines = () =>
    file(
      'text.jsonl',
      '{"id": 1, "name": "fine \uFFFD kept"}\n',
      '{"id": 2, "name": "bad ',
      [0xff, 0xfe],
      '", "ok": "x"}\n',
      '{"id": 3, "meta": {"note": "lone \\ud800 surrogate"}, "ok": "y"}\n',
      '{"id": 4, "name": "pair \\ud83d\\ude00"}\n',
    );

  it('reject: the row carries an invalid_encoding problem naming the column; its text is well-formed', async () => {
    const rows = await rowsOf(jsonl(await lines()));
    expect(rows.map((r) => rowProblemsOf(r)?.map((p) => [p.column, p.code]))).toEqual([
      undefined,
      [['name', 'invalid_encoding']],
      [['meta', 'invalid_encoding']],
      undefined,
    ]);
    expect(rowProblemsOf(rows[1]!)![0]!.message).toBe(
      'column "name" of the record at byte 35 holds bytes that are not valid UTF-8 (shown as U+FFFD)',
    );
    expect(rowProblemsOf(rows[2]!)![0]!.message).toMatch(/column "meta" .* a lone UTF-16 surrogate/);
    expect(plain(rows[1])).toEqual({ id: 2, name: 'bad \uFFFD\uFFFD', ok: 'x' });
    expect(plain(rows[2])).toEqual({ id: 3, meta: { note: 'lone \uFFFD surrogate' }, ok: 'y' });
    expect(rows[3]).toEqual({ id: 4, name: 'pair \uD83D\uDE00' });
    // What the DLQ stores as the raw row: valid JSON text PostgreSQL's jsonb accepts.
    expect(JSON.stringify(rows[2])).not.toMatch(/\\ud8/);
  });

  it('replace: rows are kept with U+FFFD and counted', async () => {
    const reader = jsonl(await lines(), 'replace');
    const rows = await rowsOf(reader);
    expect(rows.every((r) => rowProblemsOf(r) === undefined)).toBe(true);
    expect(rows[1]!.name).toBe('bad \uFFFD\uFFFD');
    expect(reader.invalidText.replacedRows).toBe(2);
  });
});

describe('invalid text in CSV', () => {
  it('reads the RFC 4180 fixture as before: BOM stripped, quotes, embedded newline, mixed line ends', async () => {
    const reader = csv(path.join(fixtures, 'edge-cases.csv'), { delimiter: ';' });
    expect((await reader.describe()).map((c) => c.name)).toEqual(['part_no', 'description', 'qty', 'rv']);
    expect(await rowsOf(reader)).toEqual([
      { part_no: 'P-1', description: 'Bolt; M8', qty: '10', rv: '1' },
      { part_no: 'P-2', description: 'Nut "hex"', qty: '5', rv: '2' },
      { part_no: 'P-3', description: 'Washer\nwith newline', qty: '', rv: '3' },
      { part_no: 'P-4', description: 'plain', qty: '7', rv: '4' },
    ]);
  });

  it('reject: a field with bytes that are not UTF-8 marks its row, naming the column', async () => {
    const name = await file(
      'bad.csv',
      [0xef, 0xbb, 0xbf],
      'id;name;city\r\n1;"Zoë";Köln\r\n2;',
      [0x5a, 0xe9],
      ';Wien\n3;x;',
      [0xed, 0xa0, 0x80],
      '\n',
    );
    const reader = csv(name, { delimiter: ';' });
    const rows = await rowsOf(reader);
    expect(rows.map(plain)).toEqual([
      { id: '1', name: 'Zoë', city: 'Köln' },
      { id: '2', name: 'Z\uFFFD', city: 'Wien' },
      { id: '3', name: 'x', city: '\uFFFD\uFFFD\uFFFD' },
    ]);
    expect(rows.map((r) => rowProblemsOf(r)?.map((p) => p.column))).toEqual([undefined, ['name'], ['city']]);
    expect(rowProblemsOf(rows[1]!)![0]!.message).toMatch(
      /^column "name" of the record ending at byte \d+ holds bytes that are not valid UTF-8/,
    );
    const replacing = csv(name, { delimiter: ';', invalidText: 'replace' });
    expect((await rowsOf(replacing)).map((r) => rowProblemsOf(r))).toEqual([undefined, undefined, undefined]);
    expect(replacing.invalidText.replacedRows).toBe(2);
  });

  it('latin1 files decode every byte, a non-ASCII delimiter included', async () => {
    const name = await file('latin1.csv', [0x69, 0x64, 0xa7, 0x6e, 0x0a, 0x31, 0xa7, 0x5a, 0xe9, 0x0a]);
    const rows = await rowsOf(csv(name, { delimiter: '§', encoding: 'latin1' }));
    expect(rows).toEqual([{ id: '1', n: 'Zé' }]);
    expect(rowProblemsOf(rows[0]!)).toBeUndefined();
  });

  it('a header with invalid bytes stops the read: it names every column', async () => {
    const name = await file('bad-header.csv', 'id,na', [0xff], 'me\n1,x\n');
    await expect(csv(name).describe()).rejects.toMatchObject({
      code: 'malformed_record',
      message: expect.stringMatching(/header/),
    });
  });
});
