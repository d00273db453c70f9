import { z } from 'zod';

/**
 * The kinds a field can be declared as. Every source type name (Oracle's
 * VARCHAR2, PostgreSQL's timestamptz, an APISmith column type...) resolves to
 * one of these through {@link resolveDeclaredType}; normalization layer 1
 * coerces by kind.
 */
export const declaredKinds = [
  'string', // VARCHAR2, CHAR, CLOB, text...
  'integer', // integral NUMBER, int4, bigint
  'number', // NUMBER / numeric: a JS number, or an exact decimal string where a double would lose digits
  'date', // date-only: stays YYYY-MM-DD
  'timestamp', // date and time: emitted as ISO 8601 UTC
  'boolean', // Y/N, 1/0, true/false
  'binary', // RAW, bytea: lower-case hex
  'json', // nested documents: canonical JSON
] as const;
export const declaredKindSchema = z.enum(declaredKinds);
export type DeclaredKind = z.infer<typeof declaredKindSchema>;

const aliases: Record<string, DeclaredKind> = {
  // Oracle
  varchar2: 'string',
  nvarchar2: 'string',
  varchar: 'string',
  char: 'string',
  nchar: 'string',
  clob: 'string',
  nclob: 'string',
  long: 'string',
  number: 'number',
  float: 'number',
  binary_float: 'number',
  binary_double: 'number',
  date: 'date',
  timestamp: 'timestamp',
  'timestamp with time zone': 'timestamp',
  'timestamp with local time zone': 'timestamp',
  raw: 'binary',
  'long raw': 'binary',
  blob: 'binary',
  boolean: 'boolean',
  // PostgreSQL (catalogue names and common spellings)
  text: 'string',
  'character varying': 'string',
  character: 'string',
  bpchar: 'string',
  uuid: 'string',
  citext: 'string',
  smallint: 'integer',
  integer: 'integer',
  bigint: 'integer',
  int2: 'integer',
  int4: 'integer',
  int8: 'integer',
  int: 'integer',
  numeric: 'number',
  decimal: 'number',
  real: 'number',
  'double precision': 'number',
  float4: 'number',
  float8: 'number',
  'timestamp without time zone': 'timestamp',
  timestamptz: 'timestamp',
  bool: 'boolean',
  bytea: 'binary',
  json: 'json',
  jsonb: 'json',
  // Generic names used by file sources and APISmith column metadata
  string: 'string',
  datetime: 'timestamp',
  binary: 'binary',
  object: 'json',
  array: 'json',
};

/** Resolves a source type name to its kind; unknown names are strings (SPEC: "unknown → string"). */
export function resolveDeclaredType(sourceType: string | undefined | null): DeclaredKind {
  if (!sourceType) return 'string';
  const key = sourceType
    .trim()
    .toLowerCase()
    .replace(/\(.*\)/, '')
    .trim();
  if ((declaredKinds as readonly string[]).includes(key)) return key as DeclaredKind;
  return aliases[key] ?? 'string';
}

/** True when the type name is one SyncFlow knows (used to flag unknown column types). */
export function isKnownSourceType(sourceType: string): boolean {
  const key = sourceType
    .trim()
    .toLowerCase()
    .replace(/\(.*\)/, '')
    .trim();
  return key in aliases || (declaredKinds as readonly string[]).includes(key);
}
