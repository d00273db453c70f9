import path from 'node:path';
import { z } from 'zod';
import { connectionNameSchema } from '../pipeline/connector-config.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * Named connections: where a source or target lives and the credentials to
 * reach it, defined by an operator (admin keys, `syncflow connections`) apart
 * from the entities that use them, as Airbyte, dlt and Meltano separate
 * credentials from streams. An entity configuration only names a connection
 * and says what to read or write in it (a table, an API slug, a file under the
 * connection's root), so an ordinary key can never point SyncFlow at a host,
 * a database, a file or an environment variable of its choosing.
 *
 * Three forms of the same shape:
 *  - input (API, CLI): secrets are `{ env }` or `{ value }`; `{ value: "***" }` keeps the stored one;
 *  - stored (connections.config): inline values sealed (`{ sealed }`, AES-256-GCM), never in clear;
 *  - resolved (worker, health checks): plain strings, held in memory only.
 */

/** Only variables with this prefix may be read by a connection: the worker's other variables stay private. */
export const SECRET_ENV_PREFIX = 'SYNCFLOW_SECRET_';
export const REDACTED = '***';

const envRef = z
  .object({
    env: z
      .string()
      .regex(
        new RegExp(`^${SECRET_ENV_PREFIX}[A-Z0-9_]+$`),
        `an environment variable whose name starts with ${SECRET_ENV_PREFIX} (no other variable can be read)`,
      ),
  })
  .strict();
const inlineValue = z.object({ value: z.string().min(1).max(4096) }).strict();
const sealedValue = z.object({ sealed: z.string().min(1) }).strict();

/** A credential as given: an environment variable (preferred) or inline (stored encrypted). */
export const secretSchema = z.union([envRef, inlineValue]);
export type Secret = z.infer<typeof secretSchema>;
const storedSecretSchema = z.union([envRef, sealedValue]);
type StoredSecret = z.infer<typeof storedSecretSchema>;

/** http(s) only, and no user:password inside the URL (credentials belong in `auth`, where they are protected). */
export const httpBaseUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => {
    const url = new URL(u);
    return url.username === '' && url.password === '';
  }, 'no credentials inside the URL: give them in `auth`')
  .refine((u) => {
    const url = new URL(u);
    return url.search === '' && url.hash === '';
  }, 'a base URL without query or fragment');

const postgresUrlText = (text: string): boolean => {
  try {
    return /^postgres(ql)?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
};

function connectionSchemas<S extends z.ZodType>(secret: S) {
  const auth = z.object({ username: secret, password: secret }).strict();
  const postgres = z
    .object({
      type: z.literal('postgres'),
      /** postgresql://user:password@host:port/database: the whole URL is a secret. */
      url: secret,
      /** The most connections SyncFlow opens to this database per process (pools are shared by every entity). */
      maxConnections: z.number().int().min(1).max(50).default(4),
      /** Source reads run in READ ONLY transactions with this statement timeout. */
      statementTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
    })
    .strict();
  const apismith = z.object({ type: z.literal('apismith'), baseUrl: httpBaseUrl, auth }).strict();
  const schedulehub = z.object({ type: z.literal('schedulehub'), baseUrl: httpBaseUrl, auth }).strict();
  const files = z
    .object({
      type: z.literal('files'),
      /** The folder file sources of this connection may read; nothing outside it (symbolic links included). */
      root: z
        .string()
        .min(1)
        .max(4096)
        .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'an absolute folder path'),
    })
    .strict();
  return z.discriminatedUnion('type', [postgres, apismith, schedulehub, files]);
}

export const connectionConfigSchema = connectionSchemas(secretSchema).superRefine((c, ctx) => {
  if (c.type === 'postgres' && 'value' in c.url && c.url.value !== REDACTED && !postgresUrlText(c.url.value)) {
    ctx.addIssue({ code: 'custom', path: ['url', 'value'], message: 'a postgresql:// URL' });
  }
});
export const storedConnectionConfigSchema = connectionSchemas(storedSecretSchema);

/** A connection as the API takes it: a name and its configuration. */
export const connectionInputSchema = z
  .object({ name: connectionNameSchema, config: connectionConfigSchema, description: z.string().max(1000).optional() })
  .strict();

export type ConnectionConfig = z.infer<typeof connectionConfigSchema>;
export type ConnectionConfigInput = z.input<typeof connectionConfigSchema>;
export type StoredConnectionConfig = z.infer<typeof storedConnectionConfigSchema>;
export type ConnectionType = ConnectionConfig['type'];

export type ResolvedConnection =
  | { name: string; type: 'postgres'; url: string; maxConnections: number; statementTimeoutMs: number }
  | { name: string; type: 'apismith'; baseUrl: string; username: string; password: string }
  | { name: string; type: 'schedulehub'; baseUrl: string; username: string; password: string }
  | { name: string; type: 'files'; root: string };

/** Thrown for a secret that cannot be resolved (unset variable, unreadable sealed value): never retried. */
export class ConnectionSecretError extends Error {
  override readonly name = 'ConnectionSecretError';
}

const isSecretShape = (v: unknown): v is Record<string, string> =>
  !!v &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  ['env', 'value', 'sealed'].includes(Object.keys(v)[0]!) &&
  typeof Object.values(v)[0] === 'string';

/** Maps every secret in a connection configuration, with its path (`auth.password`). */
function mapSecrets(value: unknown, fn: (secret: Record<string, string>, at: string) => unknown, at = ''): unknown {
  if (isSecretShape(value)) return fn(value, at);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapSecrets(v, fn, at ? `${at}.${k}` : k)]));
  }
  return value;
}

/** Where a sealed value is bound (AES-GCM additional data): the connection and the secret's path. */
const sealContext = (name: string, at: string) => `${name}#${at}`;

/**
 * The stored form of a validated input: inline values sealed; `***` keeps the value stored under the
 * same path (an error when there is none, naming the path).
 */
export function sealConnection(
  name: string,
  input: ConnectionConfig,
  previous: StoredConnectionConfig | undefined,
  box: SecretBox,
): StoredConnectionConfig {
  const previousAt = new Map<string, StoredSecret>();
  if (previous) mapSecrets(previous, (s, at) => previousAt.set(at, s as StoredSecret));
  const sealed = mapSecrets(input, (secret, at) => {
    if ('env' in secret) return secret;
    if (secret.value === REDACTED) {
      const kept = previousAt.get(at);
      if (!kept) throw new ConnectionSecretError(`${at}: "***" keeps a stored secret, and none is stored here`);
      return kept;
    }
    return { sealed: box.seal(secret.value!, sealContext(name, at)) };
  });
  return storedConnectionConfigSchema.parse(sealed);
}

/** What the API shows: sealed values as `***`; variable names stay visible (they are not secrets). */
export function maskConnection(stored: StoredConnectionConfig): ConnectionConfigInput {
  return mapSecrets(stored, (s) => ('env' in s ? s : { value: REDACTED })) as ConnectionConfigInput;
}

/** The plain values a connector needs; throws ConnectionSecretError naming what is missing. */
export function resolveConnection(
  name: string,
  stored: StoredConnectionConfig,
  box: SecretBox,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConnection {
  const read = (secret: StoredSecret, at: string): string => {
    if ('sealed' in secret) {
      try {
        return box.open(secret.sealed, sealContext(name, at));
      } catch (error) {
        throw new ConnectionSecretError(`Connection "${name}", ${at}: ${(error as Error).message}`);
      }
    }
    const value = env[secret.env];
    if (value === undefined || value === '') {
      throw new ConnectionSecretError(
        `Connection "${name}", ${at}: the environment variable ${secret.env} is not set in this process.`,
      );
    }
    return value;
  };
  switch (stored.type) {
    case 'postgres': {
      const url = read(stored.url, 'url');
      if (!postgresUrlText(url)) throw new ConnectionSecretError(`Connection "${name}", url: not a postgresql:// URL.`);
      return {
        name,
        type: 'postgres',
        url,
        maxConnections: stored.maxConnections,
        statementTimeoutMs: stored.statementTimeoutMs,
      };
    }
    case 'apismith':
    case 'schedulehub':
      return {
        name,
        type: stored.type as 'apismith',
        baseUrl: stored.baseUrl,
        username: read(stored.auth.username, 'auth.username'),
        password: read(stored.auth.password, 'auth.password'),
      };
    case 'files':
      return { name, type: 'files', root: stored.root };
  }
}

/** Every plain secret value of a resolved connection, for log scrubbing. */
export function secretValuesOf(connection: ResolvedConnection): string[] {
  switch (connection.type) {
    case 'postgres': {
      const url = new URL(connection.url);
      return [connection.url, decodeURIComponent(url.password)].filter((v) => v !== '');
    }
    case 'apismith':
    case 'schedulehub':
      return [connection.username, connection.password];
    case 'files':
      return [];
  }
}

/** A URL for display: its password replaced. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = REDACTED;
    return url.toString();
  } catch {
    return REDACTED;
  }
}
