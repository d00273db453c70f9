import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { createTarget } from '../../../connectors/factory.ts';
import { syncTypes } from '../../../connectors/postgres/pool.ts';
import type { Target, TargetField } from '../../../connectors/types.ts';
import type { TargetRecord } from '../../../pipeline/target-record.ts';
import { pgConnection } from '../../support/harness.ts';

/**
 * Issue 15, inserts by COPY: rows DELTA classed as INSERT are COPYed straight into the target table; only
 * updates go through the stage and the upsert. The edges: an insert the table already holds (a page redone
 * after its worker died between INGEST and TRACK) must fall back to the staged upsert, never fail or
 * duplicate; a bad value among the direct inserts is still reported on its own record.
 */
const databaseUrl = inject('databaseUrl');
const schema = 'conn_pg_direct_copy';
let admin: pg.Client;
let target: Target;

const fields: TargetField[] = [
  { name: 'item_number', kind: 'string' },
  { name: 'qty', kind: 'number' },
  { name: 'made_on', kind: 'date' },
  { name: 'note', kind: 'string' },
];

const hash = (n: number) => n.toString(16).padStart(32, '0');
function record(n: number, overrides: Partial<TargetRecord['data']> = {}, dataHash = `d${n}`): TargetRecord {
  return {
    bkHash: hash(n),
    dataHash,
    rowversion: String(n),
    refStr: `items[item_number=I-${n}]`,
    data: { item_number: `I-${n}`, qty: n * 1.5, made_on: '2024-02-29', note: 'tab\there\nline \\ end', ...overrides },
  };
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const inserts = (records: TargetRecord[]) => ({ inserts: records, updates: [], deletes: [] });

async function rows(table = 'items') {
  return (await admin.query(`SELECT * FROM ${schema}.${table} ORDER BY erp_key_hash`)).rows;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl, types: syncTypes });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  target = createTarget(
    { type: 'postgres', name: 'pg', role: 'primary', connection: 'local', schema, table: 'items' },
    pgConnection(databaseUrl),
  );
  await target.ensure(fields);
});

afterAll(async () => {
  await target.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('PostgreSQL target: inserts by COPY', () => {
  it('writes inserts exactly as the upsert would (system columns, escapes, synced_at = the transaction time)', async () => {
    const results = await target.apply(inserts(range(1, 6).map((n) => record(n))));
    expect(results.every((r) => r.ok && r.op === 'insert' && r.targetUid === r.bkHash)).toBe(true);
    const stored = await rows();
    expect(stored).toHaveLength(5);
    expect(stored[0]).toMatchObject({
      erp_key_hash: hash(1),
      item_number: 'I-1',
      qty: '1.5',
      made_on: '2024-02-29',
      note: 'tab\there\nline \\ end',
      erp_data_hash: 'd1',
      erp_rowversion: '1',
      erp_ref_str: 'items[item_number=I-1]',
      erp_deleted_at: null,
    });
    // One transaction, one now(): every row of the batch has the same synced_at, and a recent one.
    expect(new Set(stored.map((r) => String(r.synced_at))).size).toBe(1);
    const age = await admin.query(`SELECT max(now() - synced_at) < interval '1 minute' AS recent FROM ${schema}.items`);
    expect(age.rows[0].recent).toBe(true);
  });

  it('an insert the table already holds falls back to the staged upsert: no failure, no duplicate', async () => {
    // The crash between INGEST and TRACK: 1..5 were written, the identity store never heard of it, and the redone
    // page says INSERT again, now with 6..10 new and 3 changed in the source meanwhile.
    const before = await rows();
    const redone = [...range(1, 11).map((n) => (n === 3 ? record(3, { note: 'changed' }, 'd3-changed') : record(n)))];
    const results = await target.apply(inserts(redone));
    expect(results.map((r) => [r.op, r.ok])).toEqual(redone.map(() => ['insert', true]));
    const after = await rows();
    expect(after.map((r) => r.item_number)).toEqual(range(1, 11).map((n) => `I-${n}`));
    const { rows: keys } = await admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT erp_key_hash)::int AS keys FROM ${schema}.items`,
    );
    expect(keys[0]).toEqual({ n: 10, keys: 10 });
    expect(after[2]).toMatchObject({ note: 'changed', erp_data_hash: 'd3-changed' });
    // Unchanged rows are left alone by the upsert (same synced_at as before the redone page).
    expect(after[0]).toEqual(before[0]);
  });

  it('a bad value among direct inserts is reported on its own record; the rest land', async () => {
    await admin.query(`ALTER TABLE ${schema}.items ADD CONSTRAINT qty_positive CHECK (qty >= 0)`);
    try {
      const batch = range(100, 164).map((n) =>
        n === 107
          ? record(n, { made_on: 'not a date' })
          : n === 150
            ? record(n, { qty: -1 })
            : n === 163
              ? record(n, { qty: 'many' })
              : record(n),
      );
      const results = await target.apply(inserts(batch));
      const failed = results.flatMap((r, i) => (r.ok ? [] : [[batch[i]!.bkHash, r.error?.type]]));
      expect(failed).toEqual([
        [hash(107), 'invalid_value'],
        [hash(150), 'constraint_violation'],
        [hash(163), 'invalid_value'],
      ]);
      const { rows: landed } = await admin.query(
        `SELECT count(*)::int AS n FROM ${schema}.items WHERE erp_key_hash = ANY($1::text[])`,
        [batch.map((r) => r.bkHash)],
      );
      expect(landed[0].n).toBe(61);
    } finally {
      await admin.query(`ALTER TABLE ${schema}.items DROP CONSTRAINT qty_positive`);
    }
  });

  it('a redone batch with a bad value: the fallback upsert still finds it per record', async () => {
    // 100..105 are in the table (above); 200 is new and bad, 201 new and good.
    const batch = [...range(100, 106).map((n) => record(n)), record(200, { made_on: '2024-13-45' }), record(201)];
    const results = await target.apply(inserts(batch));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, true, false, true]);
    expect(results[6]!.error).toMatchObject({ type: 'invalid_value', permanent: true });
    const stored = await target.fetchByBkHash([hash(200), hash(201)]);
    expect(stored.map((s) => s.data.item_number)).toEqual(['I-201']);
  });

  it('inserts, updates and deletes in one batch: the direct COPY and the staged upsert in one transaction', async () => {
    const results = await target.apply({
      inserts: [record(300), record(301)],
      updates: [record(1, { note: 'updated' }, 'd1-updated')],
      deletes: [{ bkHash: hash(2), refStr: 'x' }],
    });
    expect(results.map((r) => [r.op, r.ok])).toEqual([
      ['insert', true],
      ['insert', true],
      ['update', true],
      ['delete', true],
    ]);
    const stored = await target.fetchByBkHash([hash(1), hash(2), hash(300), hash(301)]);
    expect(stored.map((s) => [s.bkHash, s.dataHash]).sort()).toEqual([
      [hash(1), 'd1-updated'],
      [hash(300), 'd300'],
      [hash(301), 'd301'],
    ]);
  });

  it('a failure that is not the row’s (the table gone) rolls the whole batch back', async () => {
    const other = createTarget(
      { type: 'postgres', name: 'pg', role: 'primary', connection: 'local', schema, table: 'dropped' },
      pgConnection(databaseUrl),
    );
    try {
      await other.ensure(fields);
      await other.apply(inserts([record(1)]));
      await admin.query(`ALTER TABLE ${schema}.dropped RENAME TO dropped_away`);
      await expect(other.apply(inserts([record(2)]))).rejects.toMatchObject({ connector: 'postgres' });
      expect((await rows('dropped_away')).map((r) => r.item_number)).toEqual(['I-1']);
    } finally {
      await other.close();
    }
  });
});
