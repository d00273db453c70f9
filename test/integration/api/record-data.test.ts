import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiKeyRole, createApiKey } from '../../../db/api-keys.ts';
import { type ApiTestContext, createApiTestContext, entityConfig } from './support.ts';

const NAME = 'api_rd_people';
const GONE = 'api_rd_gone';
const SECRET = '078-05-1120';

/**
 * Record data in the DLQ and pending children by role: viewers see none of it
 * (nor the values quoted in field errors), operators and admins see it with
 * the fields configured `sensitive: true` masked, and a known sensitive value
 * appears in no answer for any role.
 */
describe('record data by role, with sensitive fields masked', () => {
  let t: ApiTestContext;
  const keys = {} as Record<ApiKeyRole, string>;
  beforeAll(async () => {
    t = await createApiTestContext('record-data');
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, GONE] } } });
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      keys[role] = (await createApiKey(t.prisma, `test-rd-${role}`, role)).key;
    }
    const base = entityConfig(NAME);
    const created = await t.call('POST', '/entities', {
      body: {
        ...base,
        fields: [...base.fields, { source: 'person.ssn', target: 'ssn', sensitive: true }],
      },
    });
    expect(created.status).toBe(201);
    for (const entityName of [NAME, GONE]) {
      const batchUid = randomUUID();
      await t.prisma.syncBatch.create({ data: { uid: batchUid, entityName, syncType: 'full' } });
      await t.prisma.failedRecord.create({
        data: {
          batchUid,
          entityName,
          idempotencyKey: `${entityName}:${batchUid}`,
          stage: 'validate',
          errorType: 'validation_failed',
          errorMessage: `ssn: does not match: ${SECRET}; qty: outside [0, 10]`,
          errorDetails: [
            { field: 'ssn', layer: 'validate', code: 'pattern', message: `does not match: ${SECRET}`, value: SECRET },
            { field: 'qty', layer: 'validate', code: 'out_of_range', message: 'outside [0, 10]', value: 42 },
          ],
          rawData: { PART_NO: 'p-1', QTY: '42', person: { ssn: SECRET, name: 'Ada' } },
          normalizedData: { part_no: 'P-1', qty: 42, ssn: SECRET },
          mappedData: { part_no: 'P-1', qty: 42, ssn: SECRET },
        },
      });
      await t.prisma.pendingChild.create({
        data: {
          batchUid,
          entityName,
          childBkHash: 'c'.repeat(32),
          parentEntity: 'api_rd_parent',
          parentBkHash: 'p'.repeat(32),
          childPayload: {
            operation: 'INSERT',
            record: { bkHash: 'c'.repeat(32), data: { part_no: 'P-1', qty: 42, ssn: SECRET } },
            raw: { PART_NO: 'p-1', QTY: '42', person: { ssn: SECRET } },
          },
        },
      });
    }
  });
  afterAll(async () => {
    await t.prisma.syncBatch.deleteMany({ where: { entityName: { in: [NAME, GONE] } } });
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    await t.close();
  });

  const get = (role: ApiKeyRole, path: string) => t.call('GET', path, { key: keys[role] });

  it('shows viewers the lists without record data, nor values in field errors', async () => {
    const dlq = await get('viewer', `/monitoring/failed-records?entity=${NAME}`);
    expect(dlq.status).toBe(200);
    expect(dlq.body.records[0]).toMatchObject({ rawData: null, normalizedData: null, mappedData: null });
    expect(dlq.body.records[0].errorDetails.map((d: { value: unknown }) => d.value)).toEqual(['***', '***']);
    expect(dlq.body.records[0].errorMessage).toBe('ssn: does not match: ***; qty: outside [0, 10]');
    const children = await get('viewer', `/monitoring/pending-children?entity=${NAME}`);
    expect(children.status).toBe(200);
    expect(children.body.children[0].childPayload).toBeNull();
  });

  it('shows operators and admins record data with sensitive fields masked by source and target name', async () => {
    for (const role of ['operator', 'admin'] as const) {
      const [record] = (await get(role, `/monitoring/failed-records?entity=${NAME}`)).body.records;
      expect(record.rawData).toEqual({ PART_NO: 'p-1', QTY: '42', person: { ssn: '***', name: 'Ada' } });
      expect(record.normalizedData).toEqual({ part_no: 'P-1', qty: 42, ssn: '***' });
      expect(record.mappedData).toEqual({ part_no: 'P-1', qty: 42, ssn: '***' });
      expect(record.errorDetails.map((d: { value: unknown }) => d.value)).toEqual(['***', 42]);
      const [child] = (await get(role, `/monitoring/pending-children?entity=${NAME}`)).body.children;
      expect(child.childPayload).toEqual({
        operation: 'INSERT',
        record: { bkHash: 'c'.repeat(32), data: { part_no: 'P-1', qty: 42, ssn: '***' } },
        raw: { PART_NO: 'p-1', QTY: '42', person: { ssn: '***' } },
      });
    }
  });

  it('masks every value of an entity whose configuration is gone', async () => {
    const [record] = (await get('admin', `/monitoring/failed-records?entity=${GONE}`)).body.records;
    expect(record.rawData).toEqual({ PART_NO: '***', QTY: '***', person: '***' });
    expect(record.mappedData).toEqual({ part_no: '***', qty: '***', ssn: '***' });
  });

  it('never shows the sensitive value, to any role', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      for (const path of ['/monitoring/failed-records', '/monitoring/pending-children']) {
        const response = await get(role, path.endsWith('records') ? `${path}?status=all` : path);
        if (path.endsWith('children')) expect(response.status).toBe(200);
        expect(response.text, `${role} ${path}`).not.toContain(SECRET);
      }
    }
  });
});
