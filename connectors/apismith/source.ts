import { checkColumnTypes, columnMeta } from '../columns.ts';
import { ConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import { pagesWithProgress } from '../stream-progress.ts';
import type { ColumnMeta, FetchPageRequest, Page, Source, StreamRequest } from '../types.ts';
import type { ApismithClient } from './client.ts';
import type { ApiDetail, ExecuteRequest } from './protocol.ts';

export interface ApismithSourceOptions {
  client: ApismithClient;
  apiSlug: string;
  params: Record<string, string | number | boolean>;
  unknownTypes: 'as_string' | 'error';
  logger: ConnectorLogger;
}

/**
 * Rows of one APISmith API. Paging is the server's keyset cursor, handed
 * through untouched, so the same cursor gives the same page and a background
 * load resumes exactly where it stopped.
 */
export class ApismithSource implements Source {
  readonly kind = 'apismith' as const;
  private api: ApiDetail | null = null;

  constructor(private readonly options: ApismithSourceOptions) {}

  async describe(): Promise<ColumnMeta[]> {
    const api = await this.loadApi(true);
    const columns = api.columns.map((c) => columnMeta(c.name, c.type, c.nullable));
    return checkColumnTypes(columns, this.options.unknownTypes, 'apismith', (m) => this.options.logger.warn(m));
  }

  async fetchPage(request: FetchPageRequest): Promise<Page> {
    const body = await this.executeRequest(request);
    const page = await this.options.client.execute(
      this.options.apiSlug,
      { ...body, cursor: request.cursor },
      request.signal,
    );
    const more = page.pagination.has_more;
    return { rows: page.data, nextCursor: more ? page.pagination.next_cursor : null, done: !more };
  }

  async *stream(request: StreamRequest): AsyncIterable<Page> {
    const body = await this.executeRequest(request);
    const pages = this.options.client.executeAll(this.options.apiSlug, { ...body, cursor: request.cursor ?? null });
    async function* asPages(): AsyncGenerator<Page> {
      for await (const page of pages) {
        const more = page.pagination.has_more;
        yield { rows: page.data, nextCursor: more ? page.pagination.next_cursor : null, done: !more };
      }
    }
    yield* pagesWithProgress(asPages(), request);
  }

  async maxRowversion(column: string): Promise<string | null | undefined> {
    const api = await this.loadApi(true);
    return api.rowversion_column === column ? api.max_rowversion : undefined; // undefined: this APISmith cannot tell
  }

  async estimateRowCount(): Promise<number | null> {
    return (await this.loadApi(true)).estimated_row_count;
  }

  health() {
    return probe(async () => {
      await this.options.client.health();
      await this.options.client.getApi(this.options.apiSlug); // proves the credentials and that the API exists
    });
  }

  close(): Promise<void> {
    return this.options.client.close();
  }

  private async loadApi(fresh = false): Promise<ApiDetail> {
    if (!this.api || fresh) this.api = await this.options.client.getApi(this.options.apiSlug);
    return this.api;
  }

  private async executeRequest(request: Omit<FetchPageRequest, 'cursor'>): Promise<Omit<ExecuteRequest, 'cursor'>> {
    const base = { params: this.options.params, page_size: request.pageSize, order_by: request.keyColumns };
    if (request.mode === 'full') return base;
    const api = await this.loadApi();
    if (!api.rowversion_column || (request.rowversionColumn && request.rowversionColumn !== api.rowversion_column)) {
      throw new ConnectorError(
        `incremental read needs the API's rowversion column (API has ${api.rowversion_column ?? 'none'}, entity asks for ${request.rowversionColumn ?? 'none'})`,
        { connector: 'apismith', operation: `execute ${this.options.apiSlug}`, code: 'config', transient: false },
      );
    }
    return { ...base, rowversion_above: request.watermark ?? null };
  }
}
