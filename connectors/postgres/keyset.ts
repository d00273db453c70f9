import { quoteIdent } from './pool.ts';

/**
 * Keyset paging SQL: `WHERE (order columns) > (last values) ORDER BY ... LIMIT`,
 * never OFFSET, so rows inserted or deleted behind the cursor never shift a
 * page. Full reads order by the key columns; incremental reads by
 * (rowversion, keys) above the watermark.
 */
export interface KeysetSpec {
  /** A quoted relation: `"schema"."table"` or `(SELECT ...) AS sf_src`. */
  relation: string;
  mode: 'full' | 'incremental';
  keyColumns: string[];
  rowversionColumn?: string;
  /** Declared type per column (format_type), used to cast cursor and watermark parameters. */
  columnTypes: Map<string, string>;
  /** Text values of the order columns of the last row read, or null for the first page. */
  after: string[] | null;
  watermark?: string | null;
  /** Omitted for a streamed read (no LIMIT). */
  limit?: number;
}

export function orderColumns(spec: Pick<KeysetSpec, 'mode' | 'keyColumns' | 'rowversionColumn'>): string[] {
  if (spec.mode === 'full') return spec.keyColumns;
  if (!spec.rowversionColumn) throw new Error('incremental reads need a rowversion column');
  return [spec.rowversionColumn, ...spec.keyColumns.filter((k) => k !== spec.rowversionColumn)];
}

export function buildKeysetQuery(spec: KeysetSpec): { text: string; values: unknown[] } {
  const columns = orderColumns(spec);
  if (columns.length === 0) throw new Error('keyset paging needs at least one key column');
  const values: unknown[] = [];
  const param = (value: unknown, column: string) => {
    values.push(value);
    const type = spec.columnTypes.get(column);
    if (!type) throw new Error(`unknown column "${column}"`);
    return `$${values.length}::${type}`;
  };
  const where: string[] = [];
  if (spec.mode === 'incremental' && spec.watermark !== undefined && spec.watermark !== null) {
    where.push(`${quoteIdent(spec.rowversionColumn!)} > ${param(spec.watermark, spec.rowversionColumn!)}`);
  }
  if (spec.after) {
    if (spec.after.length !== columns.length) throw new Error('the cursor does not match the order columns');
    const left = columns.map(quoteIdent).join(', ');
    const right = columns.map((c, i) => param(spec.after![i], c)).join(', ');
    where.push(`(${left}) > (${right})`);
  }
  const order = columns.map((c) => `${quoteIdent(c)} ASC`).join(', ');
  let text = `SELECT * FROM ${spec.relation}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}`;
  if (spec.limit !== undefined) {
    values.push(spec.limit);
    text += ` LIMIT $${values.length}`;
  }
  return { text, values };
}

/** The text form of a key value as read back (exact for bigint/numeric/dates, which arrive as text). */
export function keyText(value: unknown): string {
  if (value === null || value === undefined)
    throw new Error('a key or rowversion column holds NULL: keyset paging needs non-null keys');
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
