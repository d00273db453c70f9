import { isUtf8 } from 'node:buffer';
import { addRowProblem } from '../../pipeline/row-problems.ts';
import type { Row } from '../types.ts';

/**
 * Text that is not valid in the file's encoding: bytes that are not UTF-8, or
 * a lone UTF-16 surrogate written as a JSON `\uD800` escape. Both would become
 * U+FFFD on the way in; `reject` (the default) sends the row to the DLQ as
 * `invalid_encoding` instead, `replace` keeps it with U+FFFD and counts it.
 * Either way the row's text is well-formed afterwards (PostgreSQL refuses a
 * lone surrogate in jsonb, so even the DLQ's raw copy could not hold one).
 */
export type InvalidTextPolicy = 'reject' | 'replace';
export type FileEncoding = 'utf8' | 'latin1';

export const INVALID_ENCODING = 'invalid_encoding';

/** Bytes as text in `encoding`; `valid` is false when UTF-8 bytes were invalid (each then reads as U+FFFD). */
export function decodeBytes(bytes: Uint8Array, encoding: FileEncoding): { text: string; valid: boolean } {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // latin1 maps every byte to a character: nothing to be invalid.
  return { text: buffer.toString(encoding), valid: encoding === 'latin1' || isUtf8(buffer) };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with each lone surrogate replaced by U+FFFD, and whether there was one. */
export function wellFormed(text: string): { text: string; valid: boolean } {
  LONE_SURROGATE.lastIndex = 0;
  if (!LONE_SURROGATE.test(text)) return { text, valid: true };
  return { text: text.replace(LONE_SURROGATE, '\uFFFD'), valid: false };
}

export interface InvalidText {
  /** The column (CSV header name, JSON top-level key); null when it cannot be told. */
  column: string | null;
  reason: 'bytes that are not valid UTF-8' | 'a lone UTF-16 surrogate';
}

/** What a reader does with a row that held invalid text: marks it for NORMALIZE to fail (reject) or counts it (replace). */
export class InvalidTextHandler {
  /** Rows kept with U+FFFD under `replace` since this reader was made. */
  replacedRows = 0;

  constructor(private readonly policy: InvalidTextPolicy = 'reject') {}

  /** `where` locates the record in the file (`at byte 1234`). */
  settle(row: Row, found: readonly InvalidText[], where: string): void {
    if (found.length === 0) return;
    if (this.policy === 'replace') {
      this.replacedRows++;
      return;
    }
    for (const { column, reason } of found) {
      addRowProblem(row, {
        column,
        code: INVALID_ENCODING,
        message: `${column === null ? 'a value' : `column "${column}"`} of the record ${where} holds ${reason} (shown as U+FFFD)`,
      });
    }
  }
}
