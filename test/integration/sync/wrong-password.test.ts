import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { waitForSync } from '../../../control/wait.ts';
import { type ApismithSandbox, startApismithSandbox } from '../../../sandbox/index.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { itemEntity, registerEntity } from '../../support/sync-fixtures.ts';

/**
 * Issue 11, item 2: a wrong password is not retried like a 503. The connector's 401 leaves the activity
 * as a non-retryable ConnectorAuth failure (worker/failure-interceptor.ts), so the batch fails in
 * seconds, and its error names the cause, the connector and the operation in one line.
 */
describe('a sync whose source refuses its credentials', () => {
  let h: Harness;
  let pool: pg.Pool;
  let sandbox: ApismithSandbox;
  const schema = `wpw_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(4)}`;
  const wrongPassword = 'not-the-password-4711';

  beforeAll(async () => {
    h = await createHarness('wrong-password');
    pool = createPool(h.databaseUrl);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    sandbox = await startApismithSandbox({
      databaseUrl: h.databaseUrl,
      erpSchema: `${schema}_erp`,
      catalogSchema: `${schema}_catalog`,
      log: () => {},
    });
    await sandbox.erp.createTable({
      name: 'items',
      columns: [
        { name: 'part_no', type: 'VARCHAR2(20)', nullable: false },
        { name: 'plant', type: 'VARCHAR2(20)', nullable: false },
      ],
      primaryKey: ['part_no', 'plant'],
    });
    await sandbox.erp.registerApi({ slug: 'erp-items', table: 'items', name: 'Items', description: 'Items' });
    await h.saveConnection('erp-wrong', {
      type: 'apismith',
      baseUrl: sandbox.url,
      auth: { username: { value: sandbox.credentials.username }, password: { value: wrongPassword } },
    });
    await registerEntity(
      h,
      itemEntity(entity, schema, {
        source: {
          type: 'apismith',
          connection: 'erp-wrong',
          apiSlug: 'erp-items',
          params: {},
          unknownTypes: 'as_string',
        },
      }),
    );
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema}_erp CASCADE`);
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema}_catalog CASCADE`);
    await pool?.end();
  });

  it('ends failed within seconds, naming the auth failure and the connector', async () => {
    const deps = { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue };
    const started = Date.now();
    const [run] = await startSync(deps, { entities: [entity], syncType: 'full', execute: true });
    const status = await waitForSync(deps, run!.batchUid, { timeoutMs: 60_000, intervalMs: 100 });
    expect(status.status).toBe('failed');
    expect(status.error).toMatch(/^apismith \S+.*: not authorised \(401\)/);
    expect(status.error).not.toMatch(/Activity task failed/);
    expect(status.error).not.toContain(wrongPassword);
    expect(status.error).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
