import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { type ApiKeyRole, createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { runCli } from '../cli/cli-run.ts';

/**
 * Issue 13, part 5: DLQ records an operator can read. A real sync quarantines rows that fail NORMALIZE (a bad
 * required date): each DLQ row names its source record by the key as read (sourceKey), though it has no
 * identity (refStr null); GET /monitoring/failed-records/:uid and `syncflow dlq show` give its errors and forms;
 * `syncflow dlq list` shows the key and pages past the API's 100.
 */
describe('DLQ records an operator can read', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  const keys = {} as Record<ApiKeyRole, string>;
  const schema = `dlqr_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(5)}`;
  const BAD = 130;

  beforeAll(async () => {
    h = await createHarness('dlq-record');
    pool = createPool(h.databaseUrl);
    // 130 rows whose required due date is no date (NORMALIZE fails; the key is fine), and 5 good ones.
    const bad = itemRows(BAD).map((r) => ({ ...r, due: 'not a date' }));
    await createItemSource(pool, schema, [...bad, ...itemRows(5, BAD)]);
    await registerEntity(h, itemEntity(name, schema, { pageSize: 500 }));
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    for (const role of ['viewer', 'operator'] as const) {
      keys[role] = (await createApiKey(h.prisma, `dlq-record-${role}`, role)).key;
    }
    const [run] = await runSync(h, [name], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 5, failed: BAD });
  });
  afterAll(async () => {
    await server?.close();
    await h.prisma.syncBatch.deleteMany({ where: { entityName: name } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  const get = async (role: ApiKeyRole, path: string) => {
    const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${keys[role]}` } });
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
    return { status: response.status, body: (await response.json()) as any };
  };
  const env = (role: ApiKeyRole) => ({ SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: keys[role] });
  const firstBad = 'part_no=p-000000|plant=DE01';

  it('names a record that failed before identity by its key as read from the source', async () => {
    const rows = await h.prisma.failedRecord.findMany({ where: { entityName: name } });
    expect(rows).toHaveLength(BAD);
    const row = rows.find((r) => r.sourceKey === firstBad)!;
    // The raw key (p-000000, not the normalized P-000000), and no identity.
    expect(row).toMatchObject({ stage: 'normalize', refStr: null, bkHash: null, sourceKey: firstBad });
    expect(new Set(rows.map((r) => r.sourceKey)).size).toBe(BAD);

    const list = await get('viewer', `/monitoring/failed-records?entity=${name}&key=${encodeURIComponent(firstBad)}`);
    expect(list.status).toBe(200);
    expect(list.body.records).toHaveLength(1);
    expect(list.body.records[0]).toMatchObject({ sourceKey: firstBad, refStr: null, rawData: null });
  });

  it('GET /monitoring/failed-records/:uid: errors with field and layer, attempts, forms for operators only', async () => {
    const row = await h.prisma.failedRecord.findFirstOrThrow({ where: { entityName: name, sourceKey: firstBad } });
    const operator = await get('operator', `/monitoring/failed-records/${row.uid}`);
    expect(operator.status).toBe(200);
    expect(operator.body).toMatchObject({
      uid: row.uid,
      entityName: name,
      sourceKey: firstBad,
      refStr: null,
      bkHash: null,
      stage: 'normalize',
      retryCount: 0,
      maxRetries: expect.any(Number),
      resolvedAt: null,
      batch: { batchUid: row.batchUid, status: 'completed', syncType: 'full', dryRun: false },
      rawData: { part_no: 'p-000000', plant: 'DE01', due: 'not a date' },
    });
    expect(operator.body.errors).toEqual([
      expect.objectContaining({ field: 'due_date', layer: expect.any(String), value: 'not a date' }),
    ]);
    expect(operator.body.normalizedData).not.toBeNull();

    const viewer = await get('viewer', `/monitoring/failed-records/${row.uid}`);
    expect(viewer.status).toBe(200);
    expect(viewer.body).toMatchObject({ sourceKey: firstBad, rawData: null, normalizedData: null, mappedData: null });
    expect(viewer.body.errors[0]).toMatchObject({ field: 'due_date', layer: operator.body.errors[0].layer });
    expect(viewer.body.errors[0].value).toBe('***');

    expect((await get('viewer', '/monitoring/failed-records/not-a-uuid')).status).toBe(400);
    const unknown = await get('viewer', `/monitoring/failed-records/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('syncflow dlq list shows the key of a record without identity, and pages past 100 with --all', async () => {
    const first = await runCli(['dlq', 'list', '--entity', name], env('viewer'));
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/part_no=p-\d{6}\|plant=(DE01|US02)/);
    expect(first.stdout).toContain(`20 of ${BAD} unresolved`);
    expect(first.stdout).toMatch(/More: --all, or --cursor \S+/);

    const all = await runCli(['dlq', 'list', '--entity', name, '--all'], env('viewer'));
    expect(all.stderr).toBe('');
    expect(all.stdout).toContain(`${BAD} of ${BAD} unresolved`);
    expect(all.stdout).not.toContain('More:');
    const shown = new Set(all.stdout.match(/part_no=p-\d{6}\|plant=\w+/g));
    expect(shown.size).toBe(BAD);

    const limited = await runCli(['dlq', 'list', '--entity', name, '--limit', '120'], env('viewer'));
    expect(limited.stdout).toContain(`120 of ${BAD} unresolved`);
    const cursor = limited.stdout.match(/More: --all, or --cursor (\S+)/)![1]!;
    const rest = await runCli(['dlq', 'list', '--entity', name, '--cursor', cursor, '--limit', '50'], env('viewer'));
    expect(rest.stdout).toContain(`10 of ${BAD} unresolved`);
    const restKeys = rest.stdout.match(/part_no=p-\d{6}\|plant=\w+/g)!;
    const limitedKeys = new Set(limited.stdout.match(/part_no=p-\d{6}\|plant=\w+/g));
    expect(restKeys.filter((k) => limitedKeys.has(k))).toEqual([]);
  });

  it('syncflow dlq show prints the key, the errors with field and layer, attempts and the forms', async () => {
    const row = await h.prisma.failedRecord.findFirstOrThrow({ where: { entityName: name, sourceKey: firstBad } });
    const shown = await runCli(['dlq', 'show', row.uid], env('operator'));
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`key:        ${firstBad}`);
    expect(shown.stdout).toContain('reference:  -');
    expect(shown.stdout).toContain('stage:      normalize');
    expect(shown.stdout).toMatch(/- due_date \[\w+\] \w+: /);
    expect(shown.stdout).toContain('attempts:   0 of');
    expect(shown.stdout).toContain('Raw:\n  {\n');
    expect(shown.stdout).toContain('    "part_no": "p-000000",');
    expect(shown.stdout).toContain('    "part_no": "P-000000",');
    expect(shown.stdout).toContain('Normalized:');
    expect(shown.stdout).toContain('Mapped: -');

    const viewer = await runCli(['dlq', 'show', row.uid], env('viewer'));
    expect(viewer.stdout).toContain('Raw: -');
    expect(viewer.stdout).toContain('(record data needs an operator or admin key)');
    const missing = await runCli(['dlq', 'show', randomUUID()], env('viewer'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 not_found');
  });

  it("a dry run's plan: each record it would dead-letter, with its reason, paged through the API and the CLI", async () => {
    const [dry] = await runSync(h, [name], 'full', false);
    expect(dry!.summary).toMatchObject({ status: 'completed', dryRun: true, failed: BAD });
    const first = await get('viewer', `/sync/status/${dry!.batchUid}/candidates?pageSize=100`);
    expect(first.status).toBe(200);
    expect(first.body.pagination).toMatchObject({ total: BAD, nextCursor: expect.any(String) });
    expect(first.body.candidates).toHaveLength(100);
    expect(first.body.candidates[0]).toMatchObject({
      stage: 'normalize',
      sourceKey: expect.stringMatching(/^part_no=p-\d+\|plant=(DE01|US02)$/),
      errorDetails: null, // a viewer sees no values
      deadLetterUid: null,
    });
    const rest = await get(
      'operator',
      `/sync/status/${dry!.batchUid}/candidates?pageSize=100&cursor=${first.body.pagination.nextCursor}`,
    );
    expect(rest.body.candidates).toHaveLength(BAD - 100);
    expect(rest.body.candidates[0].errorDetails).not.toBeNull();
    expect((await get('viewer', `/sync/status/${randomUUID()}/candidates`)).status).toBe(404);

    const cli = await runCli(['dlq', 'candidates', dry!.batchUid, '--all'], env('viewer'));
    expect(cli.stdout).toContain(`${BAD} of ${BAD} candidates`);
    expect(cli.stdout).toMatch(/part_no=p-\d+\|plant=\w+ +normalize/);
  });
});
