import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startReplay } from '../../../control/replays.ts';
import { listDryRunCandidates } from '../../../db/dry-run-candidates.ts';
import type { EntityConfigInput } from '../../../pipeline/entity-config.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  insertItems,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 13: nothing stays broken. Dead letters replayed through the entity's current configuration, two
 * targets converging on their own (DELTA per target), the background retry of transient failures, a target
 * added later filled by the next full sync. Real PostgreSQL source and targets, real Temporal, real workers.
 */
describe('dead-letter replay and per-target convergence', () => {
  let h: Harness;
  let pool: pg.Pool;
  const schema = `rpl_${randomUUID().slice(0, 8)}`;
  const items = `items_${schema.slice(4)}`;
  const main = `${schema}.${items}_main`;
  const copy = `${schema}.${items}_copy`;
  const third = `${schema}.${items}_third`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const count = async (sql: string, args: unknown[] = []) => Number((await pool.query(sql, args)).rows[0].n);
  const rows = (table: string) => count(`SELECT count(*) AS n FROM ${table}`);
  const distinctKeys = (table: string) => count(`SELECT count(DISTINCT erp_key_hash) AS n FROM ${table}`);
  const target = (name: string, role?: 'secondary') => ({
    type: 'postgres' as const,
    name,
    ...(role ? { role } : {}),
    connection: LOCAL_CONNECTION,
    schema,
    table: `${items}_${name}`,
  });
  /** Items with a value map on plant: only DE01 is known at first, so every US02 row fails MAP. */
  const entity = (plants: Record<string, string>, targets = [target('main'), target('copy', 'secondary')]) => {
    const base = itemEntity(items, schema);
    return {
      ...base,
      targets,
      // Transient failures are due again after 1 s (then 2, 4, …): the test's retry passes find them due.
      childRetryBaseSeconds: 1,
      fields: base.fields!.map((f) =>
        f.source === 'plant' ? { ...f, valueMap: { values: plants, unmapped: 'reject' as const } } : f,
      ),
    } as EntityConfigInput;
  };
  const unresolved = (extra = '') =>
    count(`SELECT count(*) AS n FROM failed_records WHERE entity_name = $1 AND resolved_at IS NULL ${extra}`, [items]);
  const replay = async (request: Omit<Parameters<typeof startReplay>[1], 'entity'>) => {
    const started = await startReplay(deps(), { entity: items, ...request });
    // The workflow ends after its batch (it reports what became of the dead letters).
    await h.client.workflow.getHandle(started.workflowId).result();
    const summary = await waitForBatch(h, started.batchUid);
    const batch = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: started.batchUid } });
    return { started, summary, replay: (batch.metrics as { replay: Record<string, unknown> }).replay };
  };
  const retryPass = () =>
    h.client.workflow.execute('retryWaitingChildren', { taskQueue: h.taskQueue, workflowId: `retry-${randomUUID()}` });
  const copyDown = async (down: boolean) => {
    if (down) {
      await pool.query(`CREATE OR REPLACE FUNCTION ${schema}.copy_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the copy is down'; END $$`);
      await pool.query(`DROP TRIGGER IF EXISTS copy_down ON ${copy}`);
      await pool.query(
        `CREATE TRIGGER copy_down BEFORE INSERT OR UPDATE OR DELETE ON ${copy} FOR EACH ROW EXECUTE FUNCTION ${schema}.copy_down()`,
      );
    } else {
      await pool.query(`DROP TRIGGER IF EXISTS copy_down ON ${copy}`);
    }
  };

  beforeAll(async () => {
    h = await createHarness('replay');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(20));
    await registerEntity(h, entity({ DE01: 'DE01' }));
    await h.prisma.entity.update({ where: { name: items }, data: { mode: 'live' } });
    await h.startWorker();
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });

  it('a replay dry run predicts, writes nothing; after the mapping is fixed the replay lands each record once', async () => {
    // A sync's dry run writes nothing but its plan: the ten records it would dead-letter, with their reasons.
    const [dry] = await runSync(h, [items], 'full', false);
    expect(dry!.summary).toMatchObject({ status: 'completed', dryRun: true, inserted: 10, failed: 10 });
    const firstPage = await listDryRunCandidates(h.prisma, dry!.batchUid, { page: 1, pageSize: 4 });
    expect(firstPage).toMatchObject({ total: 10, nextCursor: expect.any(String) });
    expect(firstPage.rows[0]).toMatchObject({ stage: 'map', errorType: expect.any(String), deadLetterUid: null });
    expect(firstPage.rows.map((c) => c.sourceKey)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^part_no=p-\d+\|plant=US02$/)]),
    );
    expect(await unresolved()).toBe(0);

    const [first] = await runSync(h, [items], 'full', true);
    expect(first!.summary).toMatchObject({ status: 'completed', inserted: 10, failed: 10 });
    expect(await unresolved("AND stage = 'map'")).toBe(10);
    expect(await rows(main)).toBe(10);

    // A filter is required: an unfiltered replay must say all.
    await expect(startReplay(deps(), { entity: items })).rejects.toThrow(/all: true/);

    // Dry run before the fix: all ten would still fail, with their reason; nothing changes.
    const before = await replay({ stage: 'map', dryRun: true });
    expect(before.summary).toMatchObject({ status: 'completed', dryRun: true, fetched: 10, failed: 10 });
    expect(before.replay.preview).toMatchObject({ wouldResolve: 0, wouldFail: 10 });
    // Its plan lists each failure with its reason and the dead letter it re-ran, page by page.
    const plan = await listDryRunCandidates(h.prisma, before.started.batchUid, { page: 1, pageSize: 100 });
    expect(plan.total).toBe(10);
    expect(plan.rows.every((c) => c.stage === 'map' && /plant/.test(c.errorMessage) && c.deadLetterUid)).toBe(true);
    expect(await unresolved()).toBe(10);
    expect(
      await count('SELECT count(*) AS n FROM failed_records WHERE entity_name = $1 AND retry_count > 0', [items]),
    ).toBe(0);

    // The operator adds US02 to the value map; a dry run now predicts all ten land.
    await registerEntity(h, entity({ DE01: 'DE01', US02: 'US02' }));
    const predicted = await replay({ stage: 'map', dryRun: true });
    expect(predicted.replay.preview).toMatchObject({ wouldResolve: 10, wouldFail: 0 });
    expect(await rows(main)).toBe(10);

    // The replay: the ten land on both targets, once; their dead letters are resolved by this batch.
    const done = await replay({ stage: 'map' });
    expect(done.summary).toMatchObject({ status: 'completed', dryRun: false, fetched: 10, inserted: 10, failed: 0 });
    expect(balanced(done.summary)).toBe(true);
    expect(done.replay).toMatchObject({ trigger: 'operator', selected: 10, resolved: 10, failedAgain: 0 });
    expect(await rows(main)).toBe(20);
    expect(await distinctKeys(main)).toBe(20);
    expect(await rows(copy)).toBe(20);
    const resolved = await pool.query(
      `SELECT resolution, resolved_batch_uid, retry_count, jsonb_array_length(attempts) AS attempts
         FROM failed_records WHERE entity_name = $1`,
      [items],
    );
    expect(resolved.rows).toEqual(
      Array(10).fill({ resolution: 'landed', resolved_batch_uid: done.started.batchUid, retry_count: 1, attempts: 1 }),
    );

    // Replaying again changes nothing: no record is selected.
    const again = await replay({ all: true });
    expect(again.summary).toMatchObject({ status: 'completed', fetched: 0, inserted: 0 });
    expect(await rows(main)).toBe(20);
  });

  it('a secondary that refused records converges through the background retry, with no source change', async () => {
    await copyDown(true);
    await insertItems(pool, schema, itemRows(5, 20));
    const [run] = await runSync(h, [items], 'incremental', true);
    // The primary took the five; the secondary's failures are counted apart, each with a dead letter.
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 5, failed: 0 });
    expect(await rows(main)).toBe(25);
    expect(await rows(copy)).toBe(20);
    expect(await unresolved("AND target_name = 'copy' AND next_retry_at IS NOT NULL")).toBe(5);

    // A pass while the copy is still down: one more attempt each, backed off, still unresolved.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await retryPass();
    expect(await unresolved("AND target_name = 'copy' AND retry_count = 1")).toBe(5);

    await copyDown(false);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const pass = (await retryPass()) as { deadLetters: Record<string, { resolved: number; trigger: string }> };
    expect(pass.deadLetters[items]).toMatchObject({ trigger: 'retry', resolved: 5 });
    expect(await rows(copy)).toBe(25);
    expect(await distinctKeys(copy)).toBe(25);
    expect(await unresolved()).toBe(0);
    expect(
      await count(
        `SELECT count(*) AS n FROM identity_status WHERE entity_name = $1 AND target_name = 'copy' AND sync_status <> 'synced'`,
        [items],
      ),
    ).toBe(0);
  });

  it('a full sync re-sends to a secondary what it lacks, and fills a target added later; the primary is untouched', async () => {
    // The copy loses three records behind SyncFlow's back and its identity rows say failed (as after an outage).
    await pool.query(`DELETE FROM ${copy} WHERE erp_key_hash IN (SELECT erp_key_hash FROM ${copy} LIMIT 3)`);
    await pool.query(
      `UPDATE identity_records SET sync_status = 'failed'
        WHERE stream_id = (SELECT id FROM identity_streams WHERE entity_name = $1 AND target_name = 'copy')
          AND bk_hash IN (SELECT decode(erp_key_hash, 'hex') FROM ${main} EXCEPT SELECT decode(erp_key_hash, 'hex') FROM ${copy})`,
      [items],
    );
    await registerEntity(
      h,
      entity({ DE01: 'DE01', US02: 'US02' }, [
        target('main'),
        target('copy', 'secondary'),
        target('third', 'secondary'),
      ]),
    );
    const [full] = await runSync(h, [items], 'full', true);
    // Counted on the primary: nothing to do there.
    expect(full!.summary).toMatchObject({ status: 'completed', fetched: 25, inserted: 0, updated: 0, skipped: 25 });
    expect(await rows(main)).toBe(25);
    expect(await rows(copy)).toBe(25);
    expect(await rows(third)).toBe(25);
    expect(await distinctKeys(third)).toBe(25);
    // The next full sync finds every target complete: each row set aside before NORMALIZE, nothing sent.
    const lastWrite = (table: string) =>
      pool.query(`SELECT max(synced_at) AS at FROM ${table}`).then((r) => r.rows[0].at);
    const before = await Promise.all([lastWrite(main), lastWrite(copy), lastWrite(third)]);
    const [next] = await runSync(h, [items], 'full', true);
    expect(next!.summary).toMatchObject({ status: 'completed', fetched: 25, skipped: 25 });
    expect(await Promise.all([lastWrite(main), lastWrite(copy), lastWrite(third)])).toEqual(before);
  });

  it('a record that keeps failing past maxRetries is abandoned and no longer retried automatically', async () => {
    await copyDown(true);
    await insertItems(pool, schema, itemRows(2, 25));
    await runSync(h, [items], 'incremental', true);
    await pool.query(`UPDATE failed_records SET max_retries = 1 WHERE entity_name = $1 AND resolved_at IS NULL`, [
      items,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await retryPass();
    expect(await unresolved('AND abandoned_at IS NOT NULL AND next_retry_at IS NULL')).toBe(2);
    const pass = (await retryPass()) as { deadLetters: Record<string, unknown> };
    expect(pass.deadLetters).not.toHaveProperty(items);

    // A disabled entity's due dead letters are left alone, and the pass still completes (it used to fail on it).
    await insertItems(pool, schema, itemRows(1, 27));
    await runSync(h, [items], 'incremental', true);
    await h.prisma.entity.update({ where: { name: items }, data: { enabled: false } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const disabled = (await retryPass()) as { deadLetters: Record<string, unknown> };
    expect(disabled.deadLetters).not.toHaveProperty(items);
    expect(await unresolved('AND abandoned_at IS NULL AND next_retry_at IS NOT NULL')).toBe(1);
    await h.prisma.entity.update({ where: { name: items }, data: { enabled: true } });
    await copyDown(false);
  });

  it('a later sync that lands a record resolves its dead letters (resolution synced), by key even without identity', async () => {
    const fr = { part_no: 'p-fr-1', plant: 'FR03', descr: null, price: null, due: '2025-12-08' };
    await insertItems(pool, schema, [fr]);
    await runSync(h, [items], 'incremental', true);
    const open = () => unresolved("AND stage = 'map' AND source_key = 'part_no=p-fr-1|plant=FR03'");
    expect(await open()).toBe(1);
    // The map is fixed and the next full sync reads the row again: it lands, its dead letter is resolved.
    await registerEntity(
      h,
      entity({ DE01: 'DE01', US02: 'US02', FR03: 'FR03' }, [
        target('main'),
        target('copy', 'secondary'),
        target('third', 'secondary'),
      ]),
    );
    const [full] = await runSync(h, [items], 'full', true);
    expect(full!.summary).toMatchObject({ status: 'completed', inserted: 1 });
    expect(await open()).toBe(0);
    const row = await pool.query(
      `SELECT resolution, resolved_batch_uid FROM failed_records WHERE entity_name = $1 AND source_key = 'part_no=p-fr-1|plant=FR03'`,
      [items],
    );
    expect(row.rows).toEqual([{ resolution: 'synced', resolved_batch_uid: full!.batchUid }]);
  });
});
