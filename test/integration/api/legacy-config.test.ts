import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestContext, createApiTestContext } from './support.ts';

const NAME = 'api_legacy_items';

/** An entity stored before named connections (inline url / auth) is refused with what to do, never a 500. */
describe('an entity saved by an earlier SyncFlow', () => {
  let t: ApiTestContext;
  beforeAll(async () => {
    t = await createApiTestContext('legacy');
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    await t.prisma.entity.create({
      data: {
        name: NAME,
        config: {
          source: {
            type: 'postgres',
            schema: 'public',
            table: 'items',
            connection: { url: { value: 'postgresql://u:pw@h/db' } },
          },
          targets: [{ type: 'postgres', name: 'main', table: 'items_target' }],
          businessKey: ['part_no'],
        },
        fieldMappings: { create: [{ sourceField: 'part_no', targetField: 'part_no', position: 0 }] },
      },
    });
  });
  afterAll(async () => {
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    await t.close();
  });

  it('answers 409 naming the entity and how to re-apply it, and shows no secret', async () => {
    const response = await t.call('GET', `/entities/${NAME}`);
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'entity_config_unreadable', details: { entity: NAME } });
    expect(response.body.error.message).toContain(`PUT /api/v1/entities/${NAME}`);
    expect(response.text).not.toContain('pw@');
  });

  it('a connection an entity uses cannot change type (409); its type-preserving update works', async () => {
    await t.call('PUT', '/connections/api-legacy-files', { body: { type: 'files', root: '/srv' } });
    await t.prisma.entity.deleteMany({ where: { name: `${NAME}_files` } });
    const created = await t.call('POST', '/entities', {
      body: {
        name: `${NAME}_files`,
        source: { type: 'file', connection: 'api-legacy-files', path: 'x.csv', format: 'csv' },
        targets: [{ type: 'postgres', name: 'main', connection: 'local', table: 'x_target' }],
        businessKey: ['k'],
        fields: [{ source: 'k', target: 'k' }],
      },
    });
    expect(created.status).toBe(201);
    const changed = await t.call('PUT', '/connections/api-legacy-files', {
      body: { type: 'postgres', url: { value: 'postgresql://u:p@127.0.0.1:1/x' } },
    });
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatchObject({ code: 'connection_in_use', details: { usedBy: [`${NAME}_files`] } });
    expect(
      (await t.call('PUT', '/connections/api-legacy-files', { body: { type: 'files', root: '/srv/b' } })).status,
    ).toBe(200);
    await t.call('DELETE', `/entities/${NAME}_files`);
  });

  it('can be replaced by a configuration that names a connection', async () => {
    const response = await t.call('PUT', `/entities/${NAME}`, {
      body: {
        source: { type: 'postgres', connection: 'local', table: 'items' },
        targets: [{ type: 'postgres', name: 'main', connection: 'local', table: 'items_target' }],
        businessKey: ['part_no'],
        fields: [{ source: 'part_no', target: 'part_no' }],
      },
    });
    expect(response.status).toBe(200);
    expect((await t.call('GET', `/entities/${NAME}`)).status).toBe(200);
  });
});
