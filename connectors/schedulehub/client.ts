import { ConnectorError } from '../errors.ts';
import { authenticatedClient, type Credentials, healthCheck } from '../http/auth-protocol.ts';
import type { JsonHttpClient } from '../http/json-client.ts';
import { type RateLimiter, TokenBucket } from '../http/token-bucket.ts';
import type { ConnectorLogger } from '../logger.ts';
import type { HttpTuning } from '../types.ts';
import {
  type BatchResponse,
  batchResponseSchema,
  healthSchema,
  MAX_LOOKUP,
  type RecordInput,
  recordListSchema,
  recordSchema,
  type StoredWireRecord,
} from './protocol.ts';

/**
 * The query string of one lookup stays within this many characters of bk_hashes: 500 hashes of 32 hex characters
 * (MAX_LOOKUP) make a 16.5 KB URL, which HTTP servers refuse (Node's default header limit is 16 KiB: 431). 8 KB is
 * what servers and proxies commonly accept.
 */
export const MAX_LOOKUP_QUERY_CHARS = 8000;

/** bk_hashes in consecutive chunks of at most MAX_LOOKUP, each joined by commas within MAX_LOOKUP_QUERY_CHARS. */
export function lookupChunks(bkHashes: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const hash of bkHashes) {
    const cost = hash.length + (chunk.length > 0 ? 1 : 0);
    if (chunk.length > 0 && (chunk.length === MAX_LOOKUP || chars + cost > MAX_LOOKUP_QUERY_CHARS)) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chars += hash.length + (chunk.length > 0 ? 1 : 0);
    chunk.push(hash);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export interface SchedulehubClientOptions {
  baseUrl: string;
  credentials: Credentials;
  rpmCap: number;
  /** The cap as shared by every worker (the factory passes the context's); default: a bucket of this client's own. */
  rateLimiter?: RateLimiter;
  logger: ConnectorLogger;
  tuning?: HttpTuning;
}

const CONNECTOR = 'schedulehub';
const BATCH_TIMEOUT_MS = 120_000;

/** Answer of a single-record write: the record, or why ScheduleHub refused it. */
export type SingleOutcome =
  | { ok: true; record: StoredWireRecord | null }
  | { ok: false; status: number; code: string; message: string };

/** The ScheduleHub planning API, call by call, behind a requests-per-minute cap. */
export class SchedulehubClient {
  private readonly http: JsonHttpClient;
  private readonly batchTimeoutMs: number;

  constructor(options: SchedulehubClientOptions) {
    this.http = authenticatedClient({
      ...options,
      connector: CONNECTOR,
      rateLimiter: options.rateLimiter ?? new TokenBucket({ perMinute: options.rpmCap }),
    });
    this.batchTimeoutMs = options.tuning?.batchTimeoutMs ?? BATCH_TIMEOUT_MS;
  }

  health() {
    return healthCheck(this.http, healthSchema);
  }

  async getByBkHash(resource: string, bkHash: string): Promise<StoredWireRecord | null> {
    const response = await this.http.send({
      operation: `get ${resource} record`,
      method: 'GET',
      path: `${base(resource)}/records/by-bk-hash/${bkHash}`,
      schema: recordSchema,
      expectStatuses: [404],
    });
    return response.ok ? response.body : null;
  }

  /** Any number of bk_hashes, looked up in chunks the server accepts (in count and in URL length). */
  async getManyByBkHash(resource: string, bkHashes: string[]): Promise<StoredWireRecord[]> {
    const found: StoredWireRecord[] = [];
    for (const chunk of lookupChunks(bkHashes)) {
      const page = await this.http.request({
        operation: `get ${resource} records`,
        method: 'GET',
        path: `${base(resource)}/records`,
        query: { bk_hash: chunk.join(',') },
        schema: recordListSchema,
      });
      found.push(...page.items);
    }
    return found;
  }

  insert(resource: string, record: RecordInput): Promise<SingleOutcome> {
    return this.single(`insert ${resource} record`, 'POST', `${base(resource)}/records`, record);
  }

  update(resource: string, uid: string, record: RecordInput): Promise<SingleOutcome> {
    return this.single(
      `update ${resource} record`,
      'PATCH',
      `${base(resource)}/records/${encodeURIComponent(uid)}`,
      record,
    );
  }

  remove(resource: string, uid: string): Promise<SingleOutcome> {
    return this.single(`delete ${resource} record`, 'DELETE', `${base(resource)}/records/${encodeURIComponent(uid)}`);
  }

  batchInsert(resource: string, records: RecordInput[], signal?: AbortSignal) {
    return this.batch(resource, 'insert', { records }, signal);
  }

  batchUpdate(resource: string, records: RecordInput[], signal?: AbortSignal) {
    return this.batch(resource, 'update', { records }, signal);
  }

  batchDelete(resource: string, bkHashes: string[], signal?: AbortSignal) {
    return this.batch(resource, 'delete', { bk_hashes: bkHashes }, signal);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** A batch call answers one outcome per record; a reply that does not is a contract breach, not a partial success. */
  private async batch(
    resource: string,
    op: 'insert' | 'update' | 'delete',
    body: { records: RecordInput[] } | { bk_hashes: string[] },
    signal?: AbortSignal,
  ): Promise<BatchResponse> {
    const operation = `batch ${op} ${resource}`;
    const response = await this.http.request({
      operation,
      method: 'POST',
      path: `${base(resource)}/batch/${op}`,
      body,
      schema: batchResponseSchema,
      timeoutMs: this.batchTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    const expected = 'records' in body ? body.records.length : body.bk_hashes.length;
    const indexes = new Set(response.results.map((r) => r.index));
    if (response.results.length !== expected || indexes.size !== expected || [...indexes].some((i) => i >= expected)) {
      throw new ConnectorError(`expected one outcome per record (${expected}), got ${response.results.length}`, {
        connector: CONNECTOR,
        operation,
        code: 'schema_mismatch',
        transient: false,
      });
    }
    return response;
  }

  private async single(
    operation: string,
    method: 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: RecordInput,
  ): Promise<SingleOutcome> {
    const response = await this.http.send({
      operation,
      method,
      path,
      body,
      schema: recordSchema.nullable(),
      expectStatuses: [404, 409, 422],
    });
    if (response.ok) return { ok: true, record: response.body };
    const error = (response.body as { error?: { code?: string; message?: string } } | null)?.error;
    return {
      ok: false,
      status: response.status,
      code: error?.code ?? String(response.status),
      message: error?.message ?? `HTTP ${response.status}`,
    };
  }
}

const base = (resource: string) => `/api/v1/resources/${encodeURIComponent(resource)}`;
