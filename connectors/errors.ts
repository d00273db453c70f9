/**
 * The one error type every connector throws. The sync workflow decides from
 * `transient` whether Temporal retries the activity (true) or the failure is
 * reported and the batch goes on (false), so classifying correctly matters
 * more than the message.
 */
export type ConnectorErrorCode =
  | 'auth' // credentials refused, token could not be obtained
  | 'timeout' // no answer in time
  | 'connection' // reset or dropped connection
  | 'unreachable' // refused connection or unknown host: nothing listens there, retrying will not help
  | 'rate_limited' // 429 (retryAfterMs says how long the server asked us to wait)
  | 'server_error' // 5xx
  | 'client_error' // a 4xx the caller cannot fix by retrying
  | 'malformed_body' // truncated or unparsable response body
  | 'content_type' // the server answered something that is not JSON
  | 'schema_mismatch' // valid JSON that breaks the documented contract
  | 'repeated_cursor' // a page repeated a cursor already seen: paging would loop forever
  | 'unknown_column_type' // the source declares a type SyncFlow cannot interpret
  | 'rejected' // the target refused a record (validation, constraint)
  | 'schema_conflict' // the target's existing schema does not match the entity's fields
  | 'malformed_record' // a source record that cannot be read (bad CSV row, bad JSON line)
  | 'database' // any other database failure
  | 'config'; // a configuration problem (missing env var, bad option)

export interface ConnectorErrorOptions {
  connector: string;
  operation: string;
  code: ConnectorErrorCode;
  transient: boolean;
  cause?: unknown;
  status?: number;
  retryAfterMs?: number;
}

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  readonly connector: string;
  readonly operation: string;
  readonly code: ConnectorErrorCode;
  readonly transient: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, options: ConnectorErrorOptions) {
    super(`${options.connector} ${options.operation}: ${message}`, { cause: options.cause });
    this.connector = options.connector;
    this.operation = options.operation;
    this.code = options.code;
    this.transient = options.transient;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** A plain object for logs, the DLQ and API answers (no stack, no secrets: messages are built redacted). */
  toJSON() {
    return {
      name: this.name,
      connector: this.connector,
      operation: this.operation,
      code: this.code,
      transient: this.transient,
      status: this.status,
      message: this.message,
      cause:
        this.cause instanceof Error ? this.cause.message : this.cause === undefined ? undefined : String(this.cause),
    };
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * The errno code when `error` says the server cannot be reached at all: the
 * connection was refused, or the host name does not resolve. Looked for
 * through `cause` and an AggregateError's `errors` (Node tries each address
 * of a host and reports them together). Nothing was sent in that case.
 */
export function unreachableCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 4) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNREACHABLE.has(code)) return code;
  const nested = [cause, ...(Array.isArray(errors) ? errors : [])];
  for (const inner of nested) {
    const found = unreachableCode(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The message of an unreachable-server error: Node's own names the address (an AggregateError's is empty). */
export function unreachableMessage(error: unknown): string {
  const own = error instanceof Error ? error.message : String(error);
  if (own) return own;
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) ? errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ') : '';
}

/** True when retrying may help; unknown errors count as transient so nothing is given up too early. */
export function isTransient(error: unknown): boolean {
  return isConnectorError(error) ? error.transient : true;
}
