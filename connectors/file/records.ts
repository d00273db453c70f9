import type { ColumnMeta, Row } from '../types.ts';

/** One record read from a file, with the byte offset where the next record starts (the resumable cursor). */
export interface FileRecord {
  row: Row;
  nextOffset: number;
}

/** A file format: where data starts, how to read records from an offset, what the columns are. */
export interface RecordReader {
  /** Byte offset of the first data record (after a BOM and a header line). */
  dataStart(): Promise<number>;
  /** Records from `offset` on; the consumer may stop early (return() closes the file). */
  read(offset: number): AsyncGenerator<FileRecord>;
  describe(): Promise<ColumnMeta[]>;
}
