import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSource } from '../../../connectors/factory.ts';
import type { Page, Row, Source, StreamProgress } from '../../../connectors/types.ts';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/csv');
const fileSource = (
  file: string,
  format: 'csv' | 'jsonl',
  options: { delimiter?: string; columnTypes?: Record<string, string>; invalidText?: 'reject' | 'replace' } = {},
) =>
  createSource(
    {
      type: 'file',
      connection: 'files',
      format,
      path: path.basename(file),
      delimiter: options.delimiter ?? ',',
      invalidText: options.invalidText ?? 'reject',
      encoding: 'utf8',
      columnTypes: options.columnTypes ?? {},
      sampleSize: 100,
    },
    { name: 'files', type: 'files', root: path.dirname(file) },
  );
const csv = (file: string, delimiter = ',') =>
  fileSource(path.join(fixtures, file), 'csv', { delimiter, columnTypes: { qty: 'integer' } });

async function pages(
  source: Source,
  pageSize: number,
  extra: { mode?: 'full' | 'incremental'; watermark?: string } = {},
) {
  const out: Page[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await source.fetchPage({
      mode: extra.mode ?? 'full',
      keyColumns: [],
      rowversionColumn: 'rv',
      watermark: extra.watermark,
      cursor,
      pageSize,
    });
    out.push(page);
    if (page.done) return out;
    cursor = page.nextCursor;
  }
}

describe('file source: CSV', () => {
  it('reads RFC 4180 edge cases: BOM, `;` delimiter, quotes, doubled quotes, embedded newline, CRLF and LF mixed', async () => {
    const source = csv('edge-cases.csv', ';');
    expect((await source.describe()).map((c) => [c.name, c.kind])).toEqual([
      ['part_no', 'string'],
      ['description', 'string'],
      ['qty', 'integer'],
      ['rv', 'string'],
    ]);
    const rows = (await pages(source, 10)).flatMap((p) => p.rows);
    expect(rows).toEqual([
      { part_no: 'P-1', description: 'Bolt; M8', qty: '10', rv: '1' },
      { part_no: 'P-2', description: 'Nut "hex"', qty: '5', rv: '2' },
      { part_no: 'P-3', description: 'Washer\nwith newline', qty: '', rv: '3' },
      { part_no: 'P-4', description: 'plain', qty: '7', rv: '4' },
    ]);
  });

  it('pages with a byte-offset cursor that resumes exactly, and filters incrementally', async () => {
    const source = csv('edge-cases.csv', ';');
    const paged = await pages(source, 1);
    expect(paged.map((p) => p.rows.length)).toEqual([1, 1, 1, 1]);
    const again = await source.fetchPage({ mode: 'full', keyColumns: [], cursor: paged[1]!.nextCursor, pageSize: 1 });
    expect(again.rows).toEqual(paged[2]!.rows);
    const newer = (await pages(source, 1, { mode: 'incremental', watermark: '2' })).flatMap((p) =>
      p.rows.map((r) => r.part_no),
    );
    expect(newer).toEqual(['P-3', 'P-4']);
  });

  it('streams a file larger than the page size holding one page at a time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'syncflow-csv-'));
    const file = path.join(dir, 'big.csv');
    const lines = ['id,name'];
    for (let i = 0; i < 5000; i++) lines.push(`${i},"name ${i}"`);
    await writeFile(file, lines.join('\n'));
    const source = fileSource(file, 'csv');
    const progress: StreamProgress[] = [];
    let last: Row | undefined;
    for await (const page of source.stream({
      mode: 'full',
      keyColumns: [],
      pageSize: 300,
      onProgress: (p) => progress.push(p),
    })) {
      expect(page.rows.length).toBeLessThanOrEqual(300);
      last = page.rows.at(-1) ?? last;
    }
    expect(last).toEqual({ id: '4999', name: 'name 4999' });
    expect(progress.at(-1)).toMatchObject({ rows: 5000, pages: 17 });
    expect(progress.at(-1)!.peakRowsHeld).toBeLessThanOrEqual(300);
    const estimate = (await source.estimateRowCount())!;
    expect(estimate).toBeGreaterThan(2500); // an estimate from the first records' average size
    expect(estimate).toBeLessThan(10_000);
  });

  it('stops with a typed error on a malformed record or a missing file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'syncflow-csv-'));
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'a,b\n1,2\n3,"unterminated\n');
    const source = fileSource(file, 'csv');
    await expect(pages(source, 10)).rejects.toMatchObject({
      name: 'ConnectorError',
      connector: 'file',
      code: 'malformed_record',
      transient: false,
    });
    const missing = fileSource(path.join(dir, 'nope.csv'), 'csv');
    await expect(missing.describe()).rejects.toMatchObject({ code: 'config' });
    expect((await missing.health()).ok).toBe(false);
  });
});

describe('file source: JSON Lines', () => {
  const jsonl = () =>
    fileSource(path.join(fixtures, 'firestore-export.jsonl'), 'jsonl', { columnTypes: { updated: 'timestamp' } });

  it('reads a Firestore-style export with nested fields, skipping blank lines', async () => {
    const source = jsonl();
    expect((await source.describe()).map((c) => [c.name, c.kind])).toEqual([
      ['__name__', 'string'],
      ['title', 'string'],
      ['author', 'string'],
      ['meta', 'json'],
      ['updated', 'timestamp'],
    ]);
    const paged = await pages(source, 2);
    expect(paged.map((p) => p.rows.length)).toEqual([2, 1]);
    expect(paged[0]!.rows[1]).toMatchObject({ author: ['Terry Pratchett', 'Neil Gaiman'], meta: { pages: 288 } });
    expect(paged[1]!.rows[0]).toMatchObject({ title: 'Émile', author: null });
    const resumed = await source.fetchPage({ mode: 'full', keyColumns: [], cursor: paged[0]!.nextCursor, pageSize: 5 });
    expect(resumed.rows).toEqual(paged[1]!.rows);
  });

  it('names the byte offset of a line that is not JSON', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'syncflow-jsonl-'));
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(file, '{"a":1}\n{"a":\n');
    const source = fileSource(file, 'jsonl');
    await expect(pages(source, 10)).rejects.toMatchObject({
      code: 'malformed_record',
      message: expect.stringContaining('byte 8'),
    });
  });
});
