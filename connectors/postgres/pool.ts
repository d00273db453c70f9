import pg from 'pg';

/**
 * Type parsing for synced data: dates and times stay PostgreSQL's text (a
 * `timestamp` without zone is a naive value the pipeline reads in the
 * entity's source time zone; turning it into a JS Date would apply the
 * worker's zone). bigint and numeric already arrive as exact strings.
 * Sessions run in UTC so timestamptz text is stable across machines.
 */
const KEEP_AS_TEXT = new Set([
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1266, // timetz
  1186, // interval
  1182, // date[]
  1115, // timestamp[]
  1185, // timestamptz[]
]);

const identity = (value: string) => value;

export const syncTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (KEEP_AS_TEXT.has(oid)) return identity;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

const CONNECT_TIMEOUT_MS = 15_000;

export function createPool(connectionString: string, max = 4): pg.Pool {
  // A host that never answers (packets dropped, not refused) must not hold a read for the OS's TCP timeout.
  const pool = new pg.Pool({
    connectionString,
    max,
    types: syncTypes,
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle client losing its connection must not crash the worker; the next checkout reconnects.
  pool.on('error', () => {});
  return pool;
}

export const quoteIdent = (name: string) => pg.escapeIdentifier(name);
export const qualified = (schema: string, table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
