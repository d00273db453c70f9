import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { getReconcileReport, startReconcile } from '../../control/reconciles.ts';
import type { Prisma } from '../../db/prisma.ts';
import type { ReconcileReportView } from '../../pipeline/reconcile/types.ts';

/**
 * The bench's reconcile run (issue 14): a reconcile of the PostgreSQL target the full sync filled (it should be
 * clean), then 100 differences written into the target table by hand (rows deleted, rows added, rows whose
 * erp_data_hash and a data column changed), a second reconcile that should find exactly those, and the target
 * put back as it was (the later runs of the bench see the table the sync left). Timed: the whole reconcile (start
 * to workflow result) and, from the workflow's history, its source read and its target-side verification
 * (the reconcileSource / reconcileTarget activities, scheduled to completed).
 */
export interface ReconcileRun {
  label: string;
  reportUid: string;
  status: string;
  clean: boolean | null;
  wallMs: number;
  ratioToFloor: number;
  /** reconcileSource: reading and normalizing the source (NORMALIZE…IDENTITY). */
  sourceMs: number | null;
  /** reconcileTarget: the target-side verification (segment checksums, bisection), all targets. */
  targetMs: number | null;
  targetRatioToFloor: number | null;
  /** The rest: the repair, finishing the report, task dispatch. */
  otherMs: number | null;
  sourceRecords: number;
  target: Pick<
    ReconcileReportView['targets'][number],
    'method' | 'sourceCount' | 'targetCount' | 'missing' | 'extra' | 'different' | 'orphans'
  > & { unverifiedSegments: number };
  error: string | null;
}

export interface ReconcileBench {
  clean: ReconcileRun;
  injected: ReconcileRun & {
    injectedDifferences: { missing: number; extra: number; different: number };
    /** Every injected difference reported, and nothing else. */
    allFound: boolean;
  };
}

interface Context {
  pool: pg.Pool;
  prisma: Prisma;
  client: Client;
  taskQueue: string;
  entity: string;
  /** The entity's PostgreSQL target table, schema-qualified. */
  table: string;
  floorMs: number;
  log: (line: string) => void;
}

const ratio = (ms: number, floorMs: number) => Math.round((ms / floorMs) * 1000) / 1000;

/** A protobuf Timestamp (seconds may be a Long) in milliseconds. */
function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return 0;
  const s = ts.seconds as { toNumber?: () => number } | number | string | null | undefined;
  const seconds = typeof s === 'object' && s?.toNumber ? s.toNumber() : Number(s ?? 0);
  return seconds * 1000 + (ts.nanos ?? 0) / 1e6;
}

/** Wall time per activity type of one workflow run, from its history (scheduled → completed, retries included). */
async function activityTimes(client: Client, workflowId: string): Promise<Map<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { type: string; at: number }>();
  const totals = new Map<string, number>();
  for (const event of history.events ?? []) {
    const attrs = event.activityTaskScheduledEventAttributes;
    if (attrs) {
      scheduled.set(String(event.eventId), { type: attrs.activityType?.name ?? '?', at: timestampMs(event.eventTime) });
      continue;
    }
    const done =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (done?.scheduledEventId === undefined || done.scheduledEventId === null) continue;
    const start = scheduled.get(String(done.scheduledEventId));
    if (!start) continue;
    totals.set(start.type, (totals.get(start.type) ?? 0) + timestampMs(event.eventTime) - start.at);
  }
  return totals;
}

async function runReconcile(ctx: Context, label: string): Promise<ReconcileRun> {
  const started = performance.now();
  const { reportUid, workflowId } = await startReconcile(
    { prisma: ctx.prisma, temporal: ctx.client, taskQueue: ctx.taskQueue },
    { entity: ctx.entity },
  );
  let error: string | null = null;
  const trace = process.env.BENCH_RECONCILE_TRACE === '1' ? traceStatements(ctx.pool) : null;
  try {
    await ctx.client.workflow.getHandle(workflowId).result();
  } catch (e) {
    error = (e as Error).message;
  }
  const wallMs = performance.now() - started;
  if (trace) for (const line of await trace.stop()) ctx.log(`    ${line}`);
  const report = await getReconcileReport({ prisma: ctx.prisma }, reportUid);
  const times = await activityTimes(ctx.client, workflowId).catch(() => new Map<string, number>());
  const sourceMs = times.get('reconcileSource') ?? null;
  const targetMs = times.get('reconcileTarget') ?? null;
  const t = report.targets[0];
  const run: ReconcileRun = {
    label,
    reportUid,
    status: report.status,
    clean: report.clean,
    wallMs: Math.round(wallMs),
    ratioToFloor: ratio(wallMs, ctx.floorMs),
    sourceMs: sourceMs === null ? null : Math.round(sourceMs),
    targetMs: targetMs === null ? null : Math.round(targetMs),
    targetRatioToFloor: targetMs === null ? null : ratio(targetMs, ctx.floorMs),
    otherMs: sourceMs === null || targetMs === null ? null : Math.round(wallMs - sourceMs - targetMs),
    sourceRecords: report.source.records,
    target: {
      method: t?.method ?? 'segments',
      sourceCount: t?.sourceCount ?? 0,
      targetCount: t?.targetCount ?? 0,
      missing: t?.missing ?? 0,
      extra: t?.extra ?? 0,
      different: t?.different ?? 0,
      orphans: t?.orphans ?? 0,
      unverifiedSegments: t?.unverifiedSegments.length ?? 0,
    },
    error: error ?? report.error,
  };
  const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);
  ctx.log(
    `  ${label.padEnd(46)} ${seconds(run.wallMs).padStart(9)}  ${String(run.ratioToFloor).padStart(6)}× floor  ` +
      `source ${seconds(run.sourceMs)}, target side ${seconds(run.targetMs)} (${run.targetRatioToFloor ?? '-'}× floor)  ` +
      `missing ${run.target.missing} extra ${run.target.extra} different ${run.target.different}  ` +
      `${run.status}${run.clean ? ', clean' : ''}${run.error ? `: ${run.error}` : ''}`,
  );
  return run;
}

/**
 * BENCH_RECONCILE_TRACE=1: where a reconcile's database time goes. Samples pg_stat_activity every 250 ms and
 * reports the statements seen running longest (their text shortened), the slowest first.
 */
function traceStatements(pool: pg.Pool) {
  const seen = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await pool.query<{ query: string; ms: number }>(
        `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query,
                (extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS ms
           FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query NOT LIKE '%pg_stat_activity%'`,
      );
      for (const r of rows) seen.set(r.query, Math.max(seen.get(r.query) ?? 0, r.ms));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([query, ms]) => `${(ms / 1000).toFixed(1).padStart(7)} s  ${query}`);
    },
  };
}

/** How many differences of each kind the bench writes into the target (100 in all). */
export const INJECTED = { missing: 34, extra: 33, different: 33 } as const;

export async function reconcileBench(ctx: Context): Promise<ReconcileBench> {
  const clean = await runReconcile(ctx, 'reconcile, target clean');

  // 100 differences, spread over the key space (chosen by a hash of the key), the rows kept to put back.
  const { pool, table } = ctx;
  await pool.query(`DROP TABLE IF EXISTS bench.rc_deleted, bench.rc_changed, bench.rc_extra`);
  await pool.query(
    `CREATE TABLE bench.rc_deleted AS SELECT * FROM ${table} ORDER BY md5(erp_key_hash || 'deleted') LIMIT $1`,
    [INJECTED.missing],
  );
  await pool.query(
    `CREATE TABLE bench.rc_changed AS SELECT * FROM ${table}
      WHERE erp_key_hash NOT IN (SELECT erp_key_hash FROM bench.rc_deleted)
      ORDER BY md5(erp_key_hash || 'changed') LIMIT $1`,
    [INJECTED.different],
  );
  // Extra rows: copies of other rows under keys the source does not have.
  await pool.query(
    `CREATE TABLE bench.rc_extra AS SELECT * FROM ${table} ORDER BY md5(erp_key_hash || 'extra') LIMIT $1`,
    [INJECTED.extra],
  );
  await pool.query(
    `UPDATE bench.rc_extra SET erp_key_hash = md5('bench-extra-' || erp_key_hash), erp_ref_str = 'extra-' || erp_ref_str`,
  );
  await pool.query(`DELETE FROM ${table} WHERE erp_key_hash IN (SELECT erp_key_hash FROM bench.rc_deleted)`);
  await pool.query(`INSERT INTO ${table} SELECT * FROM bench.rc_extra`);
  // Changed by another writer: a data column and the data hash (the checksums compare hashes, not columns).
  await pool.query(
    `UPDATE ${table} t SET description = coalesce(t.description, '') || ' (edited)',
            erp_data_hash = md5(t.erp_data_hash) || md5('edited')
      FROM bench.rc_changed c WHERE t.erp_key_hash = c.erp_key_hash`,
  );
  ctx.log(
    `  injected ${INJECTED.missing} missing, ${INJECTED.extra} extra and ${INJECTED.different} different rows into ${table}`,
  );

  const run = await runReconcile(ctx, 'reconcile, 100 differences injected');
  const allFound =
    run.status === 'completed' &&
    run.target.missing === INJECTED.missing &&
    run.target.extra === INJECTED.extra &&
    run.target.different === INJECTED.different &&
    run.target.orphans === 0 &&
    run.target.unverifiedSegments === 0;
  ctx.log(`  the 100 injected differences: ${allFound ? 'all found, nothing else' : 'NOT all found exactly'}`);

  // Put the target back as the sync left it.
  await pool.query(`DELETE FROM ${table} WHERE erp_key_hash IN (SELECT erp_key_hash FROM bench.rc_extra)`);
  await pool.query(`INSERT INTO ${table} SELECT * FROM bench.rc_deleted`);
  await pool.query(
    `UPDATE ${table} t SET description = c.description, erp_data_hash = c.erp_data_hash
       FROM bench.rc_changed c WHERE t.erp_key_hash = c.erp_key_hash`,
  );
  await pool.query(`DROP TABLE bench.rc_deleted, bench.rc_changed, bench.rc_extra`);

  return { clean, injected: { ...run, injectedDifferences: { ...INJECTED }, allFound } };
}
