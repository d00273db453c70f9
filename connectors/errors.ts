/**
 * The one error type every connector throws. The sync workflow decides from
 * `transient` whether Temporal retries the activity (true) or the failure is
 * reported and the batch goes on (false), so classifying correctly matters
 * more than the message.
 */
export type ConnectorErrorCode =
  | 'auth' // credentials refused, token could not be obtained
  | 'timeout' // no answer in time
  | 'connection' // refused, reset or dropped connection
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

/** True when retrying may help; unknown errors count as transient so nothing is given up too early. */
export function isTransient(error: unknown): boolean {
  return isConnectorError(error) ? error.transient : true;
}
