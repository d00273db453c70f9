import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { ConnectorError } from '../../../connectors/errors.ts';
import { createSource } from '../../../connectors/factory.ts';
import type { Page, Row, Source, StreamProgress } from '../../../connectors/types.ts';
import { pgConnection } from '../../support/harness.ts';

const databaseUrl = inject('databaseUrl');
const schema = 'conn_pg_source';
const TOTAL = 2_345;
let admin: pg.Client;
let source: Source;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.parts (
      plant text NOT NULL, part_no text NOT NULL, qty numeric(12,3), made_on date, changed_at timestamp,
      rv bigint NOT NULL, flags bool, blob bytea, doc jsonb, weird point, PRIMARY KEY (plant, part_no))`);
  await admin.query(`INSERT INTO ${schema}.parts
      SELECT 'P' || (g % 3), 'N-' || lpad(g::text, 6, '0'), g * 1.5, date '2024-01-01' + g, timestamp '2024-01-01 10:00:00.123456' + g * interval '1 minute',
             g, g % 2 = 0, '\\xdead'::bytea, jsonb_build_object('g', g), point(1, 2)
        FROM generate_series(1, ${TOTAL}) g`);
  source = createSource(
    { type: 'postgres', connection: 'local', schema, table: 'parts', unknownTypes: 'as_string' },
    pgConnection(databaseUrl),
  );
});

afterAll(async () => {
  await source.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

async function readAll(read: (cursor: string | null) => Promise<Page>) {
  const pages: Page[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await read(cursor);
    pages.push(page);
    if (page.done) return pages;
    cursor = page.nextCursor;
  }
}

describe('PostgreSQL source', () => {
  it('describes columns from the catalogue with kinds and flags unknown types', async () => {
    const columns = await source.describe();
    const byName = Object.fromEntries(columns.map((c) => [c.name, c]));
    expect(byName.qty).toMatchObject({ sourceType: 'numeric(12,3)', kind: 'number', knownType: true });
    expect(byName.changed_at).toMatchObject({ kind: 'timestamp' });
    expect(byName.rv).toMatchObject({ sourceType: 'bigint', kind: 'integer' });
    expect(byName.weird).toMatchObject({ sourceType: 'point', kind: 'string', knownType: false });
    const strict = createSource(
      { type: 'postgres', connection: 'local', schema, table: 'parts', unknownTypes: 'error' },
      pgConnection(databaseUrl),
    );
    await expect(strict.describe()).rejects.toMatchObject({ code: 'unknown_column_type', transient: false });
    await strict.close();
  });

  it('pages a full read to the end in key order, exact values, same cursor same page', async () => {
    const pages = await readAll((cursor) =>
      source.fetchPage({ mode: 'full', keyColumns: ['plant', 'part_no'], cursor, pageSize: 500 }),
    );
    const rows = pages.flatMap((p) => p.rows);
    expect(rows).toHaveLength(TOTAL);
    expect(pages.map((p) => p.rows.length)).toEqual([500, 500, 500, 500, 345]);
    const keys = rows.map((r) => `${r.plant}|${r.part_no}`);
    expect(keys).toEqual([...keys].sort());
    const first = rows.find((r) => r.part_no === 'N-000001')!;
    expect(first).toMatchObject({
      qty: '1.500',
      made_on: '2024-01-02',
      changed_at: '2024-01-01 10:01:00.123456',
      rv: '1',
    });
    const again = await source.fetchPage({
      mode: 'full',
      keyColumns: ['plant', 'part_no'],
      cursor: pages[1]!.nextCursor,
      pageSize: 500,
    });
    expect(again.rows).toEqual(pages[2]!.rows);
  });

  it('reads incrementally above a watermark ordered by rowversion', async () => {
    const pages = await readAll((cursor) =>
      source.fetchPage({
        mode: 'incremental',
        keyColumns: ['plant', 'part_no'],
        rowversionColumn: 'rv',
        watermark: '2000',
        cursor,
        pageSize: 100,
      }),
    );
    const versions = pages.flatMap((p) => p.rows.map((r) => Number(r.rv)));
    expect(versions).toHaveLength(TOTAL - 2000);
    expect(versions[0]).toBe(2001);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('reads a query source with keyset paging', async () => {
    const query = createSource(
      {
        type: 'postgres',
        connection: 'local',
        schema,
        query: `SELECT part_no, qty FROM ${schema}.parts WHERE plant = 'P1';`,
        unknownTypes: 'as_string',
      },
      pgConnection(databaseUrl),
    );
    const columns = await query.describe();
    expect(columns.map((c) => [c.name, c.sourceType])).toEqual([
      ['part_no', 'text'],
      ['qty', 'numeric(12,3)'],
    ]);
    const pages = await readAll((cursor) =>
      query.fetchPage({ mode: 'full', keyColumns: ['part_no'], cursor, pageSize: 300 }),
    );
    expect(pages.flatMap((p) => p.rows)).toHaveLength(782);
    expect(await query.estimateRowCount()).toBeGreaterThan(0);
    await query.close();
  });

  it('streams a table larger than the page size with bounded memory', async () => {
    const progress: StreamProgress[] = [];
    const seen: Row[] = [];
    const pageSize = 200;
    for await (const page of source.stream({
      mode: 'full',
      keyColumns: ['plant', 'part_no'],
      pageSize,
      onProgress: (p) => progress.push(p),
    })) {
      expect(page.rows.length).toBeLessThanOrEqual(pageSize);
      seen.push(...page.rows.slice(0, 1));
    }
    const last = progress[progress.length - 1]!;
    expect(last.rows).toBe(TOTAL);
    expect(last.pages).toBe(Math.ceil(TOTAL / pageSize));
    // The page plus at most one read-ahead batch: never the table.
    expect(last.peakRowsHeld).toBeLessThanOrEqual(3 * pageSize);
    expect(last.peakRowsHeld).toBeLessThan(TOTAL / 3);
  });

  it('resumes a stream from a page cursor, matching fetchPage', async () => {
    const first = await source.fetchPage({
      mode: 'full',
      keyColumns: ['plant', 'part_no'],
      cursor: null,
      pageSize: 1000,
    });
    const rest: Row[] = [];
    for await (const page of source.stream({
      mode: 'full',
      keyColumns: ['plant', 'part_no'],
      pageSize: 1000,
      cursor: first.nextCursor,
    }))
      rest.push(...page.rows);
    expect(first.rows.length + rest.length).toBe(TOTAL);
    expect(rest[0]).not.toEqual(first.rows[999]);
  });

  it('reports estimates, health, and a typed error for a bad cursor or a missing table', async () => {
    expect(await source.estimateRowCount()).toBeGreaterThan(1000);
    expect((await source.health()).ok).toBe(true);
    await expect(
      source.fetchPage({ mode: 'full', keyColumns: ['plant', 'part_no'], cursor: 'garbage', pageSize: 5 }),
    ).rejects.toBeInstanceOf(ConnectorError);
    const missing = createSource(
      { type: 'postgres', connection: 'local', schema, table: 'nope', unknownTypes: 'as_string' },
      pgConnection(databaseUrl),
    );
    await expect(missing.describe()).rejects.toMatchObject({
      connector: 'postgres',
      operation: 'describe',
      transient: false,
    });
    expect((await missing.health()).ok).toBe(false);
    await missing.close();
  });
});
