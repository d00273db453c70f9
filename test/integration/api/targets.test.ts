import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { checkExposition } from '../../unit/api/exposition.ts';
import { runCli } from '../cli/cli-run.ts';

/**
 * Issue 13, part 4: per-target state. A real sync to two targets whose secondary refuses three records:
 * GET /entities/:name/targets gives the primary all synced and the secondary those three failed (in its DLQ),
 * the deleted record apart on both; `syncflow entities show` prints the same table; the Prometheus scrape
 * has a syncflow_target_records gauge per entity, target and status. Abandoned records and the last retry
 * pass are written by hand here (the replay workflow that writes them is built apart).
 */
describe('per-target state: API, CLI and metrics', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let viewer: string;
  const schema = `tgt_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(4)}`;
  const copy = `${schema}_copy.${name}_copy`;
  const REFUSED = ['P-000001', 'P-000002', 'P-000003'];

  beforeAll(async () => {
    h = await createHarness('targets');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(120));
    const base = itemEntity(name, schema);
    // The secondary is declared first: the answer still lists the primary first.
    await registerEntity(h, {
      ...base,
      targets: [
        {
          type: 'postgres',
          name: 'copy',
          role: 'secondary',
          connection: LOCAL_CONNECTION,
          schema: `${schema}_copy`,
          table: `${name}_copy`,
        },
        ...base.targets,
      ],
    });
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    viewer = (await createApiKey(h.prisma, 'targets-viewer', 'viewer')).key;

    const [first] = await runSync(h, [name], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 120, failed: 0 });

    // From now on the secondary refuses three records, each on its own (a row-level error: found by bisection).
    await pool.query(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.part_no IN (${REFUSED.map((k) => `'${k}'`).join(', ')}) THEN
          RAISE EXCEPTION 'the copy refuses %', NEW.part_no USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await pool.query(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${copy} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`,
    );
    // Five records change (three of them refused by the copy) and one goes: both targets delete it.
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed', row_version = nextval('${schema}.rv')
        WHERE part_no IN ('p-000001', 'p-000002', 'p-000003', 'p-000004', 'p-000005')`,
    );
    await pool.query(`DELETE FROM ${schema}.items WHERE part_no = 'p-000100'`);
    const [second] = await runSync(h, [name], 'full', true);
    expect(second!.summary).toMatchObject({ status: 'completed', updated: 5, deleted: 1, failed: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await h.prisma.syncBatch.deleteMany({ where: { entityName: name } });
    await h.prisma.identityStream.deleteMany({ where: { entityName: name } });
    await h.prisma.entity.deleteMany({ where: { name } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema}_copy CASCADE`);
    await pool.end();
    await h.close();
  });

  const get = async (path: string, key = viewer) => {
    const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: response.status, text: await response.text() };
  };
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  const targetsOf = async (): Promise<any> => {
    const response = await get(`/entities/${name}/targets`);
    expect(response.status).toBe(200);
    return JSON.parse(response.text);
  };

  it('GET /entities/:name/targets: the primary all synced, the secondary with its refused records failed', async () => {
    const body = await targetsOf();
    expect(body).toEqual({
      entity: name,
      targets: [
        {
          name: 'main',
          type: 'postgres',
          role: 'primary',
          synced: 119,
          pending: 0,
          failed: 0,
          deleted: 1,
          abandoned: 0,
          deadLetters: 0,
        },
        {
          name: 'copy',
          type: 'postgres',
          role: 'secondary',
          synced: 116,
          pending: 0,
          failed: 3,
          deleted: 1,
          abandoned: 0,
          deadLetters: 3,
        },
      ],
      lastRetry: null,
    });
    // The counts are the store's and the DLQ's own.
    const failed = await pool.query(
      `SELECT ref_str FROM identity_status WHERE entity_name = $1 AND target_name = 'copy' AND sync_status = 'failed'`,
      [name],
    );
    expect(failed.rows).toHaveLength(3);
  });

  it('an unknown entity is a 404 in the error shape; a bad name a 400', async () => {
    const unknown = await get('/entities/no_such_entity/targets');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error.code).toBe('entity_not_found');
    expect((await get('/entities/Not-A-Name/targets')).status).toBe(400);
  });

  it('abandoned records and the last retry pass, its metrics.replay read defensively', async () => {
    const dlq = await h.prisma.failedRecord.findMany({ where: { entityName: name, targetName: 'copy' } });
    expect(dlq).toHaveLength(3);
    await h.prisma.failedRecord.update({ where: { uid: dlq[0]!.uid }, data: { abandonedAt: new Date() } });
    // A resolved record counts nowhere.
    await h.prisma.failedRecord.update({ where: { uid: dlq[1]!.uid }, data: { resolvedAt: new Date() } });

    const at = (s: number) => new Date(Date.parse('2026-12-01T23:00:00Z') + s * 1000);
    await h.prisma.syncBatch.create({
      data: {
        entityName: name,
        syncType: 'replay',
        status: 'completed',
        dryRun: false,
        startedAt: at(0),
        completedAt: at(4),
        updated: 2n,
        failed: 1n,
        createdAt: at(0),
        metrics: { replay: { trigger: 'operator', selected: 3, resolved: 2, failedAgain: 1, abandoned: 0 } },
      },
    });
    const newest = await h.prisma.syncBatch.create({
      data: {
        entityName: name,
        syncType: 'replay',
        status: 'running',
        dryRun: false,
        startedAt: at(60),
        createdAt: at(60),
        // Part of it written, the rest absent or not numbers.
        metrics: { replay: { trigger: 'cron', selected: 2, resolved: 'some' } },
      },
    });
    let body = await targetsOf();
    expect(body.targets[1]).toMatchObject({ name: 'copy', failed: 3, abandoned: 1, deadLetters: 1 });
    expect(body.targets[0]).toMatchObject({ name: 'main', abandoned: 0, deadLetters: 0 });
    expect(body.lastRetry).toEqual({
      batchUid: newest.uid,
      status: 'running',
      dryRun: false,
      startedAt: at(60).toISOString(),
      completedAt: null,
      inserted: 0,
      updated: 0,
      skipped: 0,
      failed: 0,
      replay: { trigger: null, selected: 2, resolved: null, failedAgain: null, abandoned: null, preview: null },
    });

    await h.prisma.syncBatch.update({ where: { uid: newest.uid }, data: { metrics: { replay: 'not an object' } } });
    body = await targetsOf();
    expect(body.lastRetry).toMatchObject({ batchUid: newest.uid, replay: null });
    await h.prisma.syncBatch.update({
      where: { uid: newest.uid },
      data: {
        status: 'completed',
        completedAt: at(63),
        updated: 1n,
        metrics: { replay: { trigger: 'retry', selected: 2, resolved: 1, failedAgain: 1, abandoned: 1 } },
      },
    });
    body = await targetsOf();
    expect(body.lastRetry).toMatchObject({
      status: 'completed',
      completedAt: at(63).toISOString(),
      updated: 1,
      replay: { trigger: 'retry', selected: 2, resolved: 1, failedAgain: 1, abandoned: 1 },
    });
  });

  it('syncflow entities show prints the per-target table and the last retry pass', async () => {
    const env = { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: viewer };
    const shown = await runCli(['entities', 'show', name], env);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('TARGET'));
    expect(lines[header]).toMatch(/^TARGET\s+ROLE\s+SYNCED\s+PENDING\s+FAILED\s+ABANDONED\s+DLQ\s+LAST-RETRY$/);
    expect(lines[header + 1]).toMatch(/^main\s+primary\s+119\s+0\s+0\s+0\s+0\s+completed 2026-12-01T23:01:03Z$/);
    expect(lines[header + 2]).toMatch(/^copy\s+secondary\s+116\s+0\s+3\s+1\s+1\s+completed 2026-12-01T23:01:03Z$/);
    expect(shown.stdout).toContain('Deleted (not counted above): main 1, copy 1');
    expect(shown.stdout).toMatch(
      /Last retry pass: batch [0-9a-f-]{36} \(retry\) completed 2026-12-01T23:01:03Z: selected 2, resolved 1, failed again 1, abandoned 1/,
    );
    // The configuration comes first, as before.
    expect(JSON.parse(lines.slice(0, header - 1).join('\n'))).toMatchObject({ name });

    const json = await runCli(['entities', 'show', name, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      name,
      targetState: {
        targets: [
          { name: 'main', synced: 119 },
          { name: 'copy', failed: 3 },
        ],
      },
    });
    // A dry-run replay resolves nothing: the line gives its prediction (it printed "resolved ?" before).
    const newest = await h.prisma.syncBatch.findFirstOrThrow({
      where: { entityName: name, syncType: 'replay' },
      orderBy: [{ createdAt: 'desc' }, { uid: 'desc' }],
    });
    await h.prisma.syncBatch.update({
      where: { uid: newest.uid },
      data: {
        dryRun: true,
        metrics: {
          replay: { trigger: 'operator', selected: 2, preview: { wouldResolve: 1, wouldWait: 0, wouldFail: 1 } },
        },
      },
    });
    const dry = await runCli(['entities', 'show', name], env);
    expect(dry.stdout).toMatch(
      /Last retry pass: batch [0-9a-f-]{36} \(operator\) completed 2026-12-01T23:01:03Z: dry run, selected 2, would resolve 1, would wait 0, would fail 1/,
    );
    const missing = await runCli(['entities', 'show', 'no_such_entity'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 entity_not_found');
  });

  it('the Prometheus scrape has syncflow_target_records per entity, target and status', async () => {
    const response = await get('/monitoring/metrics/prometheus');
    expect(response.status).toBe(200);
    const samples = checkExposition(response.text).filter(
      (s) => s.name === 'syncflow_target_records' && s.labels.entity === name,
    );
    const value = (target: string, status: string) =>
      samples.find((s) => s.labels.target === target && s.labels.status === status)?.value;
    expect(samples).toHaveLength(10);
    expect(
      ['synced', 'pending', 'failed', 'deleted', 'abandoned'].map((status) => [
        value('main', status),
        value('copy', status),
      ]),
    ).toEqual([
      [119, 116],
      [0, 0],
      [0, 3],
      [1, 1],
      [0, 1],
    ]);
  });
});
