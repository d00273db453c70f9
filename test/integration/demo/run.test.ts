import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { getBackground, stopBackgroundForDeletion } from '../../../control/background.ts';
import { deleteEntitySchedules, listSchedules } from '../../../control/schedules.ts';
import { type DemoHandle, startDemo } from '../../../demo/run.ts';
import { unaccounted } from '../../../pipeline/accounting.ts';
import { createHarness, type Harness } from '../../support/harness.ts';

/** `npm start`'s main job, in-process against the test stack: its printed numbers are the databases' numbers. */
describe('the demo', () => {
  let h: Harness;
  let pool: pg.Pool;
  let warehouse: pg.Pool;
  const demos: DemoHandle[] = [];
  const lines: string[] = [];
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });
  const run = async () => {
    const demo = await startDemo({
      control: { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue },
      databaseUrl: h.databaseUrl,
      warehouseUrl: inject('warehouseUrl'),
      secrets: h.secrets,
      apismithPort: 0,
      schedulehubPort: 0,
      log: (line) => lines.push(line),
    });
    demos.push(demo);
    return demo;
  };

  // Everything written to stdout / stderr while the demo runs, searched for secrets afterwards.
  const output: string[] = [];
  const capture = (stream: NodeJS.WriteStream) => {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  };
  const restore: Array<() => void> = [];

  beforeAll(async () => {
    restore.push(capture(process.stdout), capture(process.stderr));
    h = await createHarness('demo');
    pool = createPool(h.databaseUrl);
    warehouse = createPool(inject('warehouseUrl'));
    await h.startWorker();
  });
  afterAll(async () => {
    // The demo's load and schedule would outlive the test on the shared Temporal server.
    await stopBackgroundForDeletion(deps(), 'work_order_lines').catch(() => {});
    await deleteEntitySchedules(deps(), 'items').catch(() => {});
    for (const undo of restore) undo();
    for (const demo of demos) await demo.stop();
    await pool.end();
    await warehouse.end();
    await h.close();
  });

  it('first start: dry run, executed full sync, change round, incremental; targets hold what the summaries say', async () => {
    const demo = await run();
    expect(demo.batches).toHaveLength(9);
    for (const batch of demo.batches) {
      expect(batch.status).toBe('completed');
      expect(unaccounted({ ...batch.counts })).toBe(0);
    }
    const [dry, full] = [demo.batches.slice(0, 3), demo.batches.slice(3, 6)];
    expect(dry.every((b) => b.dryRun)).toBe(true);
    // The dry run predicts the executed sync: children count the parents their parents' dry run would write.
    for (const key of ['inserted', 'pending'] as const) {
      expect(dry.map((b) => b.counts[key])).toEqual(full.map((b) => b.counts[key]));
    }
    expect(dry.map((b) => b.counts.failed)).toEqual(full.map((b) => b.counts.failed));
    expect(full.map((b) => b.entityName)).toEqual(['items', 'work_orders', 'work_order_lines']);
    expect(full[0]!.counts).toMatchObject({ fetched: 3000, inserted: 2940, failed: 60 });
    // Both targets hold exactly the records the identity store says landed.
    for (const entity of ['items', 'work_orders', 'work_order_lines']) {
      // The demo target is the warehouse role's own schema: SyncFlow's role cannot even read it.
      const inTarget = Number((await warehouse.query(`SELECT count(*) AS n FROM demo_target.${entity}`)).rows[0].n);
      const inHub = await demo.schedulehub.store.count(entity);
      const identities = await h.prisma.identityRecord.count({
        where: { stream: { entityName: entity, targetName: 'schedulehub' }, syncStatus: 'synced', deletedAt: null },
      });
      expect(inHub).toBe(identities);
      expect(inTarget).toBe(identities);
    }
    expect(lines.join('\n')).toContain('Incremental sync');

    // The background load of work_order_lines: its window is open at start-up; the first night's quota (a third of
    // the rows, three nights) is read, then it waits for the next opening; the items schedule is in Temporal.
    const load = await getBackground(deps(), 'work_order_lines');
    expect(load).toMatchObject({ state: 'waiting_for_window', targetDays: 3, nightsUsed: 1 });
    expect(load.dailyQuota).toBeGreaterThan(0);
    expect(load.rowsToday).toBeGreaterThanOrEqual(load.dailyQuota!);
    expect(load.rowsDone).toBeLessThan(load.totalRowsEstimate!);
    expect(load.nights[0]).toMatchObject({ status: 'completed' });
    expect(lines.join('\n')).toMatch(
      /Background load of work_order_lines: window .* Europe\/Berlin \(open now\), 3 nights/,
    );
    expect(lines.join('\n')).toContain('next window opens');
    const [schedule] = await listSchedules(deps(), 'items');
    expect(schedule).toMatchObject({ kind: 'incremental', spec: { every: '5m' }, paused: false });
  }, 300_000);

  it('never lets a secret out: not in any table, event, workflow history, or log line of the run', async () => {
    const demo = demos.at(-1)!;
    const secrets = [demo.apismith.credentials.password, demo.schedulehub.credentials.password];
    for (const secret of secrets) expect(secret.length).toBeGreaterThanOrEqual(8);
    // Every row of every SyncFlow table, as text (connections hold only sealed values).
    const tables = [
      'entities',
      'field_mappings',
      'connections',
      'sync_batches',
      'failed_records',
      'pending_children',
      'sync_events',
      'erp_sync_state',
      'identity_status',
    ];
    for (const table of tables) {
      for (const secret of secrets) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table} t WHERE t::text LIKE $1`, [
          `%${secret}%`,
        ]);
        expect(rows[0].n, `${table} holds a secret`).toBe(0);
      }
    }
    // Every workflow history of the run (inputs, results, failures of every activity), every execution.
    let histories = 0;
    for await (const wf of h.client.workflow.list({ query: `TaskQueue="${h.taskQueue}"` })) {
      const history = JSON.stringify(await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      histories++;
      for (const secret of secrets) expect(history.includes(secret), `history of ${wf.workflowId}`).toBe(false);
    }
    expect(histories).toBeGreaterThanOrEqual(demo.batches.length);
    // What the process printed while the demo ran, and what the demo itself printed.
    const printed = [...output, ...lines].join('\n');
    expect(printed.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(printed.includes(secret)).toBe(false);
  });

  it('a later start shows the incremental path only', async () => {
    await demos.pop()!.stop();
    const demo = await run();
    // work_order_lines is left to its background load (its other syncs are refused while it is under way).
    expect(demo.batches.map((b) => b.entityName)).toEqual(['items', 'work_orders']);
    expect(demo.batches.every((b) => b.syncType === 'incremental' && b.status === 'completed')).toBe(true);
    expect(lines.join('\n')).toContain('work_order_lines left to its background load');
    expect(demo.batches[0]!.counts.fetched).toBeLessThan(100);
  }, 300_000);
});
