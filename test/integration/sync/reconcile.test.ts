import { randomUUID } from 'node:crypto';
import { workflowMetadataQuery } from '@temporalio/workflow';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { ControlError } from '../../../control/errors.ts';
import { getReconcileReport, listReconcileReports, startReconcile } from '../../../control/reconciles.ts';
import { setSegmentProgress } from '../../../db/reconcile.ts';
import type { ReconcileReportView, ReconcileTargetReport } from '../../../pipeline/reconcile/types.ts';
import type { SchedulehubSandbox } from '../../../sandbox/index.ts';
import { RECONCILE_WORKFLOW, reconcileWorkflowId } from '../../../workflows/contract.ts';
import { createHarness, type Harness, LOCAL_CONNECTION, startSchedulehubTarget } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';

/**
 * Issue 14: reconcile. A PostgreSQL target (segment checksums in the database) and a ScheduleHub target
 * (lookups by bk_hash, or a sample) compared with the normalized source; differences injected by hand are
 * reported with exact counts and keys; a repair converges and the next reconcile is clean; a child entity's
 * orphans are reported; a target that is down leaves its segments unverified. Real PostgreSQL, Temporal and the
 * ScheduleHub sandbox.
 */
describe('reconcile', () => {
  let h: Harness;
  let pool: pg.Pool;
  let sandbox: SchedulehubSandbox;
  const id = randomUUID().slice(0, 8);
  const schema = `rcn_${id}`;
  const items = `items_rcn_${id}`;
  const orders = `orders_rcn_${id}`;
  const idle = `idle_rcn_${id}`;
  const main = `${schema}.${items}_main`;
  const ordersMain = `${schema}.${orders}_main`;
  const shTable = `sh_${id}.records`;
  const connection = `planning-${id}`;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  /** Starts a reconcile and waits for its report to end. */
  const reconcile = async (request: Omit<Parameters<typeof startReconcile>[1], 'entity'> & { entity?: string }) => {
    const started = await startReconcile(deps(), { entity: items, ...request });
    const handle = h.client.workflow.getHandle(started.workflowId);
    const ended = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 45_000)),
    ]);
    if (!ended) {
      const described = await handle.describe();
      const pending = described.raw.pendingActivities?.map((a) => ({
        type: a.activityType?.name,
        attempt: a.attempt,
        failure: a.lastFailure?.message,
      }));
      await handle.terminate('the test gave up on it').catch(() => {});
      throw new Error(`reconcile ${started.reportUid} still runs: ${JSON.stringify(pending)}`);
    }
    return getReconcileReport(deps(), started.reportUid);
  };
  const targetOf = (report: ReconcileReportView, name: string) =>
    report.targets.find((t) => t.target === name) as ReconcileTargetReport;
  const keyOf = async (table: string, where: string) =>
    (await pool.query(`SELECT erp_key_hash AS k, erp_ref_str AS r FROM ${table} WHERE ${where} LIMIT 1`)).rows[0] as {
      k: string;
      r: string;
    };

  beforeAll(async () => {
    h = await createHarness('reconcile');
    pool = createPool(h.databaseUrl);
    sandbox = await startSchedulehubTarget(h, connection, { schema: `sh_${id}` });
    await createItemSource(pool, schema, itemRows(300));
    // Two rows that fail VALIDATE (no due date): unsyncable, never missing.
    await pool.query(`UPDATE ${schema}.items SET due = NULL WHERE part_no IN ('p-000298', 'p-000299')`);
    await registerEntity(
      h,
      itemEntity(items, schema, {
        targets: [
          { type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${items}_main` },
          { type: 'schedulehub', name: 'planning', role: 'secondary', connection, resource: items, batchSize: 100 },
        ],
      }),
    );
    await pool.query(`CREATE TABLE ${schema}.orders (order_no text PRIMARY KEY, part_no text, plant text)`);
    await pool.query(
      `INSERT INTO ${schema}.orders SELECT 'o-' || i, 'p-' || lpad(i::text, 6, '0'), CASE WHEN i % 2 = 0 THEN 'DE01' ELSE 'US02' END
         FROM generate_series(0, 39) AS i`,
    );
    await registerEntity(h, {
      name: orders,
      source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'orders' },
      targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${orders}_main` }],
      businessKey: ['order_no'],
      deletePolicy: 'hard',
      childRetryBaseSeconds: 600,
      childWaitSeconds: 0,
      fields: [
        { source: 'order_no', target: 'order_no', required: true },
        { source: 'part_no', target: 'part_no', transformation: 'uppercase' },
        { source: 'plant', target: 'plant' },
      ],
      parents: [{ entity: items, fields: { part_no: 'part_no', plant: 'plant' } }],
    });
    await registerEntity(h, itemEntity(idle, schema));
    await h.startWorker();
    const runs = await runSync(h, [items, orders], 'full', true);
    expect(runs.map((r) => r.summary.status)).toEqual(['completed', 'completed']);
  }, 180_000);
  afterAll(async () => {
    await sandbox?.stop();
    await pool?.end();
    await h?.close();
  });

  it('refuses an unknown entity, a target the entity lacks, and an entity with no completed sync', async () => {
    await expect(startReconcile(deps(), { entity: 'no_such_entity' })).rejects.toMatchObject({ status: 404 });
    const wrongTarget = await startReconcile(deps(), { entity: items, targets: ['nope'] }).catch((e: unknown) => e);
    expect(wrongTarget).toBeInstanceOf(ControlError);
    expect(wrongTarget).toMatchObject({ status: 400, details: [{ field: 'targets' }] });
    await expect(startReconcile(deps(), { entity: idle })).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('reconcile needs a completed sync'),
    });
    // One reconcile of an entity at a time.
    const first = await startReconcile(deps(), { entity: items });
    await expect(startReconcile(deps(), { entity: items })).rejects.toMatchObject({
      status: 409,
      code: 'reconcile_already_running',
    });
    await h.client.workflow.getHandle(first.workflowId).result();
  }, 60_000);

  it('a clean target reports clean, on PostgreSQL (segments) and ScheduleHub (lookups)', async () => {
    const report = await reconcile({});
    expect(report).toMatchObject({
      status: 'completed',
      clean: true,
      source: { rows: 300, records: 298, unsyncable: 2 },
    });
    expect(targetOf(report, 'main')).toMatchObject({
      method: 'segments',
      sourceCount: 298,
      targetCount: 298,
      missing: 0,
      extra: 0,
      different: 0,
      identityMismatch: 0,
      unverifiedSegments: [],
      clean: true,
    });
    expect(targetOf(report, 'planning')).toMatchObject({ method: 'lookup', targetCount: 298, clean: true });
    expect(report.durationMs).toBeGreaterThan(0);
    // 16 segments on PostgreSQL (298 records: prefix length 1) and one lookup batch on ScheduleHub, all checked.
    expect(report.progress).toEqual({ phase: 'done', sourceRows: 300, segmentsChecked: 17, segmentsTotal: 17 });
    const events = await h.prisma.syncEvent.findMany({ where: { entityName: items, type: 'reconcile.completed' } });
    expect(events.length).toBeGreaterThanOrEqual(1);
    // The work table is emptied when the report ends.
    expect(await h.prisma.reconcileSourceRecord.count({ where: { reportUid: report.uid } })).toBe(0);
    // The Temporal Web UI's current details: the phase, the source and each target's verdict.
    const metadata = await h.client.workflow.getHandle(reconcileWorkflowId(report.uid)).query(workflowMetadataQuery);
    expect(metadata.currentDetails?.split('\n')).toEqual([
      `**reconcile of ${items}**: done`,
      'source: 300 rows read, 298 records, 2 unsyncable',
      '- main: clean (298 records)',
      '- planning: clean (298 records)',
    ]);
  }, 60_000);

  it('reports injected differences with exact counts and keys, then a repair converges and the next reconcile is clean', async () => {
    // PostgreSQL: one row deleted, one added, one changed by hand.
    const gone = await keyOf(main, `part_no = 'P-000010'`);
    const changed = await keyOf(main, `part_no = 'P-000020'`);
    await pool.query(`DELETE FROM ${main} WHERE erp_key_hash = $1`, [gone.k]);
    await pool.query(`UPDATE ${main} SET description = 'by hand', erp_data_hash = md5('x') WHERE erp_key_hash = $1`, [
      changed.k,
    ]);
    const extraKey = 'f'.repeat(31) + '0';
    // A copy of a row under another key.
    await pool.query(
      `INSERT INTO ${main} SELECT (jsonb_populate_record(NULL::${main},
         to_jsonb(t) || jsonb_build_object('erp_key_hash', $2::text, 'erp_ref_str', 'by hand'))).*
         FROM ${main} t WHERE erp_key_hash = $1`,
      [changed.k, extraKey],
    );
    // ScheduleHub: the same three, in the sandbox's own table.
    const shGone = await pool.query(`SELECT bk_hash FROM ${shTable} WHERE resource = $1 AND ref LIKE '%P-000030%'`, [
      items,
    ]);
    await pool.query(`DELETE FROM ${shTable} WHERE resource = $1 AND bk_hash = $2`, [items, shGone.rows[0].bk_hash]);
    await pool.query(`UPDATE ${shTable} SET data_hash = md5('y') WHERE resource = $1 AND bk_hash = $2`, [
      items,
      changed.k,
    ]);
    // An extra the identity store names: a record once synced, gone from the source since.
    await pool.query(
      `INSERT INTO ${shTable} (resource, bk_hash, data_hash, ref, data) VALUES ($1, $2, md5('z'), 'by hand', '{}')`,
      [items, extraKey],
    );
    await pool.query(
      `INSERT INTO identity_records (stream_id, bk_hash, data_hash, ref_str, sync_status, synced_at)
       SELECT id, decode($3, 'hex'), decode(md5('z'), 'hex'), 'by hand', 'synced', now() FROM identity_streams
        WHERE entity_name = $1 AND target_name = $2`,
      [items, 'planning', extraKey],
    );

    const report = await reconcile({});
    expect(report.clean).toBe(false);
    const pgReport = targetOf(report, 'main');
    expect(pgReport).toMatchObject({ method: 'segments', missing: 1, extra: 1, different: 1, orphans: 0 });
    expect(pgReport.firstKeys.missing).toEqual([{ bkHash: gone.k, refStr: gone.r }]);
    expect(pgReport.firstKeys.extra.map((k) => k.bkHash)).toEqual([extraKey]);
    expect(pgReport.firstKeys.different.map((k) => k.bkHash)).toEqual([changed.k]);
    // The store says synced but the target lacks it; the store does not know the extra.
    expect(pgReport.identityMismatch).toBe(2);
    const shReport = targetOf(report, 'planning');
    expect(shReport).toMatchObject({ method: 'lookup', missing: 1, extra: 1, different: 1 });
    expect(shReport.firstKeys.missing.map((k) => k.bkHash)).toEqual([shGone.rows[0].bk_hash]);
    expect(shReport.firstKeys.different.map((k) => k.bkHash)).toEqual([changed.k]);
    expect(shReport.firstKeys.extra.map((k) => k.bkHash)).toEqual([extraKey]);

    const listed = await listReconcileReports(deps(), { entity: items, limit: 1 });
    expect(listed.items[0]!.uid).toBe(report.uid);
    expect(listed.nextCursor).not.toBeNull();
    const next = await listReconcileReports(deps(), { entity: items, limit: 1, cursor: listed.nextCursor! });
    expect(next.items[0]!.uid).not.toBe(report.uid);

    const repaired = await reconcile({ repair: true });
    expect(repaired.status).toBe('completed');
    for (const name of ['main', 'planning']) {
      expect(targetOf(repaired, name).repaired).toEqual({
        resent: 2,
        deleted: 1,
        reportedOnly: 0,
        verified: 3,
        stillDifferent: 0,
      });
    }
    // A finished report keeps no work rows: source records, kept segment checksums and difference keys go.
    for (const table of ['reconcile_source_records', 'reconcile_source_segments', 'reconcile_differences']) {
      const left = await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE report_uid = $1`, [repaired.uid]);
      expect(left.rows[0].n, table).toBe(0);
    }
    const again = await reconcile({});
    expect(again.clean).toBe(true);
    expect(again.targets.every((t) => t.clean)).toBe(true);
  }, 180_000);

  it('a comparison retried counts its segments once (set per target, not added)', async () => {
    const report = await reconcile({ targets: ['main'] });
    // As an attempt and its retry both record their counts, then a second target's.
    await setSegmentProgress(pool, report.uid, 'main', { total: 17, checked: 5 });
    await setSegmentProgress(pool, report.uid, 'main', { total: 17, checked: 17 });
    await setSegmentProgress(pool, report.uid, 'planning', { total: 1, checked: 1 });
    const stored = await getReconcileReport(deps(), report.uid);
    expect(stored.progress).toMatchObject({ segmentsChecked: 18, segmentsTotal: 18 });
  }, 60_000);

  it('a target record whose source row no longer validates is unsyncable, not extra', async () => {
    await pool.query(`UPDATE ${schema}.items SET due = NULL WHERE part_no = 'p-000100'`);
    try {
      const report = await reconcile({});
      expect(report.source).toEqual({ rows: 300, records: 297, unsyncable: 3 });
      expect(targetOf(report, 'main')).toMatchObject({ missing: 0, extra: 0, different: 0, clean: true });
      expect(targetOf(report, 'planning')).toMatchObject({ missing: 0, extra: 0, different: 0, clean: true });
      expect(report.clean).toBe(true);
    } finally {
      await pool.query(`UPDATE ${schema}.items SET due = '2025-12-08' WHERE part_no = 'p-000100'`);
    }
  }, 60_000);

  it('samples a lookup target with the confidence it gives', async () => {
    const report = await reconcile({ targets: ['planning'], sample: 50 });
    const t = targetOf(report, 'planning');
    expect(report.targets.map((x) => x.target)).toEqual(['planning']);
    expect(t).toMatchObject({ method: 'sample', missing: 0, different: 0, clean: true });
    expect(t.confidence).toBeCloseTo(1 - 0.05 ** (1 / 50), 5);
  }, 60_000);

  it('reports the orphans of a child entity whose parent row was deleted from the target', async () => {
    const parent = await keyOf(main, `part_no = 'P-000005' AND plant = 'US02'`);
    await pool.query(`DELETE FROM ${main} WHERE erp_key_hash = $1`, [parent.k]);
    const child = await keyOf(ordersMain, `order_no = 'o-5'`);
    const report = await reconcile({ entity: orders });
    const t = targetOf(report, 'main');
    expect(t).toMatchObject({ missing: 0, extra: 0, different: 0, orphans: 1, clean: false });
    expect(t.firstKeys.orphans).toEqual([{ bkHash: child.k, refStr: child.r }]);
  }, 60_000);

  it('a target that is down leaves its segments unverified and the report not clean', async () => {
    await pool.query(`ALTER TABLE ${main} RENAME TO ${items}_gone`);
    try {
      // Compared again once a second later, still down: what stays unverified is reported.
      const reportUid = randomUUID();
      await h.client.workflow.execute(RECONCILE_WORKFLOW, {
        taskQueue: h.taskQueue,
        workflowId: reconcileWorkflowId(reportUid),
        args: [{ reportUid, entityName: items, targets: ['main'], resumeAttempts: 1, resumeDelaySeconds: 1 }],
      });
      const report = await getReconcileReport(deps(), reportUid);
      const t = targetOf(report, 'main');
      expect(t.unverifiedSegments.length).toBeGreaterThan(0);
      expect(t.note).toContain('not verified');
      expect(t.clean).toBe(false);
      expect(report.clean).toBe(false);
    } finally {
      await pool.query(`ALTER TABLE ${schema}.${items}_gone RENAME TO ${items}_main`);
    }
  }, 60_000);

  it('started by a parent (no report row yet), a reconcile resumes a target that comes back', async () => {
    await pool.query(`ALTER TABLE ${main} RENAME TO ${items}_gone`);
    const reportUid = randomUUID();
    const handle = await h.client.workflow.start(RECONCILE_WORKFLOW, {
      taskQueue: h.taskQueue,
      workflowId: reconcileWorkflowId(reportUid),
      args: [{ reportUid, entityName: items, targets: ['main'], resumeAttempts: 3, resumeDelaySeconds: 2 }],
    });
    try {
      // The first comparison finds the target down …
      for (let i = 0; i < 100; i++) {
        const row = await getReconcileReport(deps(), reportUid).catch(() => null);
        if (row?.targets[0]?.unverifiedSegments.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await getReconcileReport(deps(), reportUid)).targets[0]!.clean).toBe(false);
    } finally {
      // … then it is back, and the next attempt verifies it.
      await pool.query(`ALTER TABLE ${schema}.${items}_gone RENAME TO ${items}_main`);
    }
    const outcome = await handle.result();
    // Verified now: only the parent the orphans test deleted by hand is missing.
    expect(outcome).toMatchObject({
      reportUid,
      targets: [{ target: 'main', unverifiedSegments: [], missing: 1, extra: 0, different: 0 }],
    });
    expect(await getReconcileReport(deps(), reportUid)).toMatchObject({ status: 'completed', entityName: items });
  }, 60_000);
  it('a wiped target: every record missing, and the repair restores them all', async () => {
    const before = await pool.query(`SELECT count(*)::int AS n FROM ${main}`);
    await pool.query(`DELETE FROM ${main}`);
    const repaired = await reconcile({ targets: ['main'], repair: true });
    const t = targetOf(repaired, 'main');
    // 298 source records (two rows are unsyncable); the parent the orphans test deleted is among them.
    expect(t).toMatchObject({ missing: 298, extra: 0, different: 0, targetCount: 0 });
    expect(t.firstKeys.missing.length).toBeLessThan(298);
    expect(t.repaired).toEqual({ resent: 298, deleted: 0, reportedOnly: 0, verified: 298, stillDifferent: 0 });
    const after = await pool.query(`SELECT count(*)::int AS n FROM ${main}`);
    expect(after.rows[0].n).toBe(298);
    expect(before.rows[0].n).toBe(297);
    expect((await reconcile({ targets: ['main'] })).clean).toBe(true);
  }, 120_000);
});
