import { z } from 'zod';
import { sourceQueryProblem } from './source-query.ts';

/**
 * Connector configuration: the `source` and `targets` parts of an entity
 * configuration, pure data shapes. Shared by the entity schema
 * (pipeline/entity-config.ts), the connector factories (connectors/factory.ts)
 * and the API. Each names a connection (connectors/connections.ts) and says
 * what to read or write in it; where the system is and how to log in belongs
 * to the connection, never here.
 */

/** A connection's name, as connections are saved under (connectors/connections.ts) and entities name them. */
export const CONNECTION_NAME = {
  pattern: /^[a-z][a-z0-9_-]{0,62}$/,
  message: 'a lower-case name: a-z, 0-9, _ and -, starting with a letter, at most 63',
} as const;
export const connectionNameSchema = z.string().regex(CONNECTION_NAME.pattern, CONNECTION_NAME.message);

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a SQL identifier: letters, digits and _, not starting with a digit');

/** What a column of a type SyncFlow does not know becomes: read as a string (SPEC default) or a describe() error. */
const unknownTypesSchema = z.enum(['as_string', 'error']).default('as_string');

/** The connection a source or target uses, by name; its type must match (checked when the entity is saved). */
const connection = connectionNameSchema;

/**
 * A file's path inside its connection's root: relative, `/`-separated, no `..` or `.` segments, no NUL,
 * no backslash. The reader also refuses a path that resolves (through links) outside the root.
 */
export const relativeFilePath = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (p) =>
      !p.startsWith('/') &&
      !/[\\\0]/.test(p) &&
      p.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    "a relative path inside the connection's root (no leading /, no . or .. segments)",
  );

export const postgresSourceSchema = z
  .object({
    type: z.literal('postgres'),
    connection,
    schema: identifier.default('public'),
    /** A table or view; exactly one of `table` and `query`. */
    table: identifier.optional(),
    /**
     * One SELECT (or WITH … SELECT) whose result is read as a relation (wrapped in a sub-query for keyset
     * paging). Refused here when it is anything else; it also runs as one statement, in a READ ONLY
     * transaction with the connection's statement timeout, under the connection's role.
     */
    query: z
      .string()
      .min(1)
      .max(100_000)
      .superRefine((query, ctx) => {
        const problem = sourceQueryProblem(query);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    unknownTypes: unknownTypesSchema,
  })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), {
    message: 'give exactly one of `table` and `query`',
    path: ['table'],
  });

export const apismithSourceSchema = z
  .object({
    type: z.literal('apismith'),
    connection,
    /** The slug of the APISmith API that returns this entity's rows. */
    apiSlug: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    /** Extra parameters passed to every execution. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Optional requests-per-minute cap, shared per connection by every worker like a ScheduleHub target's. */
    rpmCap: z.number().int().min(1).max(100_000).optional(),
    unknownTypes: unknownTypesSchema,
  })
  .strict();

export const fileSourceSchema = z
  .object({
    type: z.literal('file'),
    /** A `files` connection: the folder this source may read from. */
    connection,
    path: relativeFilePath,
    format: z.enum(['csv', 'jsonl']),
    delimiter: z
      .string()
      .length(1)
      .refine((d) => !/[\u0000-\u001f\u007f"\uD800-\uDFFF]/.test(d), 'a printable character other than a quote')
      .default(','),
    /** Rows with bytes that are not valid in `encoding` (or lone surrogates): `reject` sends them to the DLQ, `replace` keeps them with U+FFFD and counts them. */
    invalidText: z.enum(['reject', 'replace']).default('reject'),
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
  /**
   * A failing secondary never blocks the primary. Exactly one target is primary. `shadow`: a secondary that a
   * store migration is filling (pipeline/migration/runbook.ts): written like one, not yet to be read from.
   */
  role: z.enum(['primary', 'secondary', 'shadow']).default('primary'),
};

export const postgresTargetSchema = z
  .object({
    type: z.literal('postgres'),
    ...targetCommon,
    connection,
    schema: identifier.default('public'),
    table: identifier,
  })
  .strict();

export const schedulehubTargetSchema = z
  .object({
    type: z.literal('schedulehub'),
    ...targetCommon,
    connection,
    /** The ScheduleHub resource (collection) records are written to, e.g. `items`. */
    resource: z.string().regex(/^[a-z][a-z0-9_-]*$/),
    /**
     * Requests-per-minute cap. Workers share it per connection (every process, every entity); when entities
     * set different caps on one connection, the strictest applies (docs/connectors.md).
     */
    rpmCap: z.number().int().min(1).max(100_000).default(600),
    /** Records per batch call. */
    batchSize: z.number().int().min(1).max(1000).default(200),
  })
  .strict();

export const targetConfigSchema = z.discriminatedUnion('type', [postgresTargetSchema, schedulehubTargetSchema]);
export type TargetConfig = z.infer<typeof targetConfigSchema>;

/** The connection type each source and target type needs. */
export const CONNECTION_TYPE_OF = {
  postgres: 'postgres',
  apismith: 'apismith',
  file: 'files',
  schedulehub: 'schedulehub',
} as const;
