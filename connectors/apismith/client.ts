import { ConnectorError } from '../errors.ts';
import { authenticatedClient, type Credentials, healthCheck } from '../http/auth-protocol.ts';
import type { JsonHttpClient } from '../http/json-client.ts';
import type { RateLimiter } from '../http/token-bucket.ts';
import type { ConnectorLogger } from '../logger.ts';
import type { HttpTuning } from '../types.ts';
import {
  apiDetailSchema,
  apiListSchema,
  connectorListSchema,
  type ExecuteRequest,
  type ExecuteResponse,
  executeResponseSchema,
  healthSchema,
} from './protocol.ts';

export interface ApismithClientOptions {
  baseUrl: string;
  credentials: Credentials;
  logger: ConnectorLogger;
  tuning?: HttpTuning;
  /** A requests-per-minute cap (the source's `rpmCap`); none by default. */
  rateLimiter?: RateLimiter;
}

const CONNECTOR = 'apismith';
const DATA_TIMEOUT_MS = 60_000;

/** The APISmith connector API, call by call (the source in ./source.ts builds paging on top). */
export class ApismithClient {
  private readonly http: JsonHttpClient;
  private readonly dataTimeoutMs: number;

  constructor(options: ApismithClientOptions) {
    this.http = authenticatedClient({ ...options, connector: CONNECTOR });
    this.dataTimeoutMs = options.tuning?.dataTimeoutMs ?? DATA_TIMEOUT_MS;
  }

  health() {
    return healthCheck(this.http, healthSchema);
  }

  async listConnectors() {
    return (
      await this.http.request({
        operation: 'list connectors',
        method: 'GET',
        path: '/api/v1/connectors',
        schema: connectorListSchema,
      })
    ).items;
  }

  async listApis() {
    return (
      await this.http.request({ operation: 'list APIs', method: 'GET', path: '/api/v1/apis', schema: apiListSchema })
    ).items;
  }

  getApi(slug: string) {
    return this.http.request({
      operation: `get API ${slug}`,
      method: 'GET',
      path: `/api/v1/apis/${encodeURIComponent(slug)}`,
      schema: apiDetailSchema,
    });
  }

  /** One page. Checks the paging answer is coherent: more pages promised means a new cursor given. */
  async execute(slug: string, request: ExecuteRequest, signal?: AbortSignal): Promise<ExecuteResponse> {
    const operation = `execute ${slug}`;
    const page = await this.http.request({
      operation,
      method: 'POST',
      path: `/api/v1/runtime/${encodeURIComponent(slug)}/execute`,
      body: request,
      schema: executeResponseSchema,
      timeoutMs: this.dataTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    const { next_cursor: next, has_more: more } = page.pagination;
    if (more && (next === null || next === request.cursor)) {
      throw new ConnectorError(
        next === null ? 'has_more is true but next_cursor is null' : 'the page repeats the cursor it was asked for',
        {
          connector: CONNECTOR,
          operation,
          code: next === null ? 'schema_mismatch' : 'repeated_cursor',
          transient: false,
        },
      );
    }
    return page;
  }

  /** Every page from the first to the last, refusing a cursor seen before (a server looping would never end). */
  async *executeAll(
    slug: string,
    request: Omit<ExecuteRequest, 'cursor'> & { cursor?: string | null },
  ): AsyncGenerator<ExecuteResponse> {
    const seen = new Set<string>();
    let cursor = request.cursor ?? null;
    if (cursor) seen.add(cursor);
    for (;;) {
      const page = await this.execute(slug, { ...request, cursor });
      yield page;
      if (!page.pagination.has_more) return;
      const next = page.pagination.next_cursor!;
      if (seen.has(next)) {
        throw new ConnectorError("a page repeated a previous page's cursor", {
          connector: CONNECTOR,
          operation: `execute ${slug}`,
          code: 'repeated_cursor',
          transient: false,
        });
      }
      seen.add(next);
      cursor = next;
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
