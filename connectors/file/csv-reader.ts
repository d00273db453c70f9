import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { type Options, parse } from 'csv-parse';
import { columnMeta } from '../columns.ts';
import { ConnectorError } from '../errors.ts';
import type { ColumnMeta } from '../types.ts';
import type { FileRecord, RecordReader } from './records.ts';
import {
  decodeBytes,
  type FileEncoding,
  type InvalidText,
  InvalidTextHandler,
  type InvalidTextPolicy,
} from './text.ts';

export interface CsvReaderOptions {
  path: string;
  delimiter: string;
  encoding: FileEncoding;
  columnTypes: Record<string, string>;
  /** Fields with bytes that are not valid UTF-8: `reject` (default) fails the row into the DLQ, `replace` keeps U+FFFD. */
  invalidText?: InvalidTextPolicy;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * RFC 4180 CSV through csv-parse: quoted fields, doubled quotes, newlines
 * inside quotes, a UTF-8 BOM, any one-character delimiter, and CRLF / LF / CR
 * line ends even mixed in one file. The first record is the header. csv-parse
 * counts bytes consumed, which is exactly the offset of the next record.
 * Fields come back as bytes (`encoding: null`) and are decoded here, so a
 * field whose bytes are not valid UTF-8 is seen, not silently turned into
 * U+FFFD; for the same reason the reader strips a UTF-8 BOM itself (csv-parse's
 * `bom` would switch it back to decoding).
 */
export function csvParserOptions(options: Pick<CsvReaderOptions, 'delimiter' | 'encoding'>): Options {
  return {
    bom: false,
    delimiter: Buffer.from(options.delimiter, options.encoding),
    encoding: null,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    info: true,
  };
}

interface ParsedRecord {
  record: Uint8Array[];
  info: { bytes: number; lines: number };
}

export class CsvReader implements RecordReader {
  readonly invalidText: InvalidTextHandler;
  private header: { names: string[]; end: number } | null = null;

  constructor(private readonly options: CsvReaderOptions) {
    this.invalidText = new InvalidTextHandler(options.invalidText);
  }

  async dataStart(): Promise<number> {
    return (await this.readHeader()).end;
  }

  async *read(offset: number): AsyncGenerator<FileRecord> {
    const { names } = await this.readHeader();
    for await (const parsed of this.parseFrom(offset)) {
      if (parsed.record.length !== names.length) {
        throw this.malformed(
          `a record has ${parsed.record.length} fields, the header ${names.length}`,
          offset + parsed.info.bytes,
        );
      }
      const row: Record<string, unknown> = {};
      const invalid: InvalidText[] = [];
      for (let i = 0; i < names.length; i++) {
        const { text, valid } = decodeBytes(parsed.record[i]!, this.options.encoding);
        row[names[i]!] = text;
        if (!valid) invalid.push({ column: names[i]!, reason: 'bytes that are not valid UTF-8' });
      }
      this.invalidText.settle(row, invalid, `ending at byte ${offset + parsed.info.bytes}`);
      yield { row, nextOffset: offset + parsed.info.bytes };
    }
  }

  async describe(): Promise<ColumnMeta[]> {
    const { names } = await this.readHeader();
    return names.map((name) => columnMeta(name, this.options.columnTypes[name] ?? 'string'));
  }

  private async readHeader() {
    if (this.header) return this.header;
    const parsed = this.parseFrom(0);
    const first = await parsed.next();
    await parsed.return(undefined);
    if (first.done) throw this.malformed('the file is empty (no header record)', 0);
    const fields = first.value.record;
    if (fields[0] && UTF8_BOM.every((byte, i) => fields[0]![i] === byte)) fields[0] = fields[0].subarray(3);
    const names = fields.map((bytes) => {
      const { text, valid } = decodeBytes(bytes, this.options.encoding);
      // The header names every column: a wrong byte there is a broken file, not one bad row.
      if (!valid) throw this.malformed(`the header holds bytes that are not valid UTF-8 (${JSON.stringify(text)})`, 0);
      return text;
    });
    this.header = { names, end: first.value.info.bytes };
    return this.header;
  }

  private async *parseFrom(offset: number): AsyncGenerator<ParsedRecord> {
    const file = createReadStream(this.options.path, { start: offset });
    // pipeline (not pipe) so a read error such as ENOENT reaches the parser and ends the loop below.
    const parser = pipeline(file, parse(csvParserOptions(this.options)), () => {});
    try {
      for await (const parsed of parser) yield parsed as ParsedRecord;
    } catch (error) {
      if (error instanceof ConnectorError) throw error;
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        throw new ConnectorError(`cannot open ${this.options.path}: ${code}`, {
          connector: 'file',
          operation: 'read',
          code: 'config',
          transient: false,
          cause: error,
        });
      }
      throw this.malformed((error as Error).message, offset, error);
    } finally {
      parser.destroy();
      file.destroy();
    }
  }

  private malformed(message: string, offset: number, cause?: unknown) {
    return new ConnectorError(`${this.options.path} near byte ${offset}: ${message}`, {
      connector: 'file',
      operation: 'read csv',
      code: 'malformed_record',
      transient: false,
      cause,
    });
  }
}
