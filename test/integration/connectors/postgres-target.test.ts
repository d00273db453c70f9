import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { createTarget } from '../../../connectors/factory.ts';
import { syncTypes } from '../../../connectors/postgres/pool.ts';
import type { Target, TargetField } from '../../../connectors/types.ts';
import type { TargetRecord } from '../../../pipeline/target-record.ts';
import { pgConnection } from '../../support/harness.ts';

const databaseUrl = inject('databaseUrl');
const schema = 'conn_pg_target';
let admin: pg.Client;
let target: Target;

const fields: TargetField[] = [
  { name: 'item_number', kind: 'string' },
  { name: 'qty', kind: 'number' },
  { name: 'made_on', kind: 'date' },
  { name: 'changed_at', kind: 'timestamp' },
  { name: 'active', kind: 'boolean' },
  { name: 'raw', kind: 'binary' },
  { name: 'meta', kind: 'json' },
];

const hash = (n: number) => n.toString(16).padStart(32, '0');
function record(n: number, overrides: Partial<TargetRecord['data']> = {}): TargetRecord {
  return {
    bkHash: hash(n),
    dataHash: `d${n}`,
    rowversion: String(n),
    refStr: `items[item_number=I-${n}]`,
    data: {
      item_number: `I-${n}`,
      qty: n * 1.5,
      made_on: '2024-02-29',
      changed_at: '2024-03-01T10:00:00.000Z',
      active: n % 2 === 0,
      raw: 'beef',
      meta: { tags: ['a\tb', 'line\nbreak'], n },
      ...overrides,
    },
  };
}

async function snapshot() {
  return (await admin.query(`SELECT * FROM ${schema}.items ORDER BY erp_key_hash`)).rows;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl, types: syncTypes });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  target = createTarget(
    { type: 'postgres', name: 'pg', role: 'primary', connection: 'local', schema, table: 'items' },
    pgConnection(databaseUrl),
  );
});

afterAll(async () => {
  await target.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('PostgreSQL target', () => {
  it('creates the table, then checks and extends it', async () => {
    expect(await target.ensure(fields)).toEqual({ created: true, addedFields: fields.map((f) => f.name) });
    expect(await target.ensure([...fields, { name: 'note', kind: 'string' }])).toEqual({
      created: false,
      addedFields: ['note'],
    });
    await expect(target.ensure([{ name: 'qty', kind: 'boolean' }])).rejects.toMatchObject({
      code: 'schema_conflict',
      transient: false,
    });
    expect((await target.health()).ok).toBe(true);
  });

  it('applies inserts, updates and deletes with a result per record, and is idempotent', async () => {
    const batch = { inserts: [1, 2, 3, 4].map((n) => record(n)), updates: [], deletes: [] };
    const first = await target.apply(batch);
    expect(first.every((r) => r.ok && r.op === 'insert' && r.targetUid === r.bkHash)).toBe(true);
    const before = await snapshot();
    const again = await target.apply(batch);
    expect(again.every((r) => r.ok)).toBe(true);
    expect(await snapshot()).toEqual(before); // same state, synced_at included: unchanged rows are not rewritten
    const row = before[0];
    expect(row).toMatchObject({
      item_number: 'I-1',
      qty: '1.5',
      made_on: '2024-02-29',
      active: false,
      erp_rowversion: '1',
      erp_deleted_at: null,
    });
    expect(row.raw).toEqual(Buffer.from('beef', 'hex'));
    expect(row.meta).toEqual({ tags: ['a\tb', 'line\nbreak'], n: 1 });

    const mixed = {
      inserts: [record(5)],
      updates: [{ ...record(1, { item_number: 'I-1b' }), dataHash: 'changed' }],
      deletes: [{ bkHash: hash(2), refStr: 'x' }],
    };
    const results = await target.apply(mixed);
    expect(results.map((r) => [r.op, r.ok])).toEqual([
      ['insert', true],
      ['update', true],
      ['delete', true],
    ]);
    const afterMixed = await snapshot();
    expect(afterMixed.map((r) => r.item_number)).toEqual(['I-1b', 'I-3', 'I-4', 'I-5']);
    await target.apply(mixed);
    expect(await snapshot()).toEqual(afterMixed);
  });

  it('soft-deletes when asked and revives on upsert', async () => {
    await target.apply({ inserts: [], updates: [], deletes: [{ bkHash: hash(3), refStr: 'x' }] }, { softDelete: true });
    const [stored] = await target.fetchByBkHash([hash(3)]);
    expect(stored?.deletedAt).not.toBeNull();
    await target.apply({ inserts: [record(3)], updates: [], deletes: [] });
    const [revived] = await target.fetchByBkHash([hash(3)]);
    expect(revived).toMatchObject({
      deletedAt: null,
      dataHash: 'd3',
      refStr: 'items[item_number=I-3]',
      targetUid: hash(3),
    });
    expect(revived?.data.item_number).toBe('I-3');
  });

  it('reports rows the database refuses on their own record and writes the rest', async () => {
    await admin.query(`ALTER TABLE ${schema}.items ADD CONSTRAINT qty_positive CHECK (qty >= 0)`);
    const batch = {
      inserts: [
        record(10),
        record(11, { qty: -1 }),
        record(12),
        record(13, { made_on: 'not a date' }),
        record(14, { surprise: 1 }),
      ],
      updates: [record(15), record(15, { item_number: 'I-15-last' })],
      deletes: [],
    };
    const results = await target.apply(batch);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, false, true, true]);
    expect(results[1]!.error).toMatchObject({ type: 'constraint_violation', permanent: true });
    expect(results[3]!.error).toMatchObject({ type: 'invalid_value', permanent: true });
    expect(results[4]!.error).toMatchObject({ type: 'unknown_field', permanent: true });
    const stored = await target.fetchByBkHash([10, 11, 12, 13, 14, 15].map(hash));
    expect(stored.map((s) => s.data.item_number).sort()).toEqual(['I-10', 'I-12', 'I-15-last']);
    await admin.query(`ALTER TABLE ${schema}.items DROP CONSTRAINT qty_positive`);
  });

  it('throws a typed error when the table was never ensured', async () => {
    const orphan = createTarget(
      { type: 'postgres', name: 'pg', role: 'primary', connection: 'local', schema, table: 'missing' },
      pgConnection(databaseUrl),
    );
    await expect(orphan.apply({ inserts: [record(1)], updates: [], deletes: [] })).rejects.toMatchObject({
      code: 'config',
      connector: 'postgres',
    });
    expect((await orphan.health()).ok).toBe(false);
    await orphan.close();
  });
});
