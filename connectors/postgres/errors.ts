import { ConnectorError, unreachableCode, unreachableMessage } from '../errors.ts';

/** SQLSTATE classes that mean "retry may succeed": connection loss, resources, serialization, shutdown. */
const TRANSIENT_CLASSES = ['08', '40', '53', '57', '58'];

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for errors a single row causes (bad value, constraint): found by bisection, reported per record. */
export function isRowLevelError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

export function databaseError(error: unknown, connector: string, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const unreachable = unreachableCode(error);
  if (unreachable) {
    // Refused or no such host: not a blip a retry in a few minutes would cure.
    return new ConnectorError(`cannot reach the database (${unreachable}): ${unreachableMessage(error)}`, {
      connector,
      operation,
      code: 'unreachable',
      transient: false,
      cause: error,
    });
  }
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const transient =
    state === undefined
      ? /ECONN|ETIMEDOUT|EPIPE|terminat|Connection|timeout exceeded when trying to connect/i.test(message)
      : TRANSIENT_CLASSES.includes(state.slice(0, 2));
  return new ConnectorError(`${message}${state ? ` (SQLSTATE ${state})` : ''}`, {
    connector,
    operation,
    code: transient && state === undefined ? 'connection' : 'database',
    transient,
    cause: error,
  });
}
