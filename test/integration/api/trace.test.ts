import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { type ApiKeyRole, createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness, LOCAL_CONNECTION, TMP_CONNECTION } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';

/**
 * Issue 13, part 6: the trace of one record, GET /entities/:name/records/:key, after a real sync of a PostgreSQL
 * source into two targets: the source row now, every layer, identity, DELTA's decision per target against the
 * identity store, what each target holds, the dead letters and the waiting rows.
 */
describe('GET /entities/:name/records/:key (the trace of a record)', () => {
  let h: Harness;
  let pool: pg.Pool;
  let app: ReturnType<typeof createApp>;
  const keys = {} as Record<ApiKeyRole, string>;
  const schema = `trace_${randomUUID().slice(0, 8)}`;
  const items = `items_${schema.slice(6)}`;
  const orders = `orders_${schema.slice(6)}`;
  const files = `files_${schema.slice(6)}`;
  const key = (part: string, plant: string) => `part_no=${part}|plant=${plant}`;

  beforeAll(async () => {
    h = await createHarness('trace');
    pool = createPool(h.databaseUrl);
    // p-000000 … p-000005 sync; p-000006's required due date is no date (NORMALIZE fails: the DLQ).
    await createItemSource(pool, schema, [...itemRows(6), { ...itemRows(1, 6)[0]!, due: 'not a date' }]);
    await pool.query(`CREATE TABLE ${schema}.orders (order_no text PRIMARY KEY, part_no text, plant text, qty int,
      row_version bigint NOT NULL DEFAULT nextval('${schema}.rv'))`);
    await pool.query(`INSERT INTO ${schema}.orders (order_no, part_no, plant, qty) VALUES
      ('o-1', 'p-000000', 'DE01', 1), ('o-orphan', 'p-999999', 'DE01', 2)`);
    await registerEntity(
      h,
      itemEntity(items, schema, {
        targets: [
          { type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${items}_target` },
          {
            type: 'postgres',
            name: 'copy',
            role: 'secondary',
            connection: LOCAL_CONNECTION,
            schema,
            table: `${items}_copy`,
          },
        ],
      }),
    );
    await registerEntity(h, {
      name: orders,
      source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'orders' },
      targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${orders}_target` }],
      businessKey: ['order_no'],
      rowversionField: 'rv',
      pageSize: 100,
      childRetryBaseSeconds: 0.05,
      maxChildRetries: 1,
      fields: [
        { source: 'order_no', target: 'order_no', required: true },
        { source: 'part_no', target: 'part_no', transformation: 'uppercase' },
        { source: 'plant', target: 'plant' },
        { source: 'qty', target: 'qty', type: 'integer' },
        { source: 'row_version', target: 'rv', type: 'bigint' },
      ],
      parents: [{ entity: items, fields: { part_no: 'part_no', plant: 'plant' } }],
    });
    await registerEntity(h, {
      name: files,
      source: { type: 'file', connection: TMP_CONNECTION, path: `${files}.csv`, format: 'csv' },
      targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${files}_target` }],
      businessKey: ['part_no'],
      fields: [{ source: 'PART_NO', target: 'part_no', required: true }],
    });
    await h.startWorker();
    app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    for (const role of ['viewer', 'operator'] as const) {
      keys[role] = (await createApiKey(h.prisma, `trace-${role}-${schema}`, role)).key;
    }
    const runs = await runSync(h, [items, orders], 'full', true);
    expect(runs.map((r) => r.summary)).toMatchObject([
      { entityName: items, status: 'completed', inserted: 6, failed: 1 },
      { entityName: orders, status: 'completed', inserted: 1, failed: 1 },
    ]);
    // After the sync: p-000001 changes (a new rowversion), p-000007 is new, and the copy lost p-000002.
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed', row_version = nextval('${schema}.rv') WHERE part_no = 'p-000001'`,
    );
    await pool.query(
      `INSERT INTO ${schema}.items (part_no, plant, descr, price, due) VALUES ('p-000007', 'US02', 'new', '1', '2026-01-01')`,
    );
  });
  afterAll(async () => {
    await h.prisma.syncBatch.deleteMany({ where: { entityName: { in: [items, orders] } } });
    await h.prisma.entity.deleteMany({ where: { name: { in: [orders, items, files] } } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  const trace = async (entity: string, recordKey: string, role: ApiKeyRole = 'operator') => {
    const response = await app.request(`/api/v1/entities/${entity}/records/${encodeURIComponent(recordKey)}`, {
      headers: { authorization: `Bearer ${keys[role]}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    return { status: response.status, body: (await response.json()) as any };
  };
  const target = (body: { targets: Array<{ name: string }> }, name: string) =>
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    body.targets.find((t) => t.name === name) as any;

  it('a record that landed and is unchanged: the source row, every layer, identity, SKIP on both targets', async () => {
    const { status, body } = await trace(items, key('p-000000', 'DE01'));
    expect(status).toBe(200);
    expect(body.key).toMatchObject({
      form: 'business_key',
      sourceKey: key('p-000000', 'DE01'),
      bkHash: expect.stringMatching(/^[0-9a-f]{32}$/),
      reference: `${items}[part_no=P-000000|plant=DE01]`,
    });
    expect(body.source).toMatchObject({ type: 'postgres', readable: true, reason: null, keyFrom: 'input' });
    expect(body.source.row).toMatchObject({ part_no: 'p-000000', plant: 'DE01', due: '2025-12-08' });
    expect(body.pipeline.failedAt).toBeNull();
    expect(body.pipeline.fields.part_no).toMatchObject({ source: 'p-000000', mapping: 'P-000000' });
    expect(body.pipeline.fields.description.source).toBe('  item\r\nnumber 0  ');
    expect(body.pipeline.mapped).toMatchObject({ part_no: 'P-000000', plant: 'DE01', due_date: '2025-12-08' });
    expect(body.pipeline.identity.bkHash).toBe(body.key.bkHash);
    for (const name of ['main', 'copy']) {
      const t = target(body, name);
      expect(t.decision.operation, name).toBe('SKIP');
      expect(t.stored, name).toMatchObject({
        bkHash: body.key.bkHash,
        dataHash: body.pipeline.identity.dataHash,
        syncStatus: 'synced',
        syncError: null,
        attempts: 1,
        deletedAt: null,
        lastBatchUid: expect.any(String),
        syncedAt: expect.any(String),
      });
    }
    expect(target(body, 'main')).toMatchObject({ role: 'primary', sourceUnchanged: true });
    expect(body.deadLetters).toEqual({ records: [], limit: 50, more: false });
    expect(body.waiting).toEqual([]);

    // The same record by its bk_hash: the stored side; its source key comes from the (normalized) reference.
    const byHash = await trace(items, body.key.bkHash);
    expect(byHash.status).toBe(200);
    expect(byHash.body.key).toMatchObject({ form: 'bk_hash', bkHash: body.key.bkHash });
    expect(byHash.body.source.keyFrom).toBe('reference');
    expect(target(byHash.body, 'main').stored).toEqual(target(body, 'main').stored);
  });

  it('an updated record: UPDATE (rowversion newer) on each target, against what each holds', async () => {
    const { body } = await trace(items, key('p-000001', 'US02'));
    expect(body.source.row).toMatchObject({ descr: 'changed' });
    expect(body.pipeline.mapped.description).toBe('changed');
    for (const name of ['main', 'copy']) {
      const t = target(body, name);
      expect(t.decision, name).toEqual({ operation: 'UPDATE', reason: 'rowversion_newer' });
      expect(t.sourceUnchanged, name).toBe(false);
      expect(t.stored.rowversion, name).not.toBe(body.pipeline.identity.rowversion);
    }
  });

  it('a new record: INSERT on each target, which hold nothing for it', async () => {
    const { body } = await trace(items, key('p-000007', 'US02'));
    expect(body.source.rowsFound).toBe(1);
    for (const name of ['main', 'copy']) {
      expect(target(body, name)).toMatchObject({ decision: { operation: 'INSERT', reason: 'new' }, stored: null });
    }
  });

  it('each target on its own: a target that lost its identity row would INSERT while the primary SKIPs', async () => {
    const before = await trace(items, key('p-000002', 'DE01'));
    await pool.query(
      `DELETE FROM identity_records WHERE bk_hash = decode($1, 'hex')
          AND stream_id = (SELECT id FROM identity_streams WHERE entity_name = $2 AND target_name = 'copy')`,
      [before.body.key.bkHash, items],
    );
    const { body } = await trace(items, key('p-000002', 'DE01'));
    expect(target(body, 'main').decision.operation).toBe('SKIP');
    expect(target(body, 'copy')).toMatchObject({ decision: { operation: 'INSERT', reason: 'new' }, stored: null });
  });

  it('a failed record: where it stopped, the field error, its dead letter; no decision', async () => {
    const { status, body } = await trace(items, key('p-000006', 'DE01'));
    expect(status).toBe(200);
    expect(body.pipeline.failedAt).toBe('normalize');
    expect(body.pipeline.errors).toEqual([expect.objectContaining({ field: 'due_date', value: 'not a date' })]);
    expect(body.pipeline.fields.due_date.error).toMatchObject({ field: 'due_date' });
    expect(body.pipeline.identity).toBeNull();
    expect(body.targets.map((t: { decision: unknown; stored: unknown }) => [t.decision, t.stored])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(body.deadLetters.records).toHaveLength(1);
    expect(body.deadLetters.records[0]).toMatchObject({
      stage: 'normalize',
      sourceKey: key('p-000006', 'DE01'),
      resolvedAt: null,
      resolution: null,
      abandonedAt: null,
      attempts: [],
      retryCount: 0,
    });
  });

  it('a child whose parent never came: its waiting row and its dead letter', async () => {
    const { status, body } = await trace(orders, 'order_no=o-orphan');
    expect(status).toBe(200);
    expect(body.waiting).toEqual([
      expect.objectContaining({
        parentEntity: items,
        parentRefStr: `${items}[part_no=P-999999|plant=DE01]`,
        status: 'dead_lettered',
      }),
    ]);
    expect(body.deadLetters.records[0]).toMatchObject({ stage: 'resolve', errorType: 'parent_missing' });
    expect(target(body, 'main')).toMatchObject({ decision: { operation: 'INSERT' }, stored: null });
  });

  it('a viewer may trace, without record data', async () => {
    const { status, body } = await trace(items, key('p-000006', 'DE01'), 'viewer');
    expect(status).toBe(200);
    expect(body.recordData).toBe(false);
    expect(body.source.row).toBeNull();
    expect(body.pipeline).toMatchObject({ fields: null, normalized: null, mapped: null });
    expect(body.pipeline.errors[0].value).toBe('***');
    expect(body.deadLetters.records).toHaveLength(1);
  });

  it('a source that cannot read by key says so', async () => {
    const { status, body } = await trace(files, 'part_no=X');
    expect(status).toBe(200);
    expect(body.source).toMatchObject({ type: 'file', readable: false, row: null });
    expect(body.source.reason).toContain('cannot look a row up by key');
    expect(body.pipeline).toBeNull();
    expect(body.targets).toEqual([
      { name: 'main', role: 'primary', decision: null, sourceUnchanged: null, stored: null },
    ]);
  });

  it('a bad key is a 400 naming the field; an unknown entity a 404', async () => {
    const unknownField = await trace(items, 'part_no=p-000000|colour=red');
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.code).toBe('validation_failed');
    expect(unknownField.body.error.details).toEqual([
      { field: 'key.colour', message: expect.stringContaining('not a business-key field') },
      { field: 'key.plant', message: expect.stringContaining('missing') },
    ]);
    const badHex = await trace(items, 'xyz');
    expect(badHex.status).toBe(400);
    expect(badHex.body.error.details).toEqual([{ field: 'key', message: expect.stringContaining('32 hex') }]);
    const unknown = await trace('no_such_entity', key('p-000000', 'DE01'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('entity_not_found');
  });
});
