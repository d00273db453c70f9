import { Pool } from 'undici';
import type { z } from 'zod';
import { abortableSleep, abortError, throwIfAborted } from '../abort.ts';
import { ConnectorError } from '../errors.ts';
import type { ConnectorLogger } from '../logger.ts';
import { defaultRetryPolicy, nextDelay, type RetryPolicy } from './backoff.ts';
import { classifyTransportError, errorForStatus } from './classify.ts';
import { parseRetryAfter } from './retry-after.ts';
import type { RateLimiter } from './token-bucket.ts';
import type { TokenSession } from './token-session.ts';

export interface RetryEvent {
  operation: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: ConnectorError;
}

export interface JsonHttpClientOptions {
  connector: string;
  baseUrl: string;
  logger: ConnectorLogger;
  retry?: Partial<RetryPolicy>;
  /** Default per-request deadline (30 s). */
  timeoutMs?: number;
  /** Keep-alive connections kept open to the server. */
  connections?: number;
  rateLimiter?: RateLimiter;
  onRetry?: (event: RetryEvent) => void;
}

export interface JsonRequest<T> {
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  /** Validates a 2xx body (zod at the edge: a contract breach is a typed error, not a crash later). */
  schema: z.ZodType<T>;
  timeoutMs?: number;
  /** false for the login/refresh calls themselves. */
  auth?: boolean;
  /** Non-2xx statuses answered to the caller (with the raw body) instead of thrown, e.g. 404/409/422 per record. */
  expectStatuses?: number[];
  /** Stops the request (and any wait between retries) promptly with an abort error when it fires. */
  signal?: AbortSignal;
}

export type JsonResponse<T> = { status: number; ok: true; body: T } | { status: number; ok: false; body: unknown };

interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  retryAfterMs?: number;
}

/**
 * JSON over HTTP with the failure handling every SyncFlow HTTP connector
 * needs, in one place: keep-alive pooling (undici Pool), a deadline per
 * request, bearer auth with one renewal on 401, a requests-per-minute cap,
 * retries with backoff + jitter on 5xx / 429 (Retry-After honoured) /
 * timeouts / dropped connections, and typed errors for bodies that are
 * truncated, not JSON, or not what the contract says.
 */
export class JsonHttpClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly policy: RetryPolicy;
  private session: TokenSession | null = null;

  constructor(private readonly options: JsonHttpClientOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, { connections: options.connections ?? 10, keepAliveTimeout: 30_000 });
    this.policy = { ...defaultRetryPolicy, ...options.retry };
  }

  useAuth(session: TokenSession): void {
    this.session = session;
  }

  /** Throws unless the answer is 2xx (or listed in `expectStatuses`). */
  async request<T>(request: JsonRequest<T>): Promise<T> {
    const response = await this.send(request);
    if (!response.ok) {
      throw errorForStatus(
        response.status,
        describeBody(response.body),
        this.options.connector,
        request.operation,
        undefined,
      );
    }
    return response.body;
  }

  /** Like {@link request}, but answers `expectStatuses` to the caller instead of throwing. */
  async send<T>(request: JsonRequest<T>): Promise<JsonResponse<T>> {
    const { connector } = this.options;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(request.signal);
      try {
        return await this.attempt(request);
      } catch (caught) {
        // Cancelled by the caller: no retry, and not a transport error.
        if (request.signal?.aborted) throw abortError(request.signal);
        const error = classifyTransportError(caught, connector, request.operation);
        const retryAfter = error.retryAfterMs;
        const canWait = retryAfter === undefined || retryAfter <= this.policy.maxRetryAfterMs;
        if (!error.transient || attempt >= this.policy.maxAttempts || !canWait) throw error;
        const delayMs = nextDelay(this.policy, attempt, retryAfter);
        this.options.logger.warn(`${connector} ${request.operation}: retrying in ${delayMs} ms`, {
          attempt,
          code: error.code,
          status: error.status,
          reason: error.message,
        });
        this.options.onRetry?.({ operation: request.operation, attempt, delayMs, error });
        await abortableSleep(delayMs, request.signal);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** One try, including at most one token renewal after a 401. */
  private async attempt<T>(request: JsonRequest<T>): Promise<JsonResponse<T>> {
    const useAuth = request.auth !== false && this.session !== null;
    let token = useAuth ? await this.session!.token() : undefined;
    let answer = await this.exchange(request, token);
    if (answer.status === 401 && useAuth && token) {
      this.options.logger.info(`${this.options.connector} ${request.operation}: token refused, renewing once`);
      token = await this.session!.renewAfterRejection(token);
      answer = await this.exchange(request, token);
    }
    return this.interpret(request, answer);
  }

  private async exchange(request: JsonRequest<unknown>, token: string | undefined): Promise<RawAnswer> {
    await this.options.rateLimiter?.take(request.signal).catch((cause: unknown) => {
      if (request.signal?.aborted) throw abortError(request.signal); // stopped while waiting for a slot
      // A shared limiter lives in SyncFlow's own database: its failure is ours, not the remote system's.
      throw new ConnectorError(`the request budget could not be read: ${(cause as Error)?.message ?? cause}`, {
        connector: this.options.connector,
        operation: request.operation,
        code: 'database',
        transient: true,
        cause,
      });
    });
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.pool.request({
      method: request.method,
      path: this.basePath + request.path,
      query: request.query,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: request.signal
        ? AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    const contentType = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      contentType,
      text,
      retryAfterMs: parseRetryAfter(response.headers['retry-after'] as string | undefined),
    };
  }

  private interpret<T>(request: JsonRequest<T>, answer: RawAnswer): JsonResponse<T> {
    const { connector } = this.options;
    const { operation } = request;
    const success = answer.status >= 200 && answer.status < 300;
    if (!success && !request.expectStatuses?.includes(answer.status)) {
      throw errorForStatus(answer.status, answer.text.slice(0, 300), connector, operation, answer.retryAfterMs);
    }
    if (answer.status === 204 || answer.text === '') {
      return this.validate(request, answer.status, success, null);
    }
    if (!/^application\/([a-z.+-]*\+)?json\b/i.test(answer.contentType)) {
      throw new ConnectorError(`expected JSON, got content type "${answer.contentType || 'none'}"`, {
        connector,
        operation,
        code: 'content_type',
        transient: false,
        status: answer.status,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch (cause) {
      // Usually a body cut short by a dropped connection or a proxy: worth another try.
      throw new ConnectorError(`malformed or truncated JSON body (${answer.text.length} bytes)`, {
        connector,
        operation,
        code: 'malformed_body',
        transient: true,
        status: answer.status,
        cause,
      });
    }
    return this.validate(request, answer.status, success, parsed);
  }

  private validate<T>(request: JsonRequest<T>, status: number, success: boolean, body: unknown): JsonResponse<T> {
    if (!success) return { status, ok: false, body };
    const result = request.schema.safeParse(body);
    if (!result.success) {
      const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      throw new ConnectorError(`response breaks the contract: ${issues.join('; ')}`, {
        connector: this.options.connector,
        operation: request.operation,
        code: 'schema_mismatch',
        transient: false,
        status,
      });
    }
    return { status, ok: true, body: result.data };
  }
}

function describeBody(body: unknown): string {
  const message = (body as { error?: { message?: unknown } })?.error?.message;
  return typeof message === 'string' ? message : JSON.stringify(body ?? null).slice(0, 300);
}
