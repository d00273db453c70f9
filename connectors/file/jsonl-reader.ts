import { isSafeNumber, parse } from 'lossless-json';
import { columnMeta } from '../columns.ts';
import { ConnectorError } from '../errors.ts';
import type { ColumnMeta } from '../types.ts';
import { readLines } from './lines.ts';
import type { FileRecord, RecordReader } from './records.ts';
import {
  decodeBytes,
  type FileEncoding,
  type InvalidText,
  InvalidTextHandler,
  type InvalidTextPolicy,
  wellFormed,
} from './text.ts';

export interface JsonlReaderOptions {
  path: string;
  encoding: FileEncoding;
  columnTypes: Record<string, string>;
  sampleSize: number;
  /** Lines with invalid UTF-8 or lone surrogates: `reject` (default) fails the row into the DLQ, `replace` keeps U+FFFD. */
  invalidText?: InvalidTextPolicy;
}

const BOM = '\uFEFF';

/** The type name a JSON value suggests (declared-type.ts knows these names). */
export function jsonTypeName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return 'array';
  return typeof value; // string, number, boolean, object
}

/**
 * A JSON number as the value a row carries: a number when a double holds it
 * exactly (its text reads back the same), otherwise its exact decimal text.
 * So 9007199254740993 and 9007199254740992 stay two keys, as they are in the
 * file; NORMALIZE reads numeric text exactly (pipeline/normalize/numbers.ts).
 */
export function exactJsonNumber(text: string): number | string {
  if (!isSafeNumber(text)) return text;
  const value = Number(text);
  // isSafeNumber accepts `1e23` (its digits read back); an integer beyond 2^53 still is not exact as a double.
  return Number.isInteger(value) && !Number.isSafeInteger(value) ? text : value;
}

/**
 * A parsed value with every lone surrogate replaced, and whether it held one
 * or (when the line's bytes were not valid UTF-8) a U+FFFD. Unchanged values
 * are returned as they are: a clean row allocates nothing.
 */
function scrub(value: unknown, bytesInvalid: boolean, found: { surrogate: boolean; bytes: boolean }): unknown {
  if (typeof value === 'string') {
    if (bytesInvalid && value.includes('\uFFFD')) found.bytes = true;
    const checked = wellFormed(value);
    if (!checked.valid) found.surrogate = true;
    return checked.text;
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => scrub(item, bytesInvalid, found));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (value && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const [k, v] = [scrub(key, bytesInvalid, found) as string, scrub(item, bytesInvalid, found)];
      changed ||= k !== key || v !== item;
      return [k, v] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

/**
 * JSON Lines: one JSON object per line (a Firestore export, for example),
 * nested fields kept as they are (field mapping reads dotted paths). Blank
 * lines are skipped; a line that is not a JSON object stops the read with its
 * byte offset, never skipped silently.
 */
export class JsonlReader implements RecordReader {
  readonly invalidText: InvalidTextHandler;

  constructor(private readonly options: JsonlReaderOptions) {
    this.invalidText = new InvalidTextHandler(options.invalidText);
  }

  async dataStart(): Promise<number> {
    return 0;
  }

  read(offset: number): AsyncGenerator<FileRecord> {
    return this.records(offset, exactJsonNumber);
  }

  /**
   * Records from `offset`. describe() only needs each value's type, so it
   * parses numbers plainly (a big integer is still a `number` column).
   */
  private async *records(offset: number, parseNumber: (text: string) => unknown): AsyncGenerator<FileRecord> {
    try {
      for await (const line of readLines(this.options.path, offset)) {
        let { text, valid } = decodeBytes(line.bytes, this.options.encoding);
        if (line.offset === 0 && text.startsWith(BOM)) text = text.slice(1);
        if (text.trim() === '') continue;
        let value: unknown;
        try {
          value = parse(text, null, parseNumber);
        } catch (cause) {
          throw this.malformed(`not valid JSON (${(cause as Error).message})`, line.offset, cause);
        }
        if (!value || typeof value !== 'object' || Array.isArray(value))
          throw this.malformed('not a JSON object', line.offset);
        const invalid: InvalidText[] = [];
        let changed = false;
        const entries = Object.entries(value).map(([key, item]) => {
          const found = { surrogate: false, bytes: false };
          const column = scrub(key, !valid, found) as string;
          const cleaned = scrub(item, !valid, found);
          changed ||= column !== key || cleaned !== item;
          if (found.bytes) invalid.push({ column, reason: 'bytes that are not valid UTF-8' });
          else if (found.surrogate) invalid.push({ column, reason: 'a lone UTF-16 surrogate' });
          return [column, cleaned] as const;
        });
        // fromEntries defines own properties: a `__proto__` key stays a column, as JSON.parse kept it.
        const row = changed ? Object.fromEntries(entries) : (value as Record<string, unknown>);
        // Invalid bytes outside any string would have made the line invalid JSON: a column always takes the blame.
        this.invalidText.settle(row, invalid, `at byte ${line.offset}`);
        yield { row, nextOffset: line.nextOffset };
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
    for await (const { row } of this.records(0, Number)) {
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
