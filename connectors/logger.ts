/**
 * The logger connectors write to. Connectors never log credentials; on top of
 * that, {@link redactingLogger} scrubs every known secret value from messages
 * and fields, so a secret that slips into an error text is still not printed.
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

/** One JSON line per event on stderr (structured logs); debug only when SYNCFLOW_LOG_LEVEL=debug. */
export function consoleLogger(name: string, level = process.env.SYNCFLOW_LOG_LEVEL ?? 'info'): ConnectorLogger {
  const write = (lvl: string) => (message: string, fields?: Record<string, unknown>) => {
    console.error(JSON.stringify({ time: new Date().toISOString(), level: lvl, logger: name, message, ...fields }));
  };
  return {
    debug: level === 'debug' ? write('debug') : () => {},
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

const MASK = '***';

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
