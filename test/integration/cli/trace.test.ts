import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { type ApiKeyRole, createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { runCli } from './cli-run.ts';

/** `syncflow trace <entity> <key>` against a live API, after a real sync (issue 13, part 6). */
describe('syncflow trace', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  const keys = {} as Record<ApiKeyRole, string>;
  const schema = `trcli_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(6)}`;

  beforeAll(async () => {
    h = await createHarness('trace-cli');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, [...itemRows(2), { ...itemRows(1, 2)[0]!, due: 'not a date' }]);
    await registerEntity(h, itemEntity(name, schema));
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    for (const role of ['viewer', 'operator'] as const) {
      keys[role] = (await createApiKey(h.prisma, `trace-cli-${role}-${schema}`, role)).key;
    }
    const [run] = await runSync(h, [name], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 2, failed: 1 });
    await pool.query(
      `UPDATE ${schema}.items SET descr = 'changed', row_version = nextval('${schema}.rv') WHERE part_no = 'p-000001'`,
    );
  });
  afterAll(async () => {
    await server?.close();
    await h.prisma.syncBatch.deleteMany({ where: { entityName: name } });
    await h.prisma.entity.deleteMany({ where: { name } });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  const env = (role: ApiKeyRole) => ({ SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: keys[role] });

  it('prints the source row, the layers, the decision and stored state per target', async () => {
    const result = await runCli(['trace', name, 'part_no=p-000001|plant=US02'], env('operator'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Record ${name}[part_no=P-000001|plant=US02]`);
    expect(result.stdout).toContain('key:        part_no=p-000001|plant=US02');
    expect(result.stdout).toContain('Source (postgres): row found');
    expect(result.stdout).toContain('"descr": "changed"');
    expect(result.stdout).toContain('Pipeline: passed');
    expect(result.stdout).toMatch(/FIELD\s+SOURCE\s+TYPES\s+STRINGS\s+NUMBERS\s+DATES\s+MAPPING\s+ERROR/);
    expect(result.stdout).toMatch(/part_no\s+"p-000001"\s+.*"P-000001"/);
    expect(result.stdout).toMatch(/main\s+primary\s+UPDATE \(rowversion_newer\)\s+synced/);
    expect(result.stdout).toContain('Dead letters (0):');
    expect(result.stdout).toContain('Waiting for a parent (0):');
  });

  it('prints where a failed record stopped and its dead letter; viewers get no record data', async () => {
    const result = await runCli(['trace', name, 'part_no=p-000002|plant=DE01'], env('viewer'));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Pipeline: failed at normalize');
    expect(result.stdout).toMatch(/- due_date \[\w+\] \w+: /);
    expect(result.stdout).toContain('(record data needs an operator or admin key)');
    expect(result.stdout).toMatch(/main\s+primary\s+-\s+no record/);
    expect(result.stdout).toContain('Dead letters (1):');
    expect(result.stdout).toMatch(/normalize\s+\w+\s+due_date: /);

    const json = await runCli(['trace', name, 'part_no=p-000002|plant=DE01', '--json'], env('viewer'));
    expect(JSON.parse(json.stdout)).toMatchObject({
      entity: name,
      recordData: false,
      pipeline: { failedAt: 'normalize' },
    });
  });

  it('a bad key fails with the 400 naming the field; an unknown entity with the 404', async () => {
    const bad = await runCli(['trace', name, 'part_no=p-000001|colour=red'], env('viewer'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('400 validation_failed');
    expect(bad.stderr).toContain('- key.colour: "colour" is not a business-key field');
    expect(bad.stderr).toContain('- key.plant: missing');
    const unknown = await runCli(['trace', 'no_such_entity', 'part_no=x|plant=y'], env('viewer'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404 entity_not_found');
  });
});
