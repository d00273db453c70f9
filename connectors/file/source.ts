import { stat } from 'node:fs/promises';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import { pagesWithProgress } from '../stream-progress.ts';
import type { ColumnMeta, FetchPageRequest, Page, Row, Source, StreamRequest } from '../types.ts';
import type { FileRecord, RecordReader } from './records.ts';

/** Numeric rowversions compare as numbers, anything else as text (ISO timestamps order correctly as text). */
export function rowversionAbove(value: unknown, watermark: string): boolean {
  if (value === null || value === undefined || value === '') return false;
  const text = String(value);
  const a = Number(text);
  const b = Number(watermark);
  if (text.trim() !== '' && watermark.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return a > b;
  return text > watermark;
}

/**
 * An export file read in file order (the stable order a file has; key
 * columns are not needed to page it). The cursor is the byte offset of the
 * next record, so a page is re-read exactly and a background load resumes
 * mid-file without re-reading what came before.
 */
export class FileSource implements Source {
  readonly kind = 'file' as const;

  constructor(
    private readonly path: string,
    private readonly reader: RecordReader,
  ) {}

  describe(): Promise<ColumnMeta[]> {
    return this.reader.describe();
  }

  async fetchPage(request: FetchPageRequest): Promise<Page> {
    const records = this.matching(await this.startOffset(request.cursor), request);
    const rows: Row[] = [];
    let nextOffset = 0;
    try {
      for await (const record of records) {
        if (rows.length === request.pageSize) {
          return { rows, done: false, nextCursor: encodeCursor(nextOffset) };
        }
        rows.push(record.row);
        nextOffset = record.nextOffset;
      }
    } finally {
      await records.return(undefined);
    }
    return { rows, done: true, nextCursor: null };
  }

  async *stream(request: StreamRequest): AsyncIterable<Page> {
    const records = this.matching(await this.startOffset(request.cursor ?? null), request);
    async function* pages(): AsyncGenerator<Page> {
      let rows: Row[] = [];
      let nextOffset = 0;
      for await (const record of records) {
        if (rows.length === request.pageSize) {
          yield { rows, done: false, nextCursor: encodeCursor(nextOffset) };
          rows = [];
        }
        rows.push(record.row);
        nextOffset = record.nextOffset;
      }
      yield { rows, done: true, nextCursor: null };
    }
    yield* pagesWithProgress(pages(), request);
  }

  /** File size divided by the average size of the first records. */
  async estimateRowCount(): Promise<number | null> {
    const { size } = await stat(this.path);
    const start = await this.reader.dataStart();
    let count = 0;
    let end = start;
    for await (const record of this.reader.read(start)) {
      end = record.nextOffset;
      if (++count >= 100) break;
    }
    if (count === 0) return 0;
    return Math.round((size - start) / ((end - start) / count));
  }

  health() {
    return probe(() => stat(this.path));
  }

  async close(): Promise<void> {}

  private async startOffset(cursor: string | null): Promise<number> {
    if (cursor === null) return this.reader.dataStart();
    try {
      const offset = decodeCursor<unknown>(cursor);
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new Error('not an offset');
      return offset;
    } catch (cause) {
      throw new ConnectorError('the cursor is not one this source made', {
        connector: 'file',
        operation: 'fetch page',
        code: 'config',
        transient: false,
        cause,
      });
    }
  }

  /** Records from the offset; for incremental reads only those above the watermark (the others still advance the cursor). */
  private async *matching(offset: number, request: Omit<FetchPageRequest, 'cursor'>): AsyncGenerator<FileRecord> {
    const { mode, rowversionColumn, watermark } = request;
    if (mode === 'incremental' && !rowversionColumn) {
      throw new ConnectorError('incremental reads need a rowversion column', {
        connector: 'file',
        operation: 'fetch page',
        code: 'config',
        transient: false,
      });
    }
    for await (const record of this.reader.read(offset)) {
      if (mode === 'incremental' && watermark != null && !rowversionAbove(record.row[rowversionColumn!], watermark))
        continue;
      yield record;
    }
  }
}
