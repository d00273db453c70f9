import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/** Worker processes (`npm run start:worker`'s entry point) on this file's task queue, killed and restarted for real. */
describe('worker processes: crash recovery and sharing a batch', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `wrk_${randomUUID().slice(0, 8)}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  const pagesDone = async (batchUid: string) =>
    (await h.prisma.syncBatch.findUnique({ where: { uid: batchUid } }))?.pagesCompleted ?? 0;

  beforeAll(async () => {
    h = await createHarness('workers');
    pool = createPool(h.databaseUrl);
  });
  afterAll(async () => {
    await pool.end();
    await h.close();
  });

  it('a worker killed with SIGKILL mid-sync: a new worker finishes it, and the target matches the source exactly', async () => {
    const source = `${schema}a`;
    const entity = `items_${source.slice(4)}`;
    await createItemSource(pool, source, itemRows(6000));
    await registerEntity(h, itemEntity(entity, source));
    const first = await h.startWorkerProcess();
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    for (let i = 0; i < 600 && (await pagesDone(started!.batchUid)) < 5; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await pagesDone(started!.batchUid)).toBeLessThan(60);
    first.kill('SIGKILL');
    await h.startWorkerProcess();
    const done = await waitForBatch(h, started!.batchUid, 180_000);
    expect(done).toMatchObject({ status: 'completed', fetched: 6000, inserted: 6000, failed: 0 });
    expect(balanced(done)).toBe(true);
    const target = await pool.query(
      `SELECT count(*) AS n, count(DISTINCT erp_key_hash) AS keys FROM ${source}.${entity}_target`,
    );
    expect(Number(target.rows[0].n)).toBe(6000);
    expect(Number(target.rows[0].keys)).toBe(6000);
    const missing = await pool.query(
      `SELECT count(*) AS n FROM ${source}.items s
        WHERE NOT EXISTS (SELECT 1 FROM ${source}.${entity}_target t WHERE t.part_no = upper(s.part_no) AND t.plant = s.plant)`,
    );
    expect(Number(missing.rows[0].n)).toBe(0);
  }, 240_000);

  it('two worker processes on the task queue finish one sync together', async () => {
    const source = `${schema}b`;
    const entity = `items_${source.slice(4)}`;
    await createItemSource(pool, source, itemRows(4000));
    await registerEntity(h, itemEntity(entity, source));
    await h.startWorkerProcess(); // a second one (the restarted worker of the first test is still running)
    const [started] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
    const done = await waitForBatch(h, started!.batchUid, 180_000);
    expect(done).toMatchObject({ status: 'completed', fetched: 4000, inserted: 4000 });
    const events = await h.prisma.syncEvent.findMany({
      where: { batchUid: started!.batchUid, type: 'sync.page_completed' },
    });
    const workers = new Set(events.map((e) => (e.payload as { worker?: string }).worker).filter(Boolean));
    expect(workers.size).toBe(2);
  }, 240_000);
});
