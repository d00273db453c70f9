import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import { checkColumnTypes } from '../columns.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import { pagesWithProgress } from '../stream-progress.ts';
import type { ColumnMeta, FetchPageRequest, Page, Row, Source, StreamRequest } from '../types.ts';
import { describeQuery, describeRelation } from './catalogue.ts';
import { databaseError } from './errors.ts';
import { buildKeysetQuery, keyText, orderColumns } from './keyset.ts';
import { qualified, quoteIdent, syncTypes } from './pool.ts';

export interface PostgresSourceOptions {
  pool: pg.Pool;
  schema: string;
  table?: string;
  query?: string;
  unknownTypes: 'as_string' | 'error';
  logger: ConnectorLogger;
  /** Whether close() ends the pool (false when the pool is shared). */
  ownsPool: boolean;
}

const CONNECTOR = 'postgres';

/** A table, view or query read in keyset pages, or streamed through one server-side cursor. */
export class PostgresSource implements Source {
  readonly kind = 'postgres' as const;
  private readonly relation: string;
  private columns: ColumnMeta[] | null = null;

  constructor(private readonly options: PostgresSourceOptions) {
    this.relation = options.table
      ? qualified(options.schema, options.table)
      : `(${options.query!.trim().replace(/;+\s*$/, '')}) AS sf_src`;
  }

  async describe(): Promise<ColumnMeta[]> {
    const { pool, schema, table } = this.options;
    try {
      const columns = table ? await describeRelation(pool, schema, table) : await describeQuery(pool, this.relation);
      if (columns.length === 0) {
        throw new ConnectorError(`${schema}.${table} does not exist or has no columns`, {
          connector: CONNECTOR,
          operation: 'describe',
          code: 'config',
          transient: false,
        });
      }
      this.columns = checkColumnTypes(columns, this.options.unknownTypes, CONNECTOR, (m) =>
        this.options.logger.warn(m),
      );
      return this.columns;
    } catch (error) {
      throw databaseError(error, CONNECTOR, 'describe');
    }
  }

  async fetchPage(request: FetchPageRequest): Promise<Page> {
    const operation = 'fetch page';
    const { text, values } = buildKeysetQuery({
      ...(await this.keysetBase(request, operation)),
      after: this.readCursor(request.cursor, operation),
      limit: request.pageSize + 1, // one extra row tells whether another page follows, without another query
    });
    let rows: Row[];
    try {
      rows = (await this.options.pool.query(text, values)).rows;
    } catch (error) {
      throw databaseError(error, CONNECTOR, operation);
    }
    const done = rows.length <= request.pageSize;
    if (!done) rows.length = request.pageSize;
    const order = orderColumns(request);
    return { rows, done, nextCursor: done ? null : cursorAfter(rows[rows.length - 1]!, order) };
  }

  async *stream(request: StreamRequest): AsyncIterable<Page> {
    const operation = 'stream';
    const { text, values } = buildKeysetQuery({
      ...(await this.keysetBase(request, operation)),
      after: this.readCursor(request.cursor ?? null, operation),
    });
    const client = await this.options.pool.connect().catch((error) => {
      throw databaseError(error, CONNECTOR, operation);
    });
    const rowsStream = new QueryStream(text, values, {
      batchSize: request.pageSize,
      highWaterMark: request.pageSize,
      types: syncTypes,
    });
    let clean = false;
    try {
      client.query(rowsStream);
      const order = orderColumns(request);
      yield* pagesWithProgress(pagesOf(rowsStream, request.pageSize, order), request, () => rowsStream.readableLength);
      clean = true;
    } catch (error) {
      throw databaseError(error, CONNECTOR, operation);
    } finally {
      rowsStream.destroy();
      // A cursor abandoned mid-way leaves the connection in an unknown state: drop it rather than reuse it.
      client.release(clean ? undefined : true);
    }
  }

  async maxRowversion(column: string): Promise<string | null> {
    try {
      const { rows } = await this.options.pool.query(
        `SELECT max(${quoteIdent(column)})::text AS v FROM ${this.relation}`,
      );
      return rows[0].v ?? null;
    } catch (error) {
      throw databaseError(error, CONNECTOR, 'max rowversion');
    }
  }

  async estimateRowCount(): Promise<number | null> {
    try {
      const { rows } = await this.options.pool.query(`EXPLAIN (FORMAT JSON) SELECT * FROM ${this.relation}`);
      const plan = (rows[0] as { 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> })['QUERY PLAN'][0];
      return plan ? Math.round(plan.Plan['Plan Rows']) : null;
    } catch (error) {
      throw databaseError(error, CONNECTOR, 'estimate row count');
    }
  }

  health() {
    return probe(() => this.options.pool.query(`SELECT 1 FROM ${this.relation} LIMIT 1`));
  }

  async close(): Promise<void> {
    if (this.options.ownsPool) await this.options.pool.end();
  }

  private async keysetBase(request: Omit<FetchPageRequest, 'cursor'>, operation: string) {
    const columns = this.columns ?? (await this.describe());
    const columnTypes = new Map(columns.map((c) => [c.name, c.sourceType]));
    for (const name of orderColumns(request)) {
      if (!columnTypes.has(name)) {
        throw new ConnectorError(`no column "${name}" to order by`, {
          connector: CONNECTOR,
          operation,
          code: 'config',
          transient: false,
        });
      }
    }
    if (request.mode === 'incremental' && !request.rowversionColumn) {
      throw new ConnectorError('incremental reads need a rowversion column', {
        connector: CONNECTOR,
        operation,
        code: 'config',
        transient: false,
      });
    }
    return {
      relation: this.relation,
      mode: request.mode,
      keyColumns: request.keyColumns,
      rowversionColumn: request.rowversionColumn,
      columnTypes,
      watermark: request.watermark,
    };
  }

  private readCursor(cursor: string | null, operation: string): string[] | null {
    if (cursor === null) return null;
    try {
      const after = decodeCursor<unknown>(cursor);
      if (!Array.isArray(after) || !after.every((v) => typeof v === 'string')) throw new Error('not a key list');
      return after;
    } catch (cause) {
      throw new ConnectorError('the cursor is not one this source made', {
        connector: CONNECTOR,
        operation,
        code: 'config',
        transient: false,
        cause,
      });
    }
  }
}

function cursorAfter(row: Row, order: string[]): string {
  return encodeCursor(order.map((c) => keyText(row[c])));
}

/** Groups streamed rows into pages, looking one row ahead so the last page is known to be last. */
async function* pagesOf(rows: AsyncIterable<Row>, pageSize: number, order: string[]): AsyncGenerator<Page> {
  let page: Row[] = [];
  for await (const row of rows) {
    if (page.length === pageSize) {
      yield { rows: page, done: false, nextCursor: cursorAfter(page[page.length - 1]!, order) };
      page = [];
    }
    page.push(row);
  }
  yield { rows: page, done: true, nextCursor: null };
}
