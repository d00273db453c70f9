import pg from 'pg';
import type { ExecuteRequest, ExecuteResponse } from '../../connectors/apismith/protocol.ts';
import { decodeCursor, encodeCursor } from '../../connectors/cursor.ts';
import { buildKeysetQuery, keyText, orderColumns } from '../../connectors/postgres/keyset.ts';
import { qualified, quoteIdent } from '../../connectors/postgres/pool.ts';
import type { ErpStore, RegisteredApi } from './erp-store.ts';

export class ExecuteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** JSON has no bytes: RAW/BLOB values travel as lower-case hex, as APISmith sends them. */
function toWire(row: Record<string, unknown>): Record<string, unknown> {
  for (const [name, value] of Object.entries(row)) {
    if (Buffer.isBuffer(value)) row[name] = value.toString('hex');
  }
  return row;
}

/**
 * One page of an API: keyset paging over the ERP table (the same SQL builder
 * SyncFlow's PostgreSQL source uses), ordered by `order_by` plus the primary
 * key, or by (rowversion, ...) for incremental reads. The cursor is the last
 * row's order values, so the same cursor always answers the same page.
 */
export async function executeApi(
  store: ErpStore,
  api: RegisteredApi,
  request: ExecuteRequest,
  repeatCursor: () => boolean,
): Promise<ExecuteResponse> {
  const columnNames = new Set(api.columns.map((c) => c.name));
  for (const name of [...(request.order_by ?? []), ...Object.keys(request.params ?? {})]) {
    if (!columnNames.has(name)) throw new ExecuteError('unknown_column', `the API ${api.slug} has no column "${name}"`);
  }
  const filters = Object.entries(request.params ?? {}).map(
    ([name, value]) => `${quoteIdent(name)} = ${pg.escapeLiteral(String(value))}`,
  );
  const table = qualified(store.erpSchema, api.table_name);
  const relation = filters.length ? `(SELECT * FROM ${table} WHERE ${filters.join(' AND ')}) AS q` : table;
  const keyColumns = [...(request.order_by ?? []), ...api.key_columns.filter((k) => !request.order_by?.includes(k))];
  const incremental = request.rowversion_above !== undefined;
  const mode = incremental ? ('incremental' as const) : ('full' as const);
  const types = await store.pool.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  let after: string[] | null = null;
  if (request.cursor) {
    try {
      after = decodeCursor<string[]>(request.cursor);
    } catch {
      throw new ExecuteError('invalid_cursor', 'the cursor was not issued by this API');
    }
  }
  const spec = {
    relation,
    mode,
    keyColumns,
    rowversionColumn: api.rowversion_column ?? undefined,
    columnTypes: new Map(types.rows.map((r) => [r.name, r.type])),
    after,
    watermark: request.rowversion_above ?? null,
    limit: request.page_size + 1,
  };
  let query: { text: string; values: unknown[] };
  try {
    query = buildKeysetQuery(spec);
  } catch (error) {
    throw new ExecuteError('invalid_cursor', (error as Error).message);
  }
  const { rows } = await store.pool.query(query.text, query.values);
  const hasMore = rows.length > request.page_size;
  if (hasMore) rows.length = request.page_size;
  const order = orderColumns(spec);
  let next = hasMore ? encodeCursor(order.map((c) => keyText(rows[rows.length - 1][c]))) : null;
  if (hasMore && request.cursor && repeatCursor()) next = request.cursor;
  return { data: rows.map(toWire), pagination: { next_cursor: next, has_more: hasMore, page_size: request.page_size } };
}
