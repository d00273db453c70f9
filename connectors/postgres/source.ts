import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import { sourceQueryBody } from '../../pipeline/source-query.ts';
import { abortError, onAbort, throwIfAborted } from '../abort.ts';
import { checkColumnTypes } from '../columns.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import { pagesWithProgress } from '../stream-progress.ts';
import type { ColumnMeta, FetchPageRequest, Page, Row, Source, SourceKeyValue, StreamRequest } from '../types.ts';
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
  /** Longest a single read statement may run (SET LOCAL statement_timeout); default 120000. */
  statementTimeoutMs?: number;
}

const CONNECTOR = 'postgres';
const DEFAULT_STATEMENT_TIMEOUT_MS = 120_000;

/**
 * One statement through the extended protocol (Parse/Bind/Execute): PostgreSQL
 * refuses more than one statement in it, so text embedded from the source's
 * query can never smuggle a second one in.
 */
function oneStatement(text: string, values: unknown[] = []): pg.QueryConfig {
  const config: pg.QueryConfig & { queryMode: 'extended' } = { text, values, queryMode: 'extended' };
  return config;
}

/** A table, view or query read in keyset pages, or streamed through one server-side cursor. */
export class PostgresSource implements Source {
  readonly kind = 'postgres' as const;
  private readonly relation: string;
  private readonly begin: string;
  private columns: ColumnMeta[] | null = null;

  constructor(private readonly options: PostgresSourceOptions) {
    // Newlines around the query: a trailing `-- comment` in it must not swallow the closing parenthesis.
    this.relation = options.table
      ? qualified(options.schema, options.table)
      : `(\n${sourceQueryBody(options.query!)}\n) AS sf_src`;
    const timeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeout) || timeout <= 0) {
      throw new ConnectorError(`statementTimeoutMs must be a positive integer, not ${timeout}`, {
        connector: CONNECTOR,
        operation: 'configure',
        code: 'config',
        transient: false,
      });
    }
    // Our own text, no user input: safe as one simple query (the timeout is a checked integer).
    this.begin = `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${timeout}`;
  }

  async describe(): Promise<ColumnMeta[]> {
    const { schema, table } = this.options;
    try {
      const columns = await this.readOnly('describe', (client) =>
        table ? describeRelation(client, schema, table) : describeQuery(client, this.relation),
      );
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
    const rows: Row[] = await this.readOnly(
      operation,
      async (client) => (await client.query(oneStatement(text, values))).rows,
      request.signal,
    );
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
    try {
      await client.query(this.begin);
    } catch (error) {
      client.release(true);
      throw databaseError(error, CONNECTOR, operation);
    }
    // pg-query-stream reads through a cursor: Parse/Bind/Execute, one statement, like oneStatement().
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
      await client.query('COMMIT');
      clean = true;
    } catch (error) {
      throw databaseError(error, CONNECTOR, operation);
    } finally {
      rowsStream.destroy();
      // A cursor abandoned mid-way leaves the connection in an unknown state (and its transaction
      // open): drop it rather than reuse it; closing the connection rolls the transaction back.
      client.release(clean ? undefined : true);
    }
  }

  async maxRowversion(column: string): Promise<string | null> {
    const { rows } = await this.readOnly('max rowversion', (client) =>
      client.query(oneStatement(`SELECT max(${quoteIdent(column)})::text AS v FROM ${this.relation}`)),
    );
    return rows[0].v ?? null;
  }

  async estimateRowCount(): Promise<number | null> {
    const { rows } = await this.readOnly('estimate row count', (client) =>
      client.query(oneStatement(`EXPLAIN (FORMAT JSON) SELECT * FROM ${this.relation}`)),
    );
    const plan = (rows[0] as { 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> })['QUERY PLAN'][0];
    return plan ? Math.round(plan.Plan['Plan Rows']) : null;
  }

  /**
   * One record's rows by its key (the trace of a record): `WHERE "col" = $1::<declared type> AND …`, one
   * parameterised statement in the read-only transaction; column names come from the entity's configuration
   * and are checked against the relation's columns, values are only ever parameters.
   */
  async readByKey(key: readonly SourceKeyValue[], options: { limit?: number; signal?: AbortSignal } = {}) {
    const operation = 'read by key';
    const limit = options.limit ?? 2;
    const configError = (message: string) =>
      new ConnectorError(message, { connector: CONNECTOR, operation, code: 'config', transient: false });
    if (key.length === 0) throw configError('a key needs at least one column');
    if (!Number.isSafeInteger(limit) || limit < 1) throw configError(`limit must be a positive integer, not ${limit}`);
    const columns = this.columns ?? (await this.describe());
    const columnTypes = new Map(columns.map((c) => [c.name, c.sourceType]));
    const values: unknown[] = [];
    const where = key.map(({ column, value }) => {
      const type = columnTypes.get(column);
      if (!type) throw configError(`no column "${column}" to look the key up in`);
      values.push(value);
      return `${quoteIdent(column)} = $${values.length}::${type}`;
    });
    values.push(limit);
    const text = `SELECT * FROM ${this.relation} WHERE ${where.join(' AND ')} LIMIT $${values.length}`;
    const rows: Row[] = await this.readOnly(
      operation,
      async (client) => (await client.query(oneStatement(text, values))).rows,
      options.signal,
    );
    return rows;
  }

  health() {
    return probe(() =>
      this.readOnly('health', (client) => client.query(oneStatement(`SELECT 1 FROM ${this.relation} LIMIT 1`))),
    );
  }

  /**
   * Runs `work` on one connection inside `BEGIN READ ONLY` with the statement
   * timeout: whatever the query text says, nothing it runs can write, and no
   * read runs unbounded. Every read of the source's relation goes through here
   * (stream() opens the same transaction around its cursor).
   */
  private async readOnly<T>(
    operation: string,
    work: (client: pg.PoolClient) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    throwIfAborted(signal);
    const client = await this.options.pool.connect().catch((error) => {
      throw databaseError(error, CONNECTOR, operation);
    });
    let reusable = true;
    // On abort: cancel the query running now (the activity was cancelled); the read-only transaction rolls back.
    const cancelQuery = () => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) this.options.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    try {
      return await onAbort(signal, cancelQuery, async () => {
        await client.query(this.begin);
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        reusable = false;
      });
      if (signal?.aborted) {
        reusable = false; // a cancel may still be on its way to this connection: do not hand it to another caller
        throw abortError(signal);
      }
      throw databaseError(error, CONNECTOR, operation);
    } finally {
      client.release(reusable ? undefined : true);
    }
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
