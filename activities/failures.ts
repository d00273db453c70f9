import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { type ConnectorErrorCode, isConnectorError } from '../connectors/errors.ts';
import { AccountingError } from '../db/batches.ts';
import { PageCacheMiss } from './page-cache.ts';

/**
 * Errors as retry decisions, in one place. Every activity's error passes
 * through {@link toActivityFailure} on its way out (the activity interceptor in
 * worker/failure-interceptor.ts), which turns a connector's verdict and
 * SyncFlow's own errors into an ApplicationFailure that tells Temporal what to do:
 *
 * - `type`: stable, `Connector<Code>` for a ConnectorError (`ConnectorAuth`, `ConnectorUnreachable`,
 *   `ConnectorRateLimited`, …), the class name for SyncFlow's own errors;
 * - `nonRetryable`: from the error's class. Refused credentials, a broken configuration, a contract
 *   or schema mismatch, a permanent 4xx, an unreachable server: retrying for minutes cures none of
 *   them, so the activity fails at once and the batch reports the cause. Transient errors (timeouts,
 *   dropped connections, 5xx, 429) are retried by the activity's retry policy;
 * - `nextRetryDelay`: the server's `Retry-After`, when it gave one, instead of Temporal's backoff;
 * - the message stays the connector's ("<connector> <operation>: <cause>"), its JSON the details.
 *
 * So the workflow lists no non-retryable types: every failure says for itself whether to retry.
 */
const PERMANENT_CODES: ReadonlySet<ConnectorErrorCode> = new Set([
  'auth',
  'config',
  'unreachable',
  'client_error',
  'content_type',
  'schema_mismatch',
  'schema_conflict',
  'unknown_column_type',
  'repeated_cursor',
]);

/** `rate_limited` → `ConnectorRateLimited`. */
export function connectorFailureType(code: ConnectorErrorCode): string {
  return `Connector${code
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;
}

/** SyncFlow errors that a retry of the same activity cannot cure (the workflow decides what follows). */
const NON_RETRYABLE_ERRORS: ReadonlyArray<new (...args: never[]) => Error> = [AccountingError, PageCacheMiss];

/**
 * The failure an activity reports for `error`. Temporal's own failures (an ApplicationFailure already
 * built, a cancellation) and errors SyncFlow does not know pass unchanged (those are retried).
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure || error instanceof CancelledFailure) return error;
  if (isConnectorError(error)) {
    const nonRetryable = !error.transient || PERMANENT_CODES.has(error.code);
    return ApplicationFailure.create({
      message: error.message,
      type: connectorFailureType(error.code),
      nonRetryable,
      details: [error.toJSON()],
      ...(!nonRetryable && error.retryAfterMs !== undefined ? { nextRetryDelay: error.retryAfterMs } : {}),
    });
  }
  if (NON_RETRYABLE_ERRORS.some((kind) => error instanceof kind)) {
    const { message, name } = error as Error;
    return ApplicationFailure.create({ message, type: name, nonRetryable: true });
  }
  return error;
}

/** A server that refuses or does not resolve may be restarting: one quick try more before giving up. */
const UNREACHABLE_RETRY_DELAY_MS = 500;

/**
 * Runs one connector call from an activity (connector calls are idempotent). The only in-process retry
 * below Temporal's policy: one quick retry of an unreachable server. Errors go out as they are; the
 * activity boundary turns them into retry decisions ({@link toActivityFailure}).
 */
export async function connectorCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isConnectorError(error) || error.code !== 'unreachable') throw error;
    await new Promise((resolve) => setTimeout(resolve, UNREACHABLE_RETRY_DELAY_MS));
    return await call();
  }
}
