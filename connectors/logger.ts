import { type Logger, logger, MASK } from '../log/logger.ts';

/**
 * The logger connectors write to. Connectors never log credentials; on top of
 * that, {@link redactingLogger} scrubs every known secret value from messages
 * and fields, so a secret that slips into an error text is still not printed.
 * In a process it is {@link connectorLogger}: SyncFlow's pino logger
 * (log/logger.ts), which also redacts secret-named fields and, inside an
 * activity, adds the workflow id, activity type and attempt to every line.
 */
export interface ConnectorLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: ConnectorLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Connector lines through SyncFlow's logger (`logger: "connectors"`, and `connector: name` when given): one JSON line on stderr. */
export function connectorLogger(name?: string, base: Logger = logger('connectors')): ConnectorLogger {
  const log = name ? base.child({ connector: name }) : base;
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}

/** Replaces every occurrence of a secret in a string (secrets shorter than 4 characters are too risky to blind-replace and are masked only as whole values). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(MASK);
    else if (out === secret) out = MASK;
  }
  return out;
}

function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (value instanceof Error) return scrubSecrets(value.message, secrets);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, secrets)]));
  }
  return value;
}

/** Wraps a logger so the given secret values never reach it. */
export function redactingLogger(base: ConnectorLogger, secrets: readonly string[]): ConnectorLogger {
  const active = secrets.filter((s) => s.length > 0);
  const wrap = (fn: ConnectorLogger['info']) => (message: string, fields?: Record<string, unknown>) =>
    fn(scrubSecrets(message, active), fields && (scrubValue(fields, active) as Record<string, unknown>));
  return { debug: wrap(base.debug), info: wrap(base.info), warn: wrap(base.warn), error: wrap(base.error) };
}
