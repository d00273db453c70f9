import { ConnectorError, unreachableCode, unreachableMessage } from '../errors.ts';

/** Turns what undici throws (timeouts, resets, refused connections) into a typed, retryable error. */
export function classifyTransportError(error: unknown, connector: string, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const name = (error as { name?: string })?.name ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const base = { connector, operation, cause: error, transient: true } as const;
  const unreachable = unreachableCode(error);
  if (unreachable) {
    // Refused or no such host: the request never left, and retrying for minutes will not make the server appear.
    return new ConnectorError(`cannot reach the server (${unreachable}): ${unreachableMessage(error)}`, {
      ...base,
      code: 'unreachable',
      transient: false,
    });
  }
  if (name === 'TimeoutError' || /TIMEOUT/.test(code)) {
    return new ConnectorError(`timed out (${code || name}): ${message}`, { ...base, code: 'timeout' });
  }
  if (/CONTENT_LENGTH_MISMATCH/.test(code)) {
    return new ConnectorError(`truncated response body: ${message}`, { ...base, code: 'malformed_body' });
  }
  if (name === 'AbortError') {
    return new ConnectorError(`aborted: ${message}`, { ...base, code: 'connection', transient: false });
  }
  return new ConnectorError(`connection failed (${code || name}): ${message}`, { ...base, code: 'connection' });
}

/** The typed error for a non-2xx answer the caller did not ask to handle itself. */
export function errorForStatus(
  status: number,
  detail: string,
  connector: string,
  operation: string,
  retryAfterMs: number | undefined,
): ConnectorError {
  const base = { connector, operation, status };
  if (status === 429) {
    return new ConnectorError(
      `rate limited (429)${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ''}`,
      {
        ...base,
        code: 'rate_limited',
        transient: true,
        retryAfterMs,
      },
    );
  }
  if (status >= 500 || status === 408) {
    return new ConnectorError(`server error ${status}: ${detail}`, {
      ...base,
      code: 'server_error',
      transient: true,
      retryAfterMs,
    });
  }
  if (status === 401 || status === 403) {
    return new ConnectorError(`not authorised (${status}): ${detail}`, { ...base, code: 'auth', transient: false });
  }
  return new ConnectorError(`request refused (${status}): ${detail}`, {
    ...base,
    code: 'client_error',
    transient: false,
  });
}
