import { asyncLocalStorage } from '@temporalio/activity';
import pino, { type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';

/**
 * SyncFlow's one logger: pino, one JSON object a line on stderr. A leaf module (it imports none of SyncFlow's
 * layers), so every layer, connectors included, logs through it.
 *
 * - Level: SYNCFLOW_LOG_LEVEL, else LOG_LEVEL, else info (trace, debug, info, warn, error, fatal, silent).
 * - Secret fields (password, token, apiKey, authorization, …, up to four levels deep) print as `***`.
 * - Secret values that leak into a message or a field: every line is scrubbed of credentials inside URLs
 *   (`postgresql://user:***@host`) and of the process's secret values (SYNCFLOW_SECRET_KEY, TEMPORAL_API_KEY,
 *   every SYNCFLOW_SECRET_* variable, and what {@link registerSecretValues} adds); connectors also scrub their
 *   connection's values (connectors/logger.ts, redactingLogger).
 * - Inside a Temporal activity every line carries the activity's workflowId, workflowRunId, workflowType,
 *   activityType, activityId and attempt, whoever logs it (a connector, a helper, the activity itself).
 */

export type { Logger } from 'pino';

export const MASK = '***';

const LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The level the environment asks for: SYNCFLOW_LOG_LEVEL, LOG_LEVEL (older name), else info. */
export function logLevelFrom(env: NodeJS.ProcessEnv = process.env): LevelWithSilent {
  const asked = (env.SYNCFLOW_LOG_LEVEL || env.LOG_LEVEL || 'info').trim().toLowerCase();
  return (LEVELS as readonly string[]).includes(asked) ? (asked as LevelWithSilent) : 'info';
}

/** Field names whose values are never printed, wherever they sit (top level to four levels deep). */
export const SECRET_FIELDS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'client_secret',
  'apiKey',
  'api_key',
  'x-api-key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'credentials',
  'secretKey',
  'privateKey',
  'sealed',
  'SYNCFLOW_SECRET_KEY',
  'SYNCFLOW_API_KEY',
  'TEMPORAL_API_KEY',
];

const pathPart = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`);

/** pino `redact` paths for {@link SECRET_FIELDS}: `password`, `*.password`, `*.*.password`, `*.*.*.password`. */
export const redactPaths: string[] = SECRET_FIELDS.flatMap((name) =>
  ['', '*', '*.*', '*.*.*'].map((prefix) => {
    const part = pathPart(name);
    return prefix === '' ? (part.startsWith('.') ? part.slice(1) : part) : prefix + part;
  }),
);

// scheme://user:password@ → scheme://user:***@ (database URLs, proxies, anything with credentials inside).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'\\]*):([^\s@/"'\\]+)@/gi;

const processSecrets = new Set<string>();

/** Secret values of this process that no log line may show (masked wherever they appear in a line). */
export function registerSecretValues(values: Iterable<string | undefined>): void {
  for (const value of values) if (value && value.length >= 4) processSecrets.add(value);
}

registerSecretValues(
  Object.entries(process.env)
    .filter(([name]) => /^(SYNCFLOW_SECRET_|SYNCFLOW_API_KEY$|TEMPORAL_API_KEY$)/.test(name))
    .map(([, value]) => value),
);

/** Masks credentials inside URLs and every registered secret value (as given and as escaped in JSON). */
export function scrubLine(line: string): string {
  let out = line.replace(URL_CREDENTIALS, (_, head: string) => `${head}:${MASK}@`);
  for (const secret of processSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(MASK);
  }
  return out;
}

/** The running activity's identity, for every line logged inside it (nothing outside an activity). */
export function activityFields(): Record<string, unknown> {
  const info = asyncLocalStorage.getStore()?.info;
  if (!info) return {};
  return {
    ...(info.workflowExecution
      ? {
          workflowId: info.workflowExecution.workflowId,
          workflowRunId: info.workflowExecution.runId,
          workflowType: info.workflowType,
        }
      : {}),
    activityType: info.activityType,
    activityId: info.activityId,
    attempt: info.attempt,
  };
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go: stderr unless given (tests pass a stream to read them back). */
  destination?: DestinationStream;
}

/** A logger with SyncFlow's format, redaction and activity fields; the process's one is {@link rootLogger}. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? logLevelFrom(),
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      redact: { paths: redactPaths, censor: MASK },
      mixin: activityFields,
      hooks: { streamWrite: scrubLine },
    },
    // Synchronous writes: a line logged just before process.exit() is not lost.
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

export const rootLogger: Logger = createLogger();

/** The process's logger for one part of SyncFlow (`logger` field: api, worker, temporal, connectors, …). */
export function logger(name: string, base: Logger = rootLogger): Logger {
  return base.child({ logger: name });
}

const order: Record<Level, number> = pino.levels.values as Record<Level, number>;

/** Whether `level` is at or above `threshold` (silent is above everything). */
export function atLeast(level: Level, threshold: LevelWithSilent): boolean {
  return threshold !== 'silent' && order[level] >= order[threshold];
}
