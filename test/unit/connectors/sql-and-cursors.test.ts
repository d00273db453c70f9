import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../connectors/cursor.ts';
import { csvParserOptions } from '../../../connectors/file/csv-reader.ts';
import { rowversionAbove } from '../../../connectors/file/source.ts';
import { redactingLogger, scrubSecrets } from '../../../connectors/logger.ts';
import { planBatch } from '../../../connectors/postgres/batch-plan.ts';
import { bisectFailures } from '../../../connectors/postgres/bisect.ts';
import { copyLine, encoderFor, escapeCopyText } from '../../../connectors/postgres/copy-text.ts';
import { buildKeysetQuery, keyText } from '../../../connectors/postgres/keyset.ts';

describe('cursor', () => {
  it('round-trips any JSON payload as URL-safe text and refuses foreign text', () => {
    const cursor = encodeCursor(['DE01', 'P/100+?', '2024-01-01 10:00:00']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(['DE01', 'P/100+?', '2024-01-01 10:00:00']);
    expect(() => decodeCursor('garbage')).toThrow();
    expect(() => decodeCursor(Buffer.from('{"v":99,"p":1}').toString('base64url'))).toThrow(/version/);
  });
});

describe('keyset SQL', () => {
  const columnTypes = new Map([
    ['plant', 'text'],
    ['part_no', 'character varying(20)'],
    ['rv', 'bigint'],
  ]);
  it('orders by the keys with a row comparison and LIMIT, never OFFSET', () => {
    const q = buildKeysetQuery({
      relation: '"s"."t"',
      mode: 'full',
      keyColumns: ['plant', 'part_no'],
      columnTypes,
      after: ['DE01', 'P-9'],
      limit: 11,
    });
    expect(q.text).toBe(
      'SELECT * FROM "s"."t" WHERE ("plant", "part_no") > ($1::text, $2::character varying(20)) ORDER BY "plant" ASC, "part_no" ASC LIMIT $3',
    );
    expect(q.values).toEqual(['DE01', 'P-9', 11]);
    expect(q.text).not.toMatch(/OFFSET/i);
  });
  it('reads incrementally by (rowversion, keys) above the watermark', () => {
    const q = buildKeysetQuery({
      relation: 't',
      mode: 'incremental',
      keyColumns: ['part_no'],
      rowversionColumn: 'rv',
      columnTypes,
      after: ['7', 'P-1'],
      watermark: '5',
    });
    expect(q.text).toBe(
      'SELECT * FROM t WHERE "rv" > $1::bigint AND ("rv", "part_no") > ($2::bigint, $3::character varying(20)) ORDER BY "rv" ASC, "part_no" ASC',
    );
  });
  it('refuses a cursor that does not fit and NULL keys', () => {
    expect(() =>
      buildKeysetQuery({ relation: 't', mode: 'full', keyColumns: ['plant'], columnTypes, after: ['a', 'b'] }),
    ).toThrow();
    expect(() => keyText(null)).toThrow(/NULL/);
    expect(keyText(Buffer.from([1, 255]))).toBe('\\x01ff');
  });
});

describe('COPY text encoding', () => {
  it('escapes the characters that would break a line and renders each kind', () => {
    expect(escapeCopyText('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
    expect(
      copyLine(
        [null, 'x', 1.5, true, { a: 'b\n' }],
        [0, 0, 0, 0, 0].map(() => encoderFor('string')),
      ),
    ).toBe('\\N\tx\t1.5\tt\t{"a":"b\\\\n"}\n');
    expect(copyLine(['only'], [encoderFor('string')])).toBe('only\n');
    expect(copyLine([], [])).toBe('\n');
    expect(encoderFor('number')(-1234.5)).toBe('-1234.5');
    expect(encoderFor('number')(1e21)).toBe('1e+21');
    expect(copyLine([1, 'a\tb', null], [String, encoderFor('string'), encoderFor('string')])).toBe('1\ta\\tb\t\\N\n');
    expect(encoderFor('binary')('cafe')).toBe('\\\\xcafe');
    expect(encoderFor('json')('{"already":"json"}')).toBe('{"already":"json"}');
    expect(encoderFor('json')([1, 2])).toBe('[1,2]');
  });
});

describe('bisection', () => {
  it('finds every failing position with few attempts and keeps the rest', async () => {
    const bad = new Set([3, 17, 18]);
    const landed: number[] = [];
    let attempts = 0;
    const failures = await bisectFailures(
      0,
      31,
      async (lo, hi) => {
        attempts++;
        for (let i = lo; i <= hi; i++) if (bad.has(i)) throw Object.assign(new Error('bad'), { code: '23514' });
        for (let i = lo; i <= hi; i++) landed.push(i);
      },
      () => true,
    );
    expect([...failures.keys()].sort((a, b) => a - b)).toEqual([3, 17, 18]);
    expect(landed).toHaveLength(29);
    expect(attempts).toBeLessThan(32);
  });
  it('lets errors that are not row-level through', async () => {
    await expect(
      bisectFailures(
        0,
        3,
        async () => {
          throw new Error('connection lost');
        },
        () => false,
      ),
    ).rejects.toThrow('connection lost');
  });
});

describe('batch plan', () => {
  it('stages each bk_hash once (last wins), reports one result per input record', () => {
    const rec = (bk: string, v: number) => ({
      bkHash: bk,
      dataHash: `d${v}`,
      rowversion: null,
      refStr: bk,
      data: { v },
    });
    const plan = planBatch(
      {
        inserts: [rec('a', 1), rec('b', 1)],
        updates: [rec('a', 2), { ...rec('c', 1), data: { nope: 1 } }],
        deletes: [
          { bkHash: 'd', refStr: 'd' },
          { bkHash: 'd', refStr: 'd' },
        ],
      },
      new Set(['v']),
    );
    expect(plan.staged.map((s) => [s.seq, s.op, s.bkHash, s.data?.v])).toEqual([
      [0, 'u', 'a', 2],
      [1, 'u', 'b', 1],
      [2, 'd', 'd', undefined],
    ]);
    expect(plan.upsertCount).toBe(2);
    plan.failStaged(1, { type: 'constraint_violation', message: 'x', permanent: true });
    expect(plan.results().map((r) => [r.op, r.bkHash, r.ok, r.error?.type])).toEqual([
      ['insert', 'a', true, undefined],
      ['insert', 'b', false, 'constraint_violation'],
      ['update', 'a', true, undefined],
      ['update', 'c', false, 'unknown_field'],
      ['delete', 'd', true, undefined],
      ['delete', 'd', true, undefined],
    ]);
  });
});

describe('file helpers', () => {
  it('CSV options accept BOM, any delimiter and mixed line ends', () => {
    // Fields come back as bytes (encoding null) so the reader sees invalid UTF-8; it strips the BOM itself.
    expect(csvParserOptions({ delimiter: ';', encoding: 'utf8' })).toMatchObject({
      bom: false,
      encoding: null,
      delimiter: Buffer.from(';'),
      record_delimiter: ['\r\n', '\n', '\r'],
    });
    expect(csvParserOptions({ delimiter: '§', encoding: 'latin1' }).delimiter).toEqual(Buffer.from([0xa7]));
  });
  it('compares rowversions numerically when both are numbers, as text otherwise', () => {
    expect(rowversionAbove('10', '9')).toBe(true);
    expect(rowversionAbove('2024-02-01T00:00:00Z', '2024-01-31T23:00:00Z')).toBe(true);
    expect(rowversionAbove(null, '1')).toBe(false);
    expect(rowversionAbove('', '1')).toBe(false);
  });
});

describe('secret redaction', () => {
  it('scrubs secrets from messages and nested fields', () => {
    const lines: string[] = [];
    const log = (m: string, f?: Record<string, unknown>) => lines.push(m + JSON.stringify(f));
    const logger = redactingLogger({ debug: log, info: log, warn: log, error: log }, ['s3cr3t-pass']);
    logger.warn('login failed for s3cr3t-pass', {
      nested: { error: new Error('bad s3cr3t-pass') },
      list: ['s3cr3t-pass'],
    });
    expect(lines[0]).not.toContain('s3cr3t-pass');
    expect(lines[0]).toContain('***');
    expect(scrubSecrets('abc', ['abc'])).toBe('***');
  });
});
