import { z } from 'zod';

/**
 * Connector configuration: the `source` and `targets` parts of an entity
 * configuration. Shared by the entity schema (pipeline/entity-config.ts), the
 * connector factories and the API.
 */

/** A credential: read from an environment variable (preferred) or given inline. Never logged, always redacted. */
export const secretSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ value: z.string().min(1) }).strict(),
]);
export type Secret = z.infer<typeof secretSchema>;

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a SQL identifier: letters, digits and _, not starting with a digit');

/** What a column of a type SyncFlow does not know becomes: read as a string (SPEC default) or a describe() error. */
const unknownTypesSchema = z.enum(['as_string', 'error']).default('as_string');

/** A PostgreSQL connection; when omitted, SyncFlow's own database (DATABASE_URL) is used. */
export const postgresConnectionSchema = z.object({ url: secretSchema }).strict();

export const postgresSourceSchema = z
  .object({
    type: z.literal('postgres'),
    connection: postgresConnectionSchema.optional(),
    schema: identifier.default('public'),
    /** A table or view; exactly one of `table` and `query`. */
    table: identifier.optional(),
    /** A SELECT whose result is read as a relation (wrapped in a sub-query for keyset paging). */
    query: z.string().min(1).optional(),
    unknownTypes: unknownTypesSchema,
  })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), {
    message: 'give exactly one of `table` and `query`',
    path: ['table'],
  });

const httpAuthSchema = z
  .object({
    username: secretSchema,
    password: secretSchema,
  })
  .strict();

const httpUrl = z.url({ protocol: /^https?$/ });

export const apismithSourceSchema = z
  .object({
    type: z.literal('apismith'),
    baseUrl: httpUrl,
    auth: httpAuthSchema,
    /** The slug of the APISmith API that returns this entity's rows. */
    apiSlug: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    /** Extra parameters passed to every execution. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    unknownTypes: unknownTypesSchema,
  })
  .strict();

export const fileSourceSchema = z
  .object({
    type: z.literal('file'),
    path: z.string().min(1),
    format: z.enum(['csv', 'jsonl']),
    delimiter: z.string().length(1).default(','),
    encoding: z.enum(['utf8', 'latin1']).default('utf8'),
    /** Declared type per column (CSV has none: every column is `string` unless named here). */
    columnTypes: z.record(z.string(), z.string()).default({}),
    /** JSON Lines: how many leading records describe() samples to list the fields. */
    sampleSize: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export const sourceConfigSchema = z.discriminatedUnion('type', [
  postgresSourceSchema,
  apismithSourceSchema,
  fileSourceSchema,
]);
export type SourceConfig = z.infer<typeof sourceConfigSchema>;

const targetCommon = {
  /** Unique within the entity; the identity store keys per-target status by it. */
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/),
  /** A failing secondary never blocks the primary. Exactly one target is primary. */
  role: z.enum(['primary', 'secondary']).default('primary'),
};

export const postgresTargetSchema = z
  .object({
    type: z.literal('postgres'),
    ...targetCommon,
    connection: postgresConnectionSchema.optional(),
    schema: identifier.default('public'),
    table: identifier,
  })
  .strict();

export const schedulehubTargetSchema = z
  .object({
    type: z.literal('schedulehub'),
    ...targetCommon,
    baseUrl: httpUrl,
    auth: httpAuthSchema,
    /** The ScheduleHub resource (collection) records are written to, e.g. `items`. */
    resource: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    /** Requests-per-minute cap for this target. */
    rpmCap: z.number().int().min(1).max(100_000).default(600),
    /** Records per batch call. */
    batchSize: z.number().int().min(1).max(1000).default(200),
  })
  .strict();

export const targetConfigSchema = z.discriminatedUnion('type', [postgresTargetSchema, schedulehubTargetSchema]);
export type TargetConfig = z.infer<typeof targetConfigSchema>;

/** Resolves a secret; throws a clear error naming the variable when it is unset. */
export function resolveSecret(secret: Secret, env: NodeJS.ProcessEnv = process.env): string {
  if ('value' in secret) return secret.value;
  const value = env[secret.env];
  if (value === undefined || value === '') {
    throw new Error(`The environment variable ${secret.env} is not set (a connector credential refers to it).`);
  }
  return value;
}

const REDACTED = '***';

/** Deep copy of a configuration with every inline secret value replaced (env references stay visible). */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const isInlineSecret = entries.length === 1 && entries[0]?.[0] === 'value' && typeof entries[0][1] === 'string';
    if (isInlineSecret) return { value: REDACTED } as T;
    return Object.fromEntries(entries.map(([k, v]) => [k, redactSecrets(v)])) as T;
  }
  return value;
}
