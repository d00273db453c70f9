import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';
import { runCli } from '../cli/cli-run.ts';

/**
 * Issue 11, fault cases: a schema mismatch on a PostgreSQL target. The target's ensure (in beginBatch, before
 * any page) finds it; the failure is permanent (activities/failures.ts: no retry can cure it), so the batch
 * fails within seconds, after one attempt rather than the shared activities' 12, and its error is one line
 * naming the cause, the connector and the operation, the same in GET /sync/status, the CLI and the workflow's
 * failure (the Web UI). Nothing is written for the batch: no target row, no identity, no DLQ row, no counts,
 * no watermark.
 */
describe('a PostgreSQL target whose table does not match the entity', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let app: ReturnType<typeof createApp>;
  let key: string;
  const id = randomUUID().slice(0, 8);
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const schemas: string[] = [];

  beforeAll(async () => {
    h = await createHarness('schema-mismatch');
    pool = createPool(h.databaseUrl);
    app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    ({ key } = await createApiKey(h.prisma, `schema-mismatch-${id}`, 'viewer'));
    await h.startWorker();
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
    for (const schema of schemas) await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await pool.query(sql, params)).rows[0].n);

  /** Starts a sync, waits for its end, and checks the failure everywhere it is shown; answers the error line. */
  async function failsFast(entity: string, syncType: 'full' | 'incremental') {
    const started = Date.now();
    const [run] = await startSync(deps(), { entities: [entity], syncType, execute: true });
    const batchUid = run!.batchUid;
    const done = await waitForBatch(h, batchUid, 60_000);
    const elapsed = Date.now() - started;
    expect(done.status).toBe('failed');
    expect(elapsed).toBeLessThan(10_000); // not 12 attempts with backoff (minutes)
    expect(done).toMatchObject({ fetched: 0, inserted: 0, updated: 0, skipped: 0, failed: 0, pending: 0, deleted: 0 });

    // GET /api/v1/sync/status/:batchUid
    const answer = await app.request(`/api/v1/sync/status/${batchUid}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answer.status).toBe(200);
    const status = (await answer.json()) as { status: string; error: string; pagesCompleted: number };
    expect(status.status).toBe('failed');
    const error = status.error;
    expect(error).not.toContain('\n');
    expect(error).not.toMatch(/Activity task failed/);
    expect(error).toMatch(/^postgres ensure: /); // the connector and the operation…
    expect(error).toMatch(/ \(in beginBatch\)$/); // …and the activity
    expect(status.pagesCompleted).toBe(0);

    // The CLI prints the same line.
    const cli = await runCli(['sync', 'status', batchUid], { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: key });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`${entity}: batch ${batchUid} failed`);
    expect(cli.stdout).toContain(`  error: ${error}`);

    // The Web UI: the workflow failed with the connector's failure, non-retryable, after a single attempt.
    const handle = h.client.workflow.getHandle(`sync-${entity}`, undefined, { followRuns: false });
    expect((await handle.describe()).status.name).toBe('FAILED');
    const events = (await handle.fetchHistory()).events ?? [];
    const failure = events.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes
      ?.failure;
    expect(failure?.cause?.message).toBe(error.replace(/ \(in beginBatch\)$/, ''));
    expect(failure?.cause?.applicationFailureInfo).toMatchObject({ nonRetryable: true });
    const begin = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'beginBatch');
    const beginStarted = events.find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === begin?.eventId?.toString(),
    );
    expect(beginStarted?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    expect(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchPage'),
    ).toHaveLength(0);

    // Nothing accounted to the batch, because nothing was done for it.
    expect(await count('SELECT count(*) AS n FROM sync_batch_pages WHERE batch_uid = $1', [batchUid])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM failed_records WHERE batch_uid = $1', [batchUid])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM identity_records WHERE last_batch_uid = $1', [batchUid])).toBe(0);
    return { batchUid, error, elapsed, failure };
  }

  it('a column of another type: fails in seconds, naming the column, the connector and the operation', async () => {
    const schema = `smty_${id}`;
    schemas.push(schema);
    const entity = `items_smty_${id}`;
    const target = `${schema}.${entity}_target`;
    await createItemSource(pool, schema, itemRows(300));
    await registerEntity(h, itemEntity(entity, schema));
    const [first] = await runSync(h, [entity], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 300 });
    const watermark = await pool.query(
      'SELECT last_sync_rowversion, last_batch_uid FROM erp_sync_state WHERE entity_name = $1',
      [entity],
    );

    // Someone changes the target's price column (numeric, the entity says NUMBER) to text; then the source changes.
    await pool.query(`ALTER TABLE ${target} ALTER COLUMN price TYPE text USING price::text`);
    await pool.query(`UPDATE ${schema}.items SET descr = 'v2', row_version = nextval('${schema}.rv')`);

    const { error, elapsed, failure } = await failsFast(entity, 'incremental');
    expect(error).toBe(
      `postgres ensure: ${target} does not match the entity: price is text, the entity says number (in beginBatch)`,
    );
    expect(failure?.cause?.applicationFailureInfo?.type).toBe('ConnectorSchemaConflict');
    console.log(`type mismatch: failed after ${elapsed} ms: ${error}`);

    // The target still holds the first batch's data, untouched; the watermark did not move.
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(300);
    expect(await count(`SELECT count(*) AS n FROM ${target} WHERE description = 'v2'`)).toBe(0);
    const after = await pool.query(
      'SELECT last_sync_rowversion, last_batch_uid FROM erp_sync_state WHERE entity_name = $1',
      [entity],
    );
    expect(after.rows).toEqual(watermark.rows);
  }, 60_000);

  it('a mapped column missing from a table the connection may not alter: fails in seconds, naming the column', async () => {
    // A table set up by its owner (SyncFlow's role here) for the warehouse role, which may write it but not
    // alter it: ensure cannot add the `description` column the entity maps.
    const schema = `smmc_${id}`;
    schemas.push(schema);
    const entity = `items_smmc_${id}`;
    const target = `${schema}.${entity}_target`;
    await createItemSource(pool, schema, itemRows(300));
    await pool.query(`CREATE TABLE ${target} (
        erp_key_hash text NOT NULL PRIMARY KEY, part_no text, plant text, price numeric, due_date date, rv bigint,
        erp_data_hash text, erp_rowversion text, erp_ref_str text, synced_at timestamptz NOT NULL DEFAULT now(),
        erp_deleted_at timestamptz)`);
    const warehouseUrl = inject('warehouseUrl');
    const warehouseRole = new URL(warehouseUrl).username; // syncflow_warehouse (infra/postgres.ts)
    await pool.query(`GRANT USAGE ON SCHEMA ${schema} TO ${warehouseRole}`);
    await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${target} TO ${warehouseRole}`);
    const connection = `warehouse-${id}`;
    await h.saveConnection(connection, { type: 'postgres', url: { value: warehouseUrl }, maxConnections: 4 });
    await registerEntity(
      h,
      itemEntity(entity, schema, {
        targets: [{ type: 'postgres', name: 'main', connection, schema, table: `${entity}_target` }],
      }),
    );

    const { error, elapsed } = await failsFast(entity, 'full');
    console.log(`missing column: failed after ${elapsed} ms: ${error}`);
    expect(error).toContain(`${entity}_target`); // the table…
    // …and the column it lacks, the cause an operator can act on (soft: the checks below still run).
    expect.soft(error).toMatch(/\bdescription\b/);
    expect(await count(`SELECT count(*) AS n FROM ${target}`)).toBe(0);

    // The missing column was the only problem: once its owner adds it, the same entity syncs completely.
    await pool.query(`ALTER TABLE ${target} ADD COLUMN description text`);
    const [fixed] = await runSync(h, [entity], 'full', true);
    expect(fixed!.summary).toMatchObject({ status: 'completed', fetched: 300, inserted: 300, failed: 0 });
    const differing = await count(
      `SELECT count(*) AS n FROM ${schema}.items s FULL JOIN ${target} t ON t.part_no = upper(s.part_no) AND t.plant = s.plant
        WHERE s.part_no IS NULL OR t.part_no IS NULL OR t.rv IS DISTINCT FROM s.row_version`,
    );
    expect(differing).toBe(0);
  }, 60_000);
});
