import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../api/json-body.ts';
import { loadResolvedConnection } from '../../../db/connections.ts';
import { type ApiTestContext, createApiTestContext, entityConfig } from './support.ts';

const NAME = 'api_ent_items';
const OTHER = 'api_ent_orders';

describe('entities API', () => {
  let t: ApiTestContext;
  beforeAll(async () => {
    t = await createApiTestContext('entities');
    await t.prisma.entity.deleteMany({ where: { name: { in: [NAME, OTHER] } } });
  });
  afterAll(async () => {
    await t.prisma.entity.deleteMany({ where: { name: { in: [NAME, OTHER] } } });
    await t.close();
  });

  it('creates an entity in dry-run and answers 201 with it', async () => {
    const response = await t.call('POST', '/entities', { body: entityConfig(NAME) });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ name: NAME, mode: 'dry_run', enabled: true, configVersion: 1 });
    expect(response.body.config.fields).toHaveLength(3);
    expect(response.body.config.deltaStrategy).toBe('auto');
  });

  it('refuses a second create of the same name with 409', async () => {
    const response = await t.call('POST', '/entities', { body: entityConfig(NAME) });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('entity_exists');
  });

  it('names every field at fault in one 400, and writes nothing', async () => {
    const response = await t.call('POST', '/entities', {
      body: {
        ...entityConfig(OTHER),
        businessKey: ['nope'],
        pageSize: 5,
        surprise: true,
        fields: [{ source: 'A', target: '1bad' }],
      },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    const fields = response.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['pageSize', 'fields[0].target', 'businessKey[0]']));
    expect(JSON.stringify(response.body.error.details)).toContain('surprise');
    expect(await t.prisma.entity.count({ where: { name: OTHER } })).toBe(0);
  });

  it('rejects SQL-looking entity names with 400 (body and path)', async () => {
    const body = await t.call('POST', '/entities', { body: entityConfig("x'; DROP TABLE entities;--" as string) });
    expect(body.status).toBe(400);
    expect(body.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' })]));
    const path = await t.call('GET', `/entities/${encodeURIComponent('items; drop table x')}`);
    expect(path.status).toBe(400);
    expect(path.body.error.details[0].field).toBe('name');
  });

  it('answers 400 invalid_json for a body that does not parse', async () => {
    const response = await t.call('POST', '/entities', { raw: '{"name": ' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
  });

  it("lists and gets entities; a connection's inline secret is sealed, masked, and kept by a GET → PUT round trip", async () => {
    const saved = await t.call('PUT', '/connections/api-ent-orders', {
      body: { type: 'postgres', url: { value: `${t.databaseUrl}?application_name=hunter2` } },
    });
    expect(saved.status).toBe(201);
    expect(saved.body.config.url).toEqual({ value: '***' });
    const stored = await t.prisma.connection.findUniqueOrThrow({ where: { name: 'api-ent-orders' } });
    expect(JSON.stringify(stored.config)).not.toContain('hunter2');
    await t.call('POST', '/entities', {
      body: entityConfig(OTHER, { source: { type: 'postgres', table: 'orders', connection: 'api-ent-orders' } }),
    });
    const list = await t.call('GET', '/entities');
    expect(list.status).toBe(200);
    const names = list.body.entities.map((e: { name: string }) => e.name);
    expect(names).toEqual(expect.arrayContaining([NAME, OTHER]));
    const one = await t.call('GET', `/entities/${OTHER}`);
    expect(one.status).toBe(200);
    expect(one.body.config.source.connection).toBe('api-ent-orders');
    const connection = await t.call('GET', '/connections/api-ent-orders');
    expect(connection.body.usedBy).toEqual([OTHER]);
    // GET → PUT writes back "***": the stored secret is kept, not replaced by the literal.
    const { name: _n, usedBy: _u, version, createdAt: _c, updatedAt: _up, ...rest } = connection.body;
    const again = await t.call('PUT', '/connections/api-ent-orders', {
      body: { ...rest.config, description: 'again' },
    });
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(version + 1);
    const resolved = await loadResolvedConnection(t.prisma, 'api-ent-orders', t.secrets);
    expect(resolved).toMatchObject({ url: `${t.databaseUrl}?application_name=hunter2` });
    expect(list.text + one.text + connection.text + again.text).not.toContain('hunter2');
    // In use: it cannot be deleted.
    const refused = await t.call('DELETE', '/connections/api-ent-orders');
    expect(refused.status).toBe(409);
  });

  it('answers 400 naming the field for an unknown connection or one of the wrong type', async () => {
    const unknown = await t.call('POST', '/entities', {
      body: entityConfig('api_ent_noconn', { source: { type: 'postgres', table: 'x', connection: 'no-such' } }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([
      { field: 'source.connection', message: expect.stringMatching(/no connection named "no-such"/) },
    ]);
    const wrongType = await t.call('POST', '/entities', {
      body: entityConfig('api_ent_wrongtype', {
        targets: [{ type: 'postgres', name: 'main', connection: 'tmp', table: 't' }],
      }),
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.details[0]).toMatchObject({
      field: 'targets.0.connection',
      message: expect.stringMatching(/files connection/),
    });
  });

  it('refuses connections an ordinary caller could abuse: foreign env variables, credentials in URLs, relative roots', async () => {
    const answers = await Promise.all([
      t.call('PUT', '/connections/api-bad-1', {
        body: {
          type: 'apismith',
          baseUrl: 'http://evil.example',
          auth: { username: { env: 'DATABASE_URL' }, password: { value: 'x' } },
        },
      }),
      t.call('PUT', '/connections/api-bad-2', {
        body: {
          type: 'schedulehub',
          baseUrl: 'http://u:p@evil.example',
          auth: { username: { value: 'u' }, password: { value: 'p' } },
        },
      }),
      t.call('PUT', '/connections/api-bad-3', { body: { type: 'files', root: 'relative/dir' } }),
      t.call('PUT', '/connections/api-bad-4', { body: { type: 'postgres', url: { value: '***' } } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
    expect(answers.map((a) => a.body.error.details[0].field)).toEqual(['auth.username.env', 'baseUrl', 'root', 'url']);
  });

  it('answers 404 for an unknown entity on get, put, delete, preview and promote', async () => {
    const missing = 'api_ent_missing';
    const answers = await Promise.all([
      t.call('GET', `/entities/${missing}`),
      t.call('PUT', `/entities/${missing}`, { body: entityConfig(missing) }),
      t.call('DELETE', `/entities/${missing}`),
      t.call('POST', `/entities/${missing}/preview`, { body: { rows: [{}] } }),
      t.call('POST', `/entities/${missing}/promote`),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('entity_not_found');
    }
  });

  it('replaces a configuration with PUT (version bumped, mode kept) and checks the name', async () => {
    const config = entityConfig(NAME, { pageSize: 500 });
    const { name: _name, ...withoutName } = config;
    const response = await t.call('PUT', `/entities/${NAME}`, { body: withoutName });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ configVersion: 2, mode: 'dry_run', config: { pageSize: 500 } });
    const mismatch = await t.call('PUT', `/entities/${NAME}`, { body: entityConfig(OTHER) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.details[0].field).toBe('name');
    const invalid = await t.call('PUT', `/entities/${NAME}`, { body: { ...config, pageSize: 'many' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0].field).toBe('pageSize');
  });

  it('patches with a JSON merge patch: validated like a PUT, version bumped, the rest kept', async () => {
    const before = (await t.call('GET', `/entities/${NAME}`)).body;
    const patched = await t.call('PATCH', `/entities/${NAME}`, {
      raw: JSON.stringify({ deletePolicy: 'soft', description: 'patched' }),
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      configVersion: before.configVersion + 1,
      mode: before.mode,
      config: { deletePolicy: 'soft', pageSize: before.config.pageSize, fields: before.config.fields },
    });
    // One field by its target name; application/json is accepted too; null removes a member.
    const one = await t.call('PATCH', `/entities/${NAME}`, {
      body: { fields: { created: { required: true } }, description: null },
    });
    expect(one.status).toBe(200);
    expect(one.body.config.fields.map((f: { target: string }) => f.target)).toEqual(['part_no', 'qty', 'created']);
    expect(one.body.config.fields[2]).toMatchObject({ source: 'CREATED', target: 'created', required: true });
    expect(one.body.config.fields[1]).toEqual(before.config.fields[1]);
    expect(one.body.config.description).toBeUndefined();
    expect(one.body.configVersion).toBe(before.configVersion + 2);

    const invalid = await t.call('PATCH', `/entities/${NAME}`, {
      body: { pageSize: 1, deletePolicy: 'sometimes', businessKey: null },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(
      ['businessKey', 'deletePolicy', 'pageSize'].sort(),
    );
    const renamed = await t.call('PATCH', `/entities/${NAME}`, { body: { name: OTHER } });
    expect(renamed.status).toBe(400);
    expect(renamed.body.error.details[0].field).toBe('name');
    for (const raw of ['null', '[]', '"soft"', '7']) {
      const notObject = await t.call('PATCH', `/entities/${NAME}`, { raw });
      expect(notObject.status, raw).toBe(400);
      expect(notObject.body.error.details[0].field, raw).toBe('(body)');
    }
    expect((await t.call('PATCH', '/entities/api_ent_nobody', { body: { deletePolicy: 'soft' } })).status).toBe(404);
    expect((await t.call('GET', `/entities/${NAME}`)).body.configVersion).toBe(before.configVersion + 2);
    await t.call('PATCH', `/entities/${NAME}`, { body: { fields: { created: { required: false } } } });
  });

  it('answers 400, never 500, for a body that is not an object, NUL or a lone surrogate (finding 14)', async () => {
    for (const raw of ['null', '[]', '42', '"text"', 'true']) {
      const put = await t.call('PUT', `/entities/${NAME}`, { raw });
      expect(put.status, raw).toBe(400);
      expect(put.body.error.details[0].field, raw).toBe('(body)');
      const post = await t.call('POST', '/entities', { raw });
      expect(post.status, raw).toBe(400);
    }
    const config = entityConfig(NAME);
    for (const [text, message] of [
      ['a\\u0000b', 'NUL'],
      ['a\\ud800b', 'lone surrogate'],
      ['\\udc00', 'lone surrogate'],
    ] as const) {
      const raw = JSON.stringify({ ...config, description: 'PLACEHOLDER' }).replace('PLACEHOLDER', text);
      for (const [method, path] of [
        ['PUT', `/entities/${NAME}`],
        ['POST', '/entities'],
        ['PATCH', `/entities/${NAME}`],
      ] as const) {
        const response = await t.call(method, path, { raw });
        expect(response.status, `${method} ${text}`).toBe(400);
        expect(response.body.error.details, `${method} ${text}`).toEqual([
          { field: 'description', message: expect.stringContaining(message) },
        ]);
      }
    }
    // Every route, zod-validated bodies included; a key with NUL is named too; a valid pair is fine.
    const retry = await t.call('POST', '/sync/retry-failed', { raw: `{"entity":"${NAME}","errorType":"x\\u0000"}` });
    expect(retry.status).toBe(400);
    expect(retry.body.error.details).toEqual([{ field: 'errorType', message: 'contains a NUL character' }]);
    const key = await t.call('POST', `/entities/${NAME}/preview`, { raw: '{"rows":[{"A\\u0000":1}]}' });
    expect(key.status).toBe(400);
    expect(key.body.error.details[0].field).toBe('rows[0].A\u0000');
    const pair = await t.call('POST', `/entities/${NAME}/preview`, { raw: '{"rows":[{"PART_NO":"\\ud83d\\ude00"}]}' });
    expect(pair.status).toBe(200);
  });

  it('answers 400 naming the field, never 500, for a body nested deeper than 64 levels (fuzz:api)', async () => {
    // 6,000 levels overflowed the stack in the body checks (500 on every JSON route); 500 levels in a field
    // default passed validation and failed in Prisma ("JSON Error: recursion limit exceeded"): a 500 too.
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // The field named is the container at level 64: `levels` is how many the path's prefix uses.
    const at64 = (prefix: string, levels: number) => `${prefix}${'.a'.repeat(MAX_JSON_DEPTH - levels)}`;
    const config = JSON.stringify(
      entityConfig(NAME, {
        fields: [
          { source: 'PART_NO', target: 'part_no', required: true },
          { source: 'DOC', target: 'doc', type: 'json', default: 0 },
        ],
      }),
    );
    for (const depth of [500, 6_000, 150_000]) {
      const cases: Array<[string, string, string, string, Record<string, string>?]> = [
        [
          'PUT',
          `/entities/${NAME}`,
          config.replace('"default":0', `"default":${deepObject(depth)}`),
          at64('fields[1].default', 3),
        ],
        ['POST', '/entities', `{"name":${deepObject(depth)}}`, at64('name', 1), { 'content-type': 'text/plain' }],
        [
          'PATCH',
          `/entities/${NAME}`,
          `{"description":${deepObject(depth)}}`,
          at64('description', 1),
          { 'content-type': 'application/merge-patch+json' },
        ],
        [
          'POST',
          `/entities/${NAME}/preview`,
          `{"rows":[{"PART_NO":${deepArray(depth)}}]}`,
          `rows[0].PART_NO${'[0]'.repeat(MAX_JSON_DEPTH - 3)}`,
        ],
        [
          'PUT',
          '/connections/api-ent-deep',
          `{"type":"files","root":"/tmp","description":${deepObject(depth)}}`,
          at64('description', 1),
        ],
        ['POST', '/sync/retry-failed', `{"entity":"${NAME}","stage":${deepObject(depth)}}`, at64('stage', 1)],
      ];
      for (const [method, path, raw, field, headers] of cases) {
        const response = await t.call(method, path, { raw, ...(headers ? { headers } : {}) });
        expect(response.status, `${method} ${path} at ${depth}`).toBe(400);
        expect(response.body.error.details, `${method} ${path} at ${depth}`).toEqual([
          { field, message: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` },
        ]);
      }
    }
    // 64 levels are fine: the entity saves and reads back.
    const fine = await t.call('PUT', `/entities/${NAME}`, {
      raw: config.replace('"default":0', `"default":${deepObject(MAX_JSON_DEPTH - 4)}`),
    });
    expect(fine.status).toBe(200);
    expect(await t.call('PUT', `/entities/${NAME}`, { body: entityConfig(NAME) })).toMatchObject({ status: 200 });
  });

  it('keeps integers beyond 2^53 exact in a preview, and masks sensitive fields', async () => {
    const response = await t.call('POST', `/entities/${NAME}/preview`, {
      raw: '{"rows":[{"PART_NO":9007199254740993,"QTY":"1"},{"PART_NO":12345678901234567891,"QTY":"2"}]}',
    });
    expect(response.status).toBe(200);
    expect(response.body.rows[0].fields.part_no.source).toBe('9007199254740993');
    expect(response.body.rows[0].fields.part_no.mapping).toBe('9007199254740993');
    expect(response.body.rows[1].fields.part_no.mapping).toBe('12345678901234567891');
    expect(response.text).not.toContain('9007199254740992');

    const sensitive = await t.call('PATCH', `/entities/${NAME}`, { body: { fields: { qty: { sensitive: true } } } });
    expect(sensitive.status).toBe(200);
    const masked = await t.call('POST', `/entities/${NAME}/preview`, {
      body: {
        rows: [
          { PART_NO: 'p-1', QTY: '12.5' },
          { PART_NO: 'p-2', QTY: 'lots' },
        ],
      },
    });
    expect(masked.status).toBe(200);
    for (const row of masked.body.rows) {
      for (const [layer, value] of Object.entries(row.fields.qty)) {
        if (layer === 'error') expect((value as { value: unknown }).value).toBe('***');
        else expect(value, layer).toBe('***');
      }
      expect(row.fields.part_no.source).not.toBe('***');
    }
    expect(masked.text).not.toContain('12.5');
    expect(masked.text).not.toContain('lots');
    await t.call('PATCH', `/entities/${NAME}`, { body: { fields: { qty: { sensitive: false } } } });
  });

  it('previews every normalization layer per field, writing nothing', async () => {
    const before = await t.prisma.syncBatch.count();
    const response = await t.call('POST', `/entities/${NAME}/preview`, {
      body: {
        rows: [
          { PART_NO: '  p-100 ', QTY: '10,000', CREATED: '2024/12/31' },
          { PART_NO: 'p-2', QTY: 'lots', CREATED: null },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(response.body.layers).toEqual(['types', 'strings', 'numbers', 'dates', 'mapping']);
    expect(response.body.metrics).toMatchObject({ rows: 2, successful: 1, failed: 1 });
    const [first, second] = response.body.rows;
    expect(first.ok).toBe(true);
    expect(first.fields.part_no).toMatchObject({ source: '  p-100 ', strings: 'p-100', mapping: 'P-100' });
    expect(first.fields.qty).toMatchObject({ source: '10,000', numbers: 10000, mapping: 10000 });
    expect(first.fields.created.mapping).toBe('2024-12-31');
    expect(second.ok).toBe(false);
    expect(second.fields.qty.error).toMatchObject({ field: 'qty', layer: 'numbers' });
    expect(await t.prisma.syncBatch.count()).toBe(before);
  });

  it('rejects a preview without rows, or with too many', async () => {
    const empty = await t.call('POST', `/entities/${NAME}/preview`, { body: { rows: [] } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].field).toBe('rows');
    const many = await t.call('POST', `/entities/${NAME}/preview`, { body: { rows: Array(101).fill({}) } });
    expect(many.status).toBe(400);
  });

  it('promotes dry-run to live', async () => {
    const response = await t.call('POST', `/entities/${NAME}/promote`);
    expect(response.status).toBe(200);
    expect(response.body.mode).toBe('live');
    expect((await t.call('GET', `/entities/${NAME}`)).body.mode).toBe('live');
  });

  it('deletes with 204, then the entity is gone', async () => {
    const response = await t.call('DELETE', `/entities/${OTHER}`);
    expect(response.status).toBe(204);
    expect((await t.call('GET', `/entities/${OTHER}`)).status).toBe(404);
  });
});
