import { columnMeta } from '../columns.ts';
import { ConnectorError } from '../errors.ts';
import type { ColumnMeta } from '../types.ts';
import { readLines } from './lines.ts';
import type { FileRecord, RecordReader } from './records.ts';

export interface JsonlReaderOptions {
  path: string;
  encoding: 'utf8' | 'latin1';
  columnTypes: Record<string, string>;
  sampleSize: number;
}

const BOM = '\uFEFF';

/** The type name a JSON value suggests (declared-type.ts knows these names). */
export function jsonTypeName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return 'array';
  return typeof value; // string, number, boolean, object
}

/**
 * JSON Lines: one JSON object per line (a Firestore export, for example),
 * nested fields kept as they are (field mapping reads dotted paths). Blank
 * lines are skipped; a line that is not a JSON object stops the read with its
 * byte offset, never skipped silently.
 */
export class JsonlReader implements RecordReader {
  constructor(private readonly options: JsonlReaderOptions) {}

  async dataStart(): Promise<number> {
    return 0;
  }

  async *read(offset: number): AsyncGenerator<FileRecord> {
    try {
      for await (const line of readLines(this.options.path, offset)) {
        let text = line.bytes.toString(this.options.encoding);
        if (line.offset === 0 && text.startsWith(BOM)) text = text.slice(1);
        if (text.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (cause) {
          throw this.malformed('not valid JSON', line.offset, cause);
        }
        if (!value || typeof value !== 'object' || Array.isArray(value))
          throw this.malformed('not a JSON object', line.offset);
        yield { row: value as Record<string, unknown>, nextOffset: line.nextOffset };
      }
    } catch (error) {
      if (error instanceof ConnectorError) throw error;
      throw new ConnectorError(`cannot read ${this.options.path}: ${(error as Error).message}`, {
        connector: 'file',
        operation: 'read jsonl',
        code: 'config',
        transient: false,
        cause: error,
      });
    }
  }

  /** Top-level fields of the first records, in first-seen order, typed by their first non-null value. */
  async describe(): Promise<ColumnMeta[]> {
    const types = new Map<string, string | null>();
    let seen = 0;
    for await (const { row } of this.read(0)) {
      for (const [name, value] of Object.entries(row)) {
        if (!types.get(name)) types.set(name, jsonTypeName(value));
      }
      if (++seen >= this.options.sampleSize) break;
    }
    return [...types].map(([name, type]) => columnMeta(name, this.options.columnTypes[name] ?? type ?? 'string'));
  }

  private malformed(message: string, offset: number, cause?: unknown) {
    return new ConnectorError(`${this.options.path} at byte ${offset}: ${message}`, {
      connector: 'file',
      operation: 'read jsonl',
      code: 'malformed_record',
      transient: false,
      cause,
    });
  }
}
