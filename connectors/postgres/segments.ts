import type pg from 'pg';
import type { KeyedRecord, SegmentSummary } from '../../pipeline/reconcile/compare.ts';

/**
 * Segment checksums (reconcile, data-diff's method pushed into the database): the records whose bk_hash (hex)
 * starts with a prefix form a segment; per segment one GROUP BY scan gives the count and the sum of a 60-bit
 * integer taken from md5(bk_hash || ':' || data_hash). Both sides of a comparison use this one expression: the
 * PostgreSQL target over its table (erp_key_hash, erp_data_hash, live rows only) and SyncFlow's own database
 * over a reconcile's normalized source (db/reconcile.ts), so equal segments give equal sums.
 */
export const recordChecksumSql = (keyColumn: string, dataColumn: string) =>
  `('x' || substr(md5(${keyColumn} || ':' || coalesce(${dataColumn}, '')), 1, 15))::bit(60)::bigint`;

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface SegmentQuery {
  /** The table or subquery (aliased) to read. */
  from: string;
  keyColumn: string;
  dataColumn: string;
  refColumn: string;
  /**
   * A column holding each record's term already (recordChecksumSql of its key and data, computed as it was
   * stored): the checksum is then a sum of it, not an md5 per record at comparison time.
   */
  checksumColumn?: string;
  /** More conditions, e.g. `erp_deleted_at IS NULL` (parameters after the ones below). */
  where: string[];
  params: unknown[];
}

/**
 * The segment checksum query: segments of `prefixLength` hex digits, only within `within` (prefixes, all of one
 * shorter length) when given. Columns prefix, n (count) and checksum (decimal text).
 */
export function segmentChecksumsSql(
  query: SegmentQuery,
  prefixLength: number,
  within?: readonly string[],
): { text: string; params: unknown[] } {
  const length = Math.trunc(prefixLength);
  const params = [...query.params];
  const where = [...query.where];
  if (within?.length) {
    params.push([...within]);
    where.push(`substr(${query.keyColumn}, 1, ${within[0]!.length}) = ANY($${params.length}::text[])`);
  }
  return {
    text: `SELECT substr(${query.keyColumn}, 1, ${length}) AS prefix, count(*) AS n,
            sum(${query.checksumColumn ?? recordChecksumSql(query.keyColumn, query.dataColumn)})::text AS checksum
       FROM ${query.from}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      GROUP BY 1`,
    params,
  };
}

/** Segments of `prefixLength` hex digits, only within `within` (prefixes, all of one shorter length) when given. */
export async function segmentChecksumsOf(
  db: Queryable,
  query: SegmentQuery,
  prefixLength: number,
  within?: readonly string[],
): Promise<Map<string, SegmentSummary>> {
  const { text, params } = segmentChecksumsSql(query, prefixLength, within);
  const { rows } = await db.query<{ prefix: string; n: string; checksum: string }>(text, params);
  return new Map(rows.map((r) => [r.prefix, { count: Number(r.n), checksum: r.checksum }]));
}

/**
 * Whether the key column compares bytewise (collation C or POSIX, its own or the database's): then the keys with a
 * prefix are exactly a range of its btree index, [prefix, the prefix with its last character incremented).
 */
export async function keyRangesUsable(db: Queryable, query: Pick<SegmentQuery, 'from' | 'keyColumn'>) {
  const { rows } = await db.query<{ collation: string | null; provider: string | null }>(
    `SELECT coalesce(nullif(co.collname, 'default'), d.datcollate) AS collation,
            CASE WHEN co.collname IS NULL OR co.collname = 'default' THEN to_jsonb(d)->>'datlocprovider' END AS provider
       FROM pg_attribute a
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       JOIN pg_database d ON d.datname = current_database()
      WHERE a.attrelid = $1::regclass AND a.attname = $2`,
    [query.from, query.keyColumn],
  );
  const row = rows[0];
  return !!row && (row.provider === null || row.provider === 'c') && ['C', 'POSIX'].includes(row.collation ?? '');
}

/** The smallest string above every string that starts with `prefix` (bytewise), or null when there is none. */
export function prefixUpperBound(prefix: string): string | null {
  const chars = [...prefix];
  const last = chars.pop()?.codePointAt(0);
  if (last === undefined || last >= 0x10ffff || (last >= 0xd7ff && last < 0xe000)) return null;
  return chars.join('') + String.fromCodePoint(last + 1);
}

/**
 * The records of the segments `prefixes`. Where the key column compares bytewise each segment is read as a range
 * of the key's index (a few differing segments of a large table cost their rows, not a scan of the table);
 * otherwise by one scan comparing prefixes. Either way exactly the records whose key starts with a prefix.
 */
export async function segmentRowsOf(
  db: Queryable,
  query: SegmentQuery,
  prefixes: readonly string[],
): Promise<KeyedRecord[]> {
  if (prefixes.length === 0) return [];
  const uppers = prefixes.map(prefixUpperBound);
  const ranges = uppers.every((u) => u !== null) && (await keyRangesUsable(db, query));
  const params = [...query.params];
  let sql: string;
  if (ranges) {
    params.push([...prefixes], uppers);
    const lo = `$${params.length - 1}::text[]`;
    const hi = `$${params.length}::text[]`;
    sql = `SELECT t.bk_hash, t.data_hash, t.ref_str
             FROM unnest(${lo}, ${hi}) AS r(lo, hi)
             CROSS JOIN LATERAL (
               SELECT ${query.keyColumn} AS bk_hash, ${query.dataColumn} AS data_hash, ${query.refColumn} AS ref_str
                 FROM ${query.from}
                WHERE ${[
                  ...query.where,
                  `${query.keyColumn} >= r.lo`,
                  `${query.keyColumn} < r.hi`,
                  `substr(${query.keyColumn}, 1, length(r.lo)) = r.lo`,
                ].join(' AND ')}) t`;
  } else {
    params.push([...prefixes]);
    const where = [
      ...query.where,
      `substr(${query.keyColumn}, 1, ${prefixes[0]!.length}) = ANY($${params.length}::text[])`,
    ];
    sql = `SELECT ${query.keyColumn} AS bk_hash, ${query.dataColumn} AS data_hash, ${query.refColumn} AS ref_str
             FROM ${query.from} WHERE ${where.join(' AND ')}`;
  }
  const { rows } = await db.query<{ bk_hash: string; data_hash: string | null; ref_str: string | null }>(sql, params);
  return rows.map((r) => ({ bkHash: r.bk_hash, dataHash: r.data_hash, refStr: r.ref_str }));
}
