import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { waitForSync } from '../../../control/wait.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { itemEntity, registerEntity } from '../../support/sync-fixtures.ts';

/**
 * Issue 10, finding 14: a sync whose source cannot be reached kept its batch
 * `running` for 814 s of activity retries. A refused connection is now a
 * non-retryable failure after two quick in-process tries (activities/failures.ts).
 */
describe('a sync whose source is unreachable', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `unr_${randomUUID().slice(0, 8)}`;
  const entity = `items_${schema.slice(4)}`;

  beforeAll(async () => {
    h = await createHarness('unreachable');
    pool = createPool(h.databaseUrl);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await h.saveConnection('nowhere', {
      type: 'postgres',
      url: { value: 'postgresql://nobody:secret@127.0.0.1:1/none' },
    });
    await registerEntity(
      h,
      itemEntity(entity, schema, { source: { type: 'postgres', connection: 'nowhere', schema, table: 'items' } }),
    );
    await h.startWorker();
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await h.close();
  });

  it('ends failed within seconds, naming the cause', async () => {
    const deps = { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue };
    const started = Date.now();
    const [run] = await startSync(deps, { entities: [entity], syncType: 'full', execute: true });
    const status = await waitForSync(deps, run!.batchUid, { timeoutMs: 60_000, intervalMs: 100 });
    expect(status.status).toBe('failed');
    expect(status.error).toMatch(/cannot reach the database \(ECONNREFUSED\)/);
    expect(status.error).not.toMatch(/secret/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
