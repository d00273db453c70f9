import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import {
  keyRangesUsable,
  type SegmentQuery,
  segmentChecksumsOf,
  segmentRowsOf,
} from '../../../connectors/postgres/segments.ts';

/**
 * Reading a reconcile's differing segments (connectors/postgres/segments.ts): by ranges of the key's index where the
 * key column compares bytewise, by one prefix scan otherwise; either way exactly the keys that start with a prefix,
 * strays (other case, characters above the hex digits, shorter keys) included, as the checksums group them.
 */
describe('segment rows', () => {
  const databaseUrl = inject('databaseUrl');
  const schema = 'conn_pg_segments';
  let db: pg.Client;
  let other: string;
  const keys = [
    ...Array.from({ length: 300 }, (_, i) => (i * 2654435761).toString(16).padStart(32, '0').slice(-32)),
    'a3',
    'a3z',
    'a3\u00e9x',
    'A3ff',
    'a3g0',
    'a2ffff',
    'a4',
    'ff',
    'ffff0',
  ];
  const query = (table: string): SegmentQuery => ({
    from: `${schema}.${table}`,
    keyColumn: 'k',
    dataColumn: 'd',
    refColumn: 'r',
    where: ['gone IS NULL'],
    params: [],
  });
  const expected = (prefixes: string[]) =>
    keys
      .filter((k) => prefixes.some((p) => k.startsWith(p)))
      .sort()
      .map((k) => ({ bkHash: k, dataHash: `d-${k}`, refStr: `r-${k}` }));
  const sorted = <T extends { bkHash: string }>(rows: T[]) => [...rows].sort((a, b) => (a.bkHash < b.bkHash ? -1 : 1));

  beforeAll(async () => {
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    // A collation that is not bytewise: ICU's root if this server has ICU, else the SQL standard's ucs_basic.
    const found = await db.query<{ collname: string }>(
      `SELECT collname FROM pg_collation WHERE collname IN ('und-x-icu', 'ucs_basic') ORDER BY collname = 'und-x-icu' DESC LIMIT 1`,
    );
    other = found.rows[0]!.collname;
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    for (const [table, collation] of [
      ['bytewise', 'C'],
      ['other', other],
    ]) {
      await db.query(
        `CREATE TABLE ${schema}.${table} (k text COLLATE "${collation}" PRIMARY KEY, d text, r text, gone timestamptz)`,
      );
      await db.query(
        `INSERT INTO ${schema}.${table} SELECT k, 'd-' || k, 'r-' || k, NULL FROM unnest($1::text[]) AS k`,
        [keys],
      );
      // A deleted record is in no segment.
      await db.query(`INSERT INTO ${schema}.${table} VALUES ('a3dead', 'x', 'x', now())`);
    }
  });
  afterAll(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db?.end();
  });

  it('uses index ranges only where the key compares bytewise', async () => {
    expect(await keyRangesUsable(db, query('bytewise'))).toBe(true);
    expect(await keyRangesUsable(db, query('other'))).toBe(false);
  });

  it('reads exactly the keys that start with the prefixes, both ways', async () => {
    for (const table of ['bytewise', 'other']) {
      for (const prefixes of [['a3'], ['a3', 'ff'], ['0', '7', 'f'], ['a3g']]) {
        expect(sorted(await segmentRowsOf(db, query(table), prefixes)), `${table} ${prefixes}`).toEqual(
          expected(prefixes),
        );
      }
    }
  });

  it('a range read is an index scan, not a scan of the table', async () => {
    await db.query(`ANALYZE ${schema}.bytewise`);
    await db.query('SET enable_seqscan = off');
    try {
      const plan = await db.query(
        `EXPLAIN SELECT t.k FROM unnest($1::text[], $2::text[]) AS r(lo, hi)
           CROSS JOIN LATERAL (SELECT k FROM ${schema}.bytewise WHERE k >= r.lo AND k < r.hi
                                AND substr(k, 1, length(r.lo)) = r.lo) t`,
        [['a3'], ['a4']],
      );
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan/);
    } finally {
      await db.query('RESET enable_seqscan');
    }
  });

  it('the checksums group the same keys as the rows', async () => {
    const sums = await segmentChecksumsOf(db, query('bytewise'), 2);
    expect(sums.get('a3')?.count).toBe(expected(['a3']).length);
  });
});
