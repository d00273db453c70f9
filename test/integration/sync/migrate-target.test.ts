import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import {
  abortMigration,
  approveMigration,
  getMigration,
  type MigrationView,
  rollbackMigration,
  startMigration,
} from '../../../control/migrations.ts';
import { getEntity, setEntityMode } from '../../../db/entities.ts';
import type { SchedulehubSandbox } from '../../../sandbox/index.ts';
import { createHarness, type Harness, startSchedulehubTarget } from '../../support/harness.ts';
import {
  createItemSource,
  insertItems,
  itemEntity,
  itemRows,
  registerEntity,
  runSync,
} from '../../support/sync-fixtures.ts';

/**
 * Issue 14: a store migration as a durable runbook, from the demo's kind of PostgreSQL target to a ScheduleHub
 * target and back. The first run is approved step by step, with source changes synced while both stores are
 * written, and rolled back at cutover: the entity's targets are as before and PostgreSQL holds every row. The
 * second runs on its own (autoApprove) through to retire while its worker process is killed and replaced during
 * the backfill: ScheduleHub ends as the only (primary) target, and both stores hold every source row.
 */
describe('migrateTarget', () => {
  let h: Harness;
  let pool: pg.Pool;
  let sandbox: SchedulehubSandbox;
  const id = randomUUID().slice(0, 8);
  const schema = `mig_${id}`;
  const items = `items_mig_${id}`;
  const connection = `planning-mig-${id}`;
  const hub = { type: 'schedulehub' as const, name: 'hub', connection, resource: items, batchSize: 100 };
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  let inProcess: Awaited<ReturnType<Harness['startWorker']>>;

  const until = async (id: string, check: (v: MigrationView) => boolean, what: string, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await getMigration(deps(), id);
      if (check(view)) return view;
      if (view.status === 'failed') throw new Error(`migration failed: ${view.error}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(view, null, 1)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const waitingFor = (id: string, step: string) => until(id, (v) => v.waitingFor?.step === step, `waiting for ${step}`);
  const sourceCount = async () => Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.items`)).rows[0].n);
  const pgCount = async () =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.${items}_target`)).rows[0].n);
  const hubCount = async () =>
    Number((await pool.query(`SELECT count(*) AS n FROM sh_${id}.records WHERE resource = $1`, [items])).rows[0].n);
  const targetsNow = async () =>
    (await getEntity(h.prisma, items))!.config.targets.map((t) => `${t.name}:${t.role}`).sort();

  beforeAll(async () => {
    h = await createHarness('migrate-target');
    pool = createPool(h.databaseUrl);
    sandbox = await startSchedulehubTarget(h, connection, { schema: `sh_${id}` });
    await createItemSource(pool, schema, itemRows(200));
    await registerEntity(h, itemEntity(items, schema));
    await setEntityMode(h.prisma, items, 'live');
    inProcess = await h.startWorker();
    const [run] = await runSync(h, [items], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 200 });
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.query(`DROP SCHEMA IF EXISTS sh_${id} CASCADE`);
    await pool?.end();
  });

  it('refuses what cannot be migrated, each with the field or reason', async () => {
    await expect(startMigration(deps(), { entity: items, from: 'nope', to: hub })).rejects.toMatchObject({
      status: 400,
      details: [{ field: 'from' }],
    });
    await expect(
      startMigration(deps(), { entity: items, from: 'main', to: { ...hub, name: 'main' } }),
    ).rejects.toMatchObject({
      status: 400,
      details: [{ field: 'to.name' }],
    });
    await expect(
      startMigration(deps(), { entity: items, from: 'main', to: { ...hub, connection: 'no-such-connection' } }),
    ).rejects.toMatchObject({ status: 400, details: [{ field: 'to.connection' }] });
    await expect(startMigration(deps(), { entity: 'no_such_entity', from: 'main', to: hub })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('step by step with writes in between, rolled back at cutover: the targets as before, no write lost', async () => {
    const started = await startMigration(deps(), { entity: items, from: 'main', to: hub, soakMinutes: 0 });
    let view = await waitingFor(started.id, 'backfill');
    expect(view.step).toBe('backfill'); // the step it waits at (it said shadow, the step done, before)
    expect(view.roles).toEqual({ main: 'primary', hub: 'shadow' });
    expect(await targetsNow()).toEqual(['hub:shadow', 'main:primary']);
    await expect(
      startMigration(deps(), { entity: items, from: 'main', to: { ...hub, name: 'other' } }),
    ).rejects.toMatchObject({
      status: 409,
    });
    await expect(approveMigration(deps(), started.id, { step: 'cutover' })).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('not the one awaiting approval'),
    });

    // Written while the shadow is being set up: both stores get it.
    await insertItems(pool, schema, itemRows(20, 1000));
    await runSync(h, [items], 'incremental', true);

    await approveMigration(deps(), started.id, { step: 'backfill' });
    await waitingFor(started.id, 'verify');
    expect(await hubCount()).toBe(220);
    await approveMigration(deps(), started.id, { step: 'verify' });
    view = await waitingFor(started.id, 'cutover');
    const verify = view.steps.find((s) => s.step === 'verify')!;
    expect(verify).toMatchObject({ status: 'done', clean: true });
    expect(verify.reconcileUids).toHaveLength(1);

    await approveMigration(deps(), started.id, { step: 'cutover' });
    view = await waitingFor(started.id, 'soak');
    expect(view.roles).toEqual({ main: 'secondary', hub: 'primary' });
    await insertItems(pool, schema, itemRows(10, 2000));
    const [after] = await runSync(h, [items], 'incremental', true);
    expect(after!.summary).toMatchObject({ status: 'completed', inserted: 10 });

    await rollbackMigration(deps(), started.id);
    view = await until(started.id, (v) => v.status !== 'running', 'the rollback');
    expect(view).toMatchObject({ status: 'rolled_back', roles: { main: 'primary' } });
    expect(await targetsNow()).toEqual(['main:primary']);
    // Dual write continued until the rollback: the store taken back holds every source row.
    expect(await pgCount()).toBe(await sourceCount());
    await expect(rollbackMigration(deps(), started.id)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('ended (rolled_back)'),
    });
    await expect(abortMigration(deps(), started.id)).rejects.toMatchObject({ status: 409 });
    const ended = await h.prisma.syncEvent.findMany({ where: { entityName: items, type: 'migration.ended' } });
    expect(ended.map((e) => (e.payload as { status: string }).status)).toContain('rolled_back');
  }, 240_000);

  it('on its own through to retire, its worker killed during the backfill: ScheduleHub alone, nothing lost', async () => {
    // Only worker processes from here on: the one killed runs the migration's work when it dies.
    const worker = await h.startWorkerProcess();
    await inProcess.shutdown();
    const started = await startMigration(deps(), {
      entity: items,
      from: 'main',
      to: hub,
      autoApprove: true,
      soakMinutes: 0,
    });
    await until(started.id, (v) => v.steps[1]!.status === 'running', 'the backfill');
    worker.kill('SIGKILL');
    await h.startWorkerProcess();
    const view = await until(started.id, (v) => v.status !== 'running', 'the end', 180_000);
    expect(view.status).toBe('completed');
    expect(view.steps.map((s) => `${s.step}:${s.status}`)).toEqual([
      'shadow:done',
      'backfill:done',
      'verify:done',
      'cutover:done',
      'soak:done',
      'retire:done',
    ]);
    expect(view.steps.find((s) => s.step === 'soak')).toMatchObject({ clean: true, forced: false });
    expect(await targetsNow()).toEqual(['hub:primary']);
    const rows = await sourceCount();
    expect(await hubCount()).toBe(rows);
    expect(await pgCount()).toBe(rows);
    await expect(rollbackMigration(deps(), started.id)).rejects.toMatchObject({ status: 409 });
  }, 300_000);
});
