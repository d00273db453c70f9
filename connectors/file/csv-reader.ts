import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { type Options, parse } from 'csv-parse';
import { columnMeta } from '../columns.ts';
import { ConnectorError } from '../errors.ts';
import type { ColumnMeta } from '../types.ts';
import type { FileRecord, RecordReader } from './records.ts';

export interface CsvReaderOptions {
  path: string;
  delimiter: string;
  encoding: 'utf8' | 'latin1';
  columnTypes: Record<string, string>;
}

/**
 * RFC 4180 CSV through csv-parse: quoted fields, doubled quotes, newlines
 * inside quotes, a UTF-8 BOM, any one-character delimiter, and CRLF / LF / CR
 * line ends even mixed in one file. The first record is the header. csv-parse
 * counts bytes consumed, which is exactly the offset of the next record.
 */
export function csvParserOptions(options: Pick<CsvReaderOptions, 'delimiter' | 'encoding'>): Options {
  return {
    bom: true,
    delimiter: options.delimiter,
    encoding: options.encoding,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    info: true,
  };
}

interface ParsedRecord {
  record: string[];
  info: { bytes: number; lines: number };
}

export class CsvReader implements RecordReader {
  private header: { names: string[]; end: number } | null = null;

  constructor(private readonly options: CsvReaderOptions) {}

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
      for (let i = 0; i < names.length; i++) row[names[i]!] = parsed.record[i];
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
    this.header = { names: first.value.record, end: first.value.info.bytes };
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
