import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { checkExposition } from '../../unit/api/exposition.ts';
import { terminateAll } from './support.ts';

/**
 * The reconcile routes (api/routes/reconcile.ts) over the real engine: POST /reconcile, GET /reconcile/{uid},
 * GET /reconcile?entity=, with their refusals (400 naming the field, 404, 409, 403), a clean report, a report of
 * differences injected into the PostgreSQL target by hand (missing, extra, different), the Prometheus gauges of
 * the last reconcile, and a repair after which a second reconcile is clean.
 */
describe('reconcile API', () => {
  let h: Harness;
  let pool: pg.Pool;
  let app: ReturnType<typeof createApp>;
  /** The same API on a task queue no worker polls: what it starts stays running (for the 409s). */
  let idle: ReturnType<typeof createApp>;
  const idleQueue = `test-reconcile-idle-${randomUUID().slice(0, 8)}`;
  const keys: Record<'admin' | 'operator' | 'viewer', string> = { admin: '', operator: '', viewer: '' };
  const schema = `rca_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(4)}`;
  /** Registered, never synced: a reconcile is refused (409 no_completed_sync). */
  const unsynced = `${name}_new`;
  /** Synced once; the 409s that leave workflows running use it, not `name`. */
  const busy = `${name}_busy`;
  const target = `${schema}.${name}_target`;
  const started: string[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  type Answer = { status: number; body: any; text: string };
  const call = async (
    on: ReturnType<typeof createApp>,
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; key?: string } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? keys.operator}` };
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await on.request(`/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, text };
  };
  const post = (body: unknown, key?: string) => call(app, 'POST', '/reconcile', { body, ...(key ? { key } : {}) });
  const fields = (answer: Answer) => (answer.body?.error?.details ?? []).map((d: { field: string }) => d.field);

  /** Starts a reconcile and polls its report until it ends. */
  async function reconcile(body: Record<string, unknown>) {
    const answer = await post(body);
    expect(answer.status, answer.text).toBe(202);
    started.push(answer.body.workflowId);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const report = await call(app, 'GET', `/reconcile/${answer.body.reportUid}`, { key: keys.viewer });
      expect(report.status).toBe(200);
      if (report.body.status !== 'running') return report.body;
      if (Date.now() > deadline) throw new Error(`reconcile did not end: ${report.text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    h = await createHarness('reconcile-api');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(40));
    for (const entity of [name, unsynced, busy]) await registerEntity(h, itemEntity(entity, schema));
    await h.prisma.entity.updateMany({ where: { name: { in: [name, busy] } }, data: { mode: 'live' } });
    await h.startWorker();
    app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    idle = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: idleQueue, secrets: h.secrets });
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      keys[role] = (await createApiKey(h.prisma, `reconcile-${role}`, role)).key;
    }
    for (const entity of [name, busy]) {
      const [run] = await runSync(h, [entity], 'full', true);
      expect(run!.summary).toMatchObject({ status: 'completed', inserted: 40, failed: 0 });
    }
  });
  afterAll(async () => {
    await terminateAll(h.client, started);
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await h?.close();
  });

  it('answers 400 naming the field for a bad body, never 500', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'entity'],
      [{ entity: 'Not An Entity' }, 'entity'],
      [{ entity: name, sample: 0 }, 'sample'],
      [{ entity: name, sample: 100_001 }, 'sample'],
      [{ entity: name, sample: 1.5 }, 'sample'],
      [{ entity: name, sample: '10' }, 'sample'],
      [{ entity: name, repair: 'yes' }, 'repair'],
      [{ entity: name, targets: [] }, 'targets'],
      [{ entity: name, targets: 'main' }, 'targets'],
      [{ entity: name, targets: [''] }, 'targets.0'],
      [{ entity: name, everything: true }, 'everything'],
      [[name], '(body)'],
      [null, '(body)'],
    ];
    for (const [body, field] of cases) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code, JSON.stringify(body)).toBe('validation_failed');
      expect(fields(answer), JSON.stringify(body)).toContain(field);
    }
    const malformed = await call(app, 'POST', '/reconcile', { raw: '{"entity":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
  });

  it('answers 400 naming targets for a target the entity does not have', async () => {
    const answer = await post({ entity: name, targets: ['main', 'nowhere'] });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ field: 'targets', message: expect.stringContaining('"nowhere"') }]);
  });

  it('answers 404 for an unknown entity and an unknown report, 400 for a uid that is not one', async () => {
    const entity = await post({ entity: 'no_such_entity' });
    expect(entity.status).toBe(404);
    expect(entity.body.error.code).toBe('entity_not_found');
    const report = await call(app, 'GET', `/reconcile/${randomUUID()}`, { key: keys.viewer });
    expect(report.status).toBe(404);
    expect(report.body.error.code).toBe('reconcile_report_not_found');
    const notUid = await call(app, 'GET', '/reconcile/not-a-uid', { key: keys.viewer });
    expect(notUid.status).toBe(400);
    expect(fields(notUid)).toEqual(['uid']);
  });

  it('answers 409 before the entity has a completed sync', async () => {
    const answer = await post({ entity: unsynced });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('no_completed_sync');
  });

  it('needs an operator key to start; a viewer reads reports', async () => {
    const viewer = await post({ entity: name }, keys.viewer);
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.details).toEqual({ requiredRole: 'operator', role: 'viewer' });
    expect((await call(app, 'GET', '/reconcile', { key: keys.viewer })).status).toBe(200);
    const anonymous = await app.request('/api/v1/reconcile');
    expect(anonymous.status).toBe(401);
  });

  it('reports a clean target after a full sync (202, then the report)', async () => {
    const report = await reconcile({ entity: name });
    expect(report).toMatchObject({
      entityName: name,
      status: 'completed',
      repair: false,
      sample: null,
      clean: true,
      error: null,
      progress: { phase: 'done' },
      source: { rows: 40, records: 40, unsyncable: 0 },
    });
    expect(report.workflowId).toEqual(expect.any(String));
    expect(report.durationMs).toEqual(expect.any(Number));
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]).toMatchObject({
      target: 'main',
      type: 'postgres',
      method: 'segments',
      sourceCount: 40,
      targetCount: 40,
      missing: 0,
      extra: 0,
      different: 0,
      orphans: 0,
      unverifiedSegments: [],
      clean: true,
      repaired: null,
      firstKeys: { missing: [], extra: [], different: [], orphans: [] },
    });
  });

  it('reports differences made in the target by hand, with their keys and reference strings', async () => {
    await pool.query(`DELETE FROM ${target} WHERE part_no = 'P-000005'`);
    await pool.query(
      `INSERT INTO ${target} (erp_key_hash, erp_data_hash, erp_ref_str, part_no, plant)
       VALUES (md5('extra-1'), md5('x') || md5('y'), 'part_no=X-1|plant=DE01', 'X-1', 'DE01')`,
    );
    await pool.query(
      `UPDATE ${target} SET erp_data_hash = md5('changed') || md5('changed') WHERE part_no = 'P-000007'`,
    );
    const report = await reconcile({ entity: name, targets: ['main'] });
    expect(report).toMatchObject({ status: 'completed', clean: false });
    const t = report.targets[0];
    expect(t).toMatchObject({ target: 'main', sourceCount: 40, targetCount: 40, missing: 1, extra: 1, different: 1 });
    expect(t.clean).toBe(false);
    expect(t.firstKeys.missing).toEqual([
      { bkHash: expect.stringMatching(/^[0-9a-f]{32}$/), refStr: expect.stringContaining('P-000005') },
    ]);
    expect(t.firstKeys.extra).toEqual([{ bkHash: expect.stringMatching(/^[0-9a-f]{32}$/), refStr: expect.anything() }]);
    expect(t.firstKeys.different).toEqual([
      { bkHash: expect.stringMatching(/^[0-9a-f]{32}$/), refStr: expect.stringContaining('P-000007') },
    ]);
    // A viewer reads the same report: keys and reference strings, as the DLQ list shows them.
    const asViewer = await call(app, 'GET', `/reconcile/${report.uid}`, { key: keys.viewer });
    expect(asViewer.body.targets[0].firstKeys).toEqual(t.firstKeys);
  });

  it('exposes the last completed reconcile per target as Prometheus gauges', async () => {
    const response = await call(app, 'GET', '/monitoring/metrics/prometheus', { key: keys.viewer });
    expect(response.status).toBe(200);
    const samples = checkExposition(response.text).filter((s) => s.labels.entity === name);
    const value = (metric: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(
      ['missing', 'extra', 'different', 'orphans'].map((kind) =>
        value('syncflow_reconcile_differences', { target: 'main', kind }),
      ),
    ).toEqual([1, 1, 1, 0]);
    expect(value('syncflow_reconcile_differences', { target: 'main', kind: 'identity_mismatch' })).toEqual(
      expect.any(Number),
    );
    expect(value('syncflow_reconcile_last_clean', { target: 'main' })).toBe(0);
    expect(value('syncflow_reconcile_last_completed_timestamp_seconds', { target: 'main' })).toBeGreaterThan(
      Date.now() / 1000 - 600,
    );
  });

  it('lists reports newest first, by entity, a page at a time', async () => {
    const all = await call(app, 'GET', `/reconcile?entity=${name}`, { key: keys.viewer });
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(2);
    expect(all.body.items.every((r: { entityName: string }) => r.entityName === name)).toBe(true);
    const times = all.body.items.map((r: { startedAt: string }) => r.startedAt);
    expect(times).toEqual([...times].sort().reverse());
    const first = await call(app, 'GET', `/reconcile?entity=${name}&limit=1`, { key: keys.viewer });
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0].uid).toBe(all.body.items[0].uid);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(app, 'GET', `/reconcile?entity=${name}&limit=1&cursor=${first.body.nextCursor}`, {
      key: keys.viewer,
    });
    expect(second.body.items[0].uid).toBe(all.body.items[1].uid);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=x', 'limit'],
      ['entity=Bad-Name', 'entity'],
      ['cursor=nonsense', 'cursor'],
    ]) {
      const bad = await call(app, 'GET', `/reconcile?${query}`, { key: keys.viewer });
      expect(bad.status, query).toBe(400);
      expect(fields(bad), query).toContain(field);
    }
  });

  it('repairs what differs, and a second reconcile is clean', async () => {
    const repaired = await reconcile({ entity: name, repair: true });
    expect(repaired).toMatchObject({ status: 'completed', repair: true });
    expect(repaired.targets[0].repaired).toMatchObject({ resent: 2, deleted: 1, stillDifferent: 0 });
    const again = await reconcile({ entity: name });
    expect(again).toMatchObject({ status: 'completed', clean: true });
    expect(again.targets[0]).toMatchObject({ missing: 0, extra: 0, different: 0, sourceCount: 40, targetCount: 40 });
  });

  it('answers 409 while a reconcile of the entity runs, and for a repair while a sync runs', async () => {
    // Started on a queue no worker polls: both stay running until terminated.
    const first = await call(idle, 'POST', '/reconcile', { body: { entity: busy } });
    expect(first.status, first.text).toBe(202);
    started.push(first.body.workflowId);
    const running = await call(app, 'GET', `/reconcile/${first.body.reportUid}`, { key: keys.viewer });
    expect(running.body).toMatchObject({ status: 'running', clean: null, finishedAt: null });
    const second = await post({ entity: busy });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({
      code: 'reconcile_already_running',
      details: { reportUid: first.body.reportUid },
    });
    await terminateAll(h.client, [first.body.workflowId]);

    const [sync] = await startSync(
      { prisma: h.prisma, temporal: h.client, taskQueue: idleQueue },
      { entities: [busy], syncType: 'incremental' },
    );
    started.push(sync!.workflowId);
    const repair = await post({ entity: busy, repair: true });
    expect(repair.status).toBe(409);
    expect(repair.body.error.code).toBe('sync_already_running');
    await terminateAll(h.client, [sync!.workflowId]);
  });
});
