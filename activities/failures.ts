import { ApplicationFailure } from '@temporalio/activity';
import { type ConnectorErrorCode, isConnectorError } from '../connectors/errors.ts';

/**
 * Where a connector's verdict meets Temporal's retry policy. A ConnectorError
 * marked `transient: false` (refused connection, unknown host, refused
 * credentials, a broken configuration) cannot be cured by retrying the
 * activity for minutes, so it fails it at once as non-retryable, with the
 * connector's message (which names the cause) and its error as details.
 * Transient errors pass through unchanged for Temporal to retry.
 */
const FAILURE_TYPES: Partial<Record<ConnectorErrorCode, string>> = {
  unreachable: 'ConnectorUnavailable',
  auth: 'ConnectorAuthRefused',
  config: 'ConnectorConfigInvalid',
};

/** A server that refuses or does not resolve may be restarting: a couple of quick tries before giving up. */
const UNREACHABLE_RETRY_DELAYS_MS = [250, 1_000];

export function connectorFailure(error: unknown): unknown {
  if (!isConnectorError(error) || error.transient) return error;
  return ApplicationFailure.nonRetryable(error.message, FAILURE_TYPES[error.code] ?? 'ConnectorFailed', error.toJSON());
}

/** Runs one connector call from an activity; see {@link connectorFailure}. Connector calls are idempotent. */
export async function connectorCall<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const delay = UNREACHABLE_RETRY_DELAYS_MS[attempt];
      if (isConnectorError(error) && error.code === 'unreachable' && delay !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      throw connectorFailure(error);
    }
  }
}
