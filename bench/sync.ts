/**
 * End-to-end sync benchmark (not a test): `npm run bench` or `npx tsx bench/sync.ts [rows]`.
 *
 * In one run, on a throwaway PostgreSQL and Temporal dev server:
 * 1. generates N messy rows (default 1,000,000) in a source table;
 * 2. measures the FLOOR: the same rows COPYed out of the source into a
 *    staging table and applied with one INSERT … ON CONFLICT into a keyed
 *    table (what any loader has to pay at least);
 * 3. a full executed sync through the real workflow (PostgreSQL → PostgreSQL);
 * 4. a resync with nothing changed (all SKIP);
 * 4b. a reconcile of the target the full sync filled (clean), then one after 100 differences were written into
 *    that table by hand (34 rows deleted, 33 added, 33 changed), which should report exactly those; the table is
 *    put back afterwards (bench/lib/reconcile.ts);
 * 5. an incremental sync after 1% of the rows changed, then one with nothing changed;
 * 6. dlt on the same table and database (bench/dlt/, when python3 is present): merge on the same key, full,
 *    no-change rerun and the same 1% incremental, with its defaults and with load-file compression off;
 * 7. the full sync again with split stages, into a fresh table;
 * 8. a full sync into the ScheduleHub sandbox (HTTP, in a process of its own; rate cap as high as allowed);
 * 9. the full sync again with two worker processes (this one + a child) into a fresh table.
 * Prints wall time, rows/s, the ratio to the floor, peak RSS and the workflow history per batch; writes
 * bench/results/sync-<N>.json and latest.json (committed; BENCH_LATEST=0 leaves it alone).
 *
 * Environment: BENCH_ROWS (or the first argument), BENCH_PAGE_SIZE, BENCH_SKIP=<comma list of
 * resync,reconcile,incremental,incremental-unchanged,dlt,split,schedulehub,two-workers>, BENCH_SCHEDULEHUB_ROWS (a
 * prefix of the table for the ScheduleHub run; default all rows), BENCH_LATEST=0, BENCH_RECONCILE_TRACE=1 (the
 * statements each reconcile ran longest).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { startWorkerChild } from '../bin/worker-child.ts';
import { connectionConfigSchema } from '../connectors/connections.ts';
import { createPool } from '../connectors/postgres/pool.ts';
import { createSecretBox, newSecretKey } from '../connectors/secret-box.ts';
import { startSync } from '../control/syncs.ts';
import { saveConnection } from '../db/connections.ts';
import { saveEntity } from '../db/entities.ts';
import { createPrisma } from '../db/prisma.ts';
import { startInfrastructure } from '../infra/index.ts';
import { type EntityConfigInput, entityConfigSchema } from '../pipeline/entity-config.ts';
import { createWorker } from '../worker/create-worker.ts';
import { syncWorkflowId } from '../workflows/contract.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';
import {
  DLT_CONFIGS,
  DLT_LABELS,
  type DltConfigName,
  type DltRunName,
  type DltRunResult,
  dltRunner,
  prepareDlt,
} from './lib/dlt.ts';
import { peakRssMbOf, startSchedulehubChild } from './lib/processes.ts';
import { type ReconcileBench, reconcileBench } from './lib/reconcile.ts';

const ROWS = Number(process.argv[2] ?? process.env.BENCH_ROWS ?? 1_000_000);
const PAGE_SIZE = Number(process.env.BENCH_PAGE_SIZE ?? 10_000);
const TASK_QUEUE = 'bench';
const ENTITY = 'bench_items';
const RUN_NAMES = [
  'resync',
  'reconcile',
  'incremental',
  'incremental-unchanged',
  'dlt',
  'split',
  'schedulehub',
  'two-workers',
];
const SKIP = new Set(
  (process.env.BENCH_SKIP ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
if (process.env.BENCH_SKIP_SPLIT === '1') SKIP.add('split'); // the older switch
for (const name of SKIP) {
  if (!RUN_NAMES.includes(name)) {
    console.error(`BENCH_SKIP: unknown run "${name}" (runs: ${RUN_NAMES.join(', ')})`);
    process.exit(2);
  }
}
const runs = (name: string) => !SKIP.has(name);
const SCHEDULEHUB_ROWS = Math.min(ROWS, Number(process.env.BENCH_SCHEDULEHUB_ROWS ?? ROWS));
const WRITE_LATEST = process.env.BENCH_LATEST !== '0';

const log = (m: string) => console.log(m);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (ms: number, floorMs: number) => Math.round((ms / floorMs) * 100) / 100;

log(`SyncFlow sync benchmark: ${fmt(ROWS)} rows, pages of ${fmt(PAGE_SIZE)}, node ${process.version}`);
if (SKIP.size > 0) log(`  skipping: ${[...SKIP].join(', ')}`);
// Before anything runs: a first pip install takes a minute and must not overlap what is measured.
const dltSetup = runs('dlt') ? await prepareDlt(log) : { skipped: 'BENCH_SKIP' };
if ('skipped' in dltSetup) log(`  dlt skipped: ${dltSetup.skipped}`);

const infra = await startInfrastructure({
  throwaway: true,
  searchAttributes: searchAttributeKeys,
  log: (m) => log(`  ${m}`),
});
const pool = createPool(infra.database.url, 4);
const prisma = createPrisma(infra.database.url);
let peakRss = process.memoryUsage().rss;
const rssSampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const cleanups: Array<() => Promise<void>> = [];

try {
  // 1. Source rows: ten fields of ERP-like text (formatted numbers, mixed date formats, CRLF, padding).
  let t = performance.now();
  await pool.query(`CREATE SCHEMA bench; CREATE SEQUENCE bench.rv`);
  await pool.query(`CREATE TABLE bench.items (
      part_no text NOT NULL, plant text NOT NULL, description text, qty text, price text, created text,
      updated text, active text, item_type text, row_version bigint NOT NULL DEFAULT nextval('bench.rv'),
      PRIMARY KEY (part_no, plant))`);
  await pool.query(
    `INSERT INTO bench.items (part_no, plant, description, qty, price, created, updated, active, item_type)
     SELECT 'P-' || lpad(g::text, 8, '0'),
            (ARRAY['DE01','DE02','US01','FR03'])[1 + g % 4],
            CASE WHEN g % 5 = 0 THEN '  Bolt  M' || (g % 97) || E'\\r\\nzinc plated ' ELSE 'Washer ' || (g % 89) END,
            CASE g % 3 WHEN 0 THEN to_char(g % 100000 + 0.5, 'FM999,999.00') WHEN 1 THEN '(' || (g % 1000) || '.25)'
                       ELSE (g % 5000)::text END,
            ((g % 100000) / 100.0)::text,
            CASE g % 3 WHEN 0 THEN to_char(date '2020-01-01' + g % 2000, 'YYYY-MM-DD')
                       WHEN 1 THEN to_char(date '2020-01-01' + g % 2000, 'DD.MM.YYYY')
                       ELSE to_char(date '2020-01-01' + g % 2000, 'YYYYMMDD') END,
            to_char(timestamp '2024-03-31 00:00' + (g % 100000) * interval '1 minute', 'YYYY-MM-DD HH24:MI'),
            (ARRAY['Y','N','1','0'])[1 + g % 4],
            (ARRAY['Book','BOOK','books','film','Tool'])[1 + g % 5]
       FROM generate_series(1, $1::int) AS g`,
    [ROWS],
  );
  // An incremental read asks for rows above the watermark in rowversion order: a source that is read that way
  // keeps an index on its rowversion column (README, incremental syncs), or every incremental scans the table.
  await pool.query('CREATE INDEX items_row_version ON bench.items (row_version)');
  await pool.query('ANALYZE bench.items');
  log(`  generated ${fmt(ROWS)} source rows in ${seconds(performance.now() - t)}`);

  // 2. The floor: COPY out, COPY into staging, one INSERT … ON CONFLICT into a keyed table.
  await pool.query(`CREATE TABLE bench.floor (erp_key_hash text PRIMARY KEY, part_no text, plant text, description text,
      qty text, price text, created text, updated text, active text, item_type text, row_version bigint)`);
  await pool.query(`CREATE UNLOGGED TABLE bench.floor_stage (LIKE bench.floor)`);
  const floorMs: number[] = [];
  for (let run = 0; run < 3; run++) {
    await pool.query('TRUNCATE bench.floor, bench.floor_stage');
    t = performance.now();
    const reader = await pool.connect();
    const writer = await pool.connect();
    try {
      await pipeline(
        reader.query(
          copyTo(`COPY (SELECT md5(part_no || '|' || plant), part_no, plant, description, qty, price, created, updated,
                  active, item_type, row_version FROM bench.items) TO STDOUT`),
        ),
        writer.query(copyFrom('COPY bench.floor_stage FROM STDIN')),
      );
      await writer.query(`INSERT INTO bench.floor SELECT * FROM bench.floor_stage
        ON CONFLICT (erp_key_hash) DO UPDATE SET description = EXCLUDED.description, row_version = EXCLUDED.row_version`);
    } finally {
      reader.release();
      writer.release();
    }
    floorMs.push(performance.now() - t);
  }
  const floor = [...floorMs].sort((a, b) => a - b)[1]!;
  log(`  floor (COPY + INSERT … ON CONFLICT), median of 3: ${seconds(floor)} (${fmt((ROWS / floor) * 1000)} rows/s)`);

  // 3-5. Syncs through the real workflow, with one in-process worker.
  const secretKey = newSecretKey();
  const secrets = createSecretBox(secretKey);
  const worker = await createWorker({
    connectionOptions: infra.temporal.connectionOptions,
    namespace: infra.temporal.namespace,
    taskQueue: TASK_QUEUE,
    deps: { prisma, databaseUrl: infra.database.url, secrets },
  });
  const workerDone = worker.run();
  const connection = await Connection.connect(infra.temporal.connectionOptions);
  const client = new Client({ connection, namespace: infra.temporal.namespace });
  // The bench's source and target live in the throwaway cluster, behind one connection.
  await saveConnection(
    prisma,
    {
      name: 'bench',
      config: connectionConfigSchema.parse({ type: 'postgres', url: { value: infra.database.url }, maxConnections: 8 }),
    },
    secrets,
  );
  /** The bench entity's configuration; the other runs' entities differ in name, source or targets only. */
  const entityConfig = (overrides: Partial<EntityConfigInput> & { name: string }) =>
    entityConfigSchema.parse({
      source: { type: 'postgres', connection: 'bench', schema: 'bench', table: 'items' },
      targets: [{ type: 'postgres', name: 'main', connection: 'bench', schema: 'bench', table: 'items_target' }],
      businessKey: ['part_no', 'plant'],
      rowversionField: 'row_version',
      pageSize: PAGE_SIZE,
      sourceTimeZone: 'Europe/Berlin',
      fields: [
        { source: 'part_no', target: 'part_no', transformation: 'uppercase', required: true },
        { source: 'plant', target: 'plant', required: true },
        { source: 'description', target: 'description' },
        { source: 'qty', target: 'qty', type: 'NUMBER' },
        { source: 'price', target: 'price', type: 'NUMBER' },
        { source: 'created', target: 'created_on', type: 'DATE' },
        { source: 'updated', target: 'updated_at', type: 'TIMESTAMP' },
        { source: 'active', target: 'active', type: 'BOOLEAN' },
        {
          source: 'item_type',
          target: 'item_type',
          valueMap: { values: { book: 'book', books: 'book' }, caseInsensitive: true },
        },
        { source: 'row_version', target: 'row_version', type: 'bigint' },
      ],
      ...overrides,
    });
  await saveEntity(prisma, entityConfig({ name: ENTITY }), { mode: 'live' });

  /** Peak RSS of other processes taking part in a run (the second worker, the ScheduleHub sandbox). */
  let extraProcesses: Array<{ role: string; pid: number }> = [];
  const runSync = async (
    name: string,
    label: string,
    syncType: 'full' | 'incremental',
    entity = ENTITY,
    rowsForRatio = ROWS,
  ) => {
    peakRss = process.memoryUsage().rss;
    const started = performance.now();
    const [sync] = await startSync(
      { prisma, temporal: client, taskQueue: TASK_QUEUE },
      { entities: [entity], syncType },
    );
    const handle = client.workflow.getHandle(syncWorkflowId(entity));
    await handle.result();
    const wallMs = performance.now() - started;
    const otherRss = extraProcesses.map((p) => ({ role: p.role, peakRssMb: peakRssMbOf(p.pid) }));
    const batch = await prisma.syncBatch.findUniqueOrThrow({ where: { uid: sync!.batchUid } });
    const workflowRuns: Array<{ historyLength: number; historySizeBytes: number }> = [];
    for await (const execution of client.workflow.list({ query: `SyncBatchId = "${sync!.batchUid}"` })) {
      const d = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      workflowRuns.push({ historyLength: d.historyLength, historySizeBytes: Number(d.historySize ?? 0) });
    }
    const pagesByWorker = (
      await pool.query<{ worker: string; pages: string }>(
        `SELECT payload->>'worker' AS worker, count(*) AS pages FROM sync_events
          WHERE batch_uid = $1::uuid AND type = 'sync.page_completed' GROUP BY 1 ORDER BY 1`,
        [sync!.batchUid],
      )
    ).rows.map((r) => ({ worker: r.worker, pages: Number(r.pages) }));
    const fetched = Number(batch.totalFetched);
    const result = {
      name,
      label,
      entity,
      syncType,
      wallMs: Math.round(wallMs),
      rowsPerSecond: Math.round((Math.max(fetched, 1) / wallMs) * 1000),
      ratioToFloor: ratio(wallMs, floor),
      // For a run over part of the table: its wall time against the floor's time for as many rows.
      ...(rowsForRatio !== ROWS ? { ratioToFloorPerRow: ratio(wallMs, (floor * rowsForRatio) / ROWS) } : {}),
      fetched,
      inserted: Number(batch.inserted),
      updated: Number(batch.updated),
      skipped: Number(batch.skipped),
      failed: Number(batch.failed),
      pages: batch.pagesCompleted,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      ...(otherRss.length > 0 ? { otherProcessesPeakRssMb: otherRss } : {}),
      ...(pagesByWorker.length > 1 ? { pagesByWorker } : {}),
      workflowRuns: workflowRuns.length,
      historyEvents: workflowRuns.reduce((a, r) => a + r.historyLength, 0),
      maxHistoryBytesPerRun: Math.max(0, ...workflowRuns.map((r) => r.historySizeBytes)),
      stages: (batch.metrics as { stages?: unknown }).stages,
    };
    log(
      `  ${label.padEnd(46)} ${seconds(wallMs).padStart(9)}  ${fmt(result.rowsPerSecond).padStart(9)} rows/s  ` +
        `${String(result.ratioToFloor).padStart(5)}× floor  ins ${fmt(result.inserted)} upd ${fmt(result.updated)} ` +
        `skip ${fmt(result.skipped)} fail ${fmt(result.failed)}  RSS ${result.peakRssMb} MB  ` +
        `history ${fmt(result.historyEvents)} events / ${result.workflowRuns} runs`,
    );
    return result;
  };
  type SyncResult = Awaited<ReturnType<typeof runSync>>;
  const results: SyncResult[] = [];
  const record = <R extends SyncResult>(r: R): R => {
    results.push(r);
    return r;
  };

  // dlt: one pipeline per configuration, each loading into a schema of its own (dlt_defaults, dlt_compressionoff).
  const dltRuns: Record<DltConfigName, Partial<Record<DltRunName, DltRunResult & { ratioToFloor: number }>>> = {
    defaults: {},
    compressionOff: {},
  };
  const dltErrors: string[] = [];
  const dlt = 'python' in dltSetup ? await dltRunner(dltSetup.python, infra.database.url) : null;
  if (dlt) cleanups.push(dlt.cleanup);
  const runDlt = async (names: DltRunName[], initialRowVersion?: number) => {
    if (!dlt) return;
    for (const config of Object.keys(DLT_CONFIGS) as DltConfigName[]) {
      for (const name of names) {
        try {
          const r = await dlt.run(config, name, initialRowVersion);
          dltRuns[config][name] = { ...r, ratioToFloor: ratio(r.wallMs, floor) };
          // The data files (the merge's own SQL job aside): their format, and gzipped or not.
          const data = r.loadFiles.filter((f) => f.format !== 'sql');
          const gz = data.every((f) => f.gzipped) ? 'gzip' : data.some((f) => f.gzipped) ? 'partly gzip' : 'plain';
          const format = data[0] ? `${data[0].format}, ${gz}` : 'no load file';
          log(
            `  ${`${DLT_LABELS[config]}, ${DLT_LABELS[name]}`.padEnd(46)} ${seconds(r.wallMs).padStart(9)}  ` +
              `${fmt((Math.max(r.rowsLoaded, 1) / r.wallMs) * 1000).padStart(9)} rows/s  ` +
              `${String(ratio(r.wallMs, floor)).padStart(5)}× floor  loaded ${fmt(r.rowsLoaded)}, table ${fmt(r.targetRows)} ` +
              `rows, ${r.targetIndexes} index(es)  RSS ${Math.round(r.peakRssMb)} MB  (${r.backend}, ${format})`,
          );
        } catch (error) {
          const message = `${config} ${name}: ${(error as Error).message}`;
          dltErrors.push(message.slice(0, 2000));
          log(`  dlt ${message}`);
        }
      }
    }
  };

  const full = record(await runSync('full', 'full sync (fused stages)', 'full'));
  if (runs('resync')) record(await runSync('resync', 'resync, nothing changed', 'full'));
  // Reconcile the target the full sync filled, before the source changes (the 1% UPDATE below).
  let reconcile: ReconcileBench | undefined;
  if (runs('reconcile')) {
    reconcile = await reconcileBench({
      pool,
      prisma,
      client,
      taskQueue: TASK_QUEUE,
      entity: ENTITY,
      table: 'bench.items_target',
      floorMs: floor,
      log,
    });
  }
  // dlt's full load and its no-change rerun before the 1% UPDATE; its incremental after it, so that dlt's
  // incremental reads the very rows SyncFlow's incremental reads (it starts at the pre-UPDATE max row_version,
  // where an incremental pipeline that had loaded the table would stand).
  await runDlt(['full', 'rerun']);
  const maxRowVersion = Number((await pool.query('SELECT max(row_version) AS v FROM bench.items')).rows[0].v);
  const changed = await pool.query(
    `UPDATE bench.items SET price = '1.00', row_version = nextval('bench.rv') WHERE (hashtext(part_no) & 1023) < 10`,
  );
  log(`  changed ${fmt(changed.rowCount ?? 0)} source rows (~1%)`);
  if (runs('incremental')) record(await runSync('incremental', 'incremental, ~1% changed', 'incremental'));
  if (runs('incremental-unchanged')) {
    record(await runSync('incremental-unchanged', 'incremental, nothing changed', 'incremental'));
  }
  await runDlt(['incremental', 'incremental-unchanged'], maxRowVersion);

  // The same full sync with each stage its own activity (split), into a fresh table.
  let split: SyncResult | undefined;
  if (runs('split')) {
    const stored = await prisma.entity.findUniqueOrThrow({ where: { name: ENTITY } });
    await prisma.entity.update({
      where: { name: ENTITY },
      data: {
        config: {
          ...(stored.config as object),
          stageActivities: 'split',
          targets: [{ type: 'postgres', name: 'split', connection: 'bench', schema: 'bench', table: 'items_split' }],
        },
        configVersion: { increment: 1 },
      },
    });
    split = record(await runSync('split', 'full sync, split stages', 'full'));
    log(
      `  six stage activities instead of one (split vs fused) cost ${Math.round((split.wallMs / full.wallMs - 1) * 100)}% of wall time`,
    );
  }

  // A full sync of a separate entity into the ScheduleHub sandbox (HTTP), served by a process of its own.
  let schedulehub: (SyncResult & { rows: number; recordsStored: number }) | undefined;
  if (runs('schedulehub')) {
    const sandbox = await startSchedulehubChild(infra.database.url);
    cleanups.push(sandbox.stop);
    await saveConnection(
      prisma,
      {
        name: 'schedulehub',
        config: connectionConfigSchema.parse({
          type: 'schedulehub',
          baseUrl: sandbox.url,
          auth: {
            username: { value: sandbox.credentials.username },
            password: { value: sandbox.credentials.password },
          },
        }),
      },
      secrets,
    );
    const name = `${ENTITY}_schedulehub`;
    // The first N generated rows are exactly part_no <= P-<N> (part_no is 'P-' and g padded to 8 digits).
    const source =
      SCHEDULEHUB_ROWS < ROWS
        ? {
            type: 'postgres' as const,
            connection: 'bench',
            query: `SELECT * FROM bench.items WHERE part_no <= 'P-${String(SCHEDULEHUB_ROWS).padStart(8, '0')}'`,
          }
        : undefined;
    await saveEntity(
      prisma,
      entityConfig({
        name,
        ...(source ? { source } : {}),
        // The highest cap and batch the target's configuration allows (rpmCap ≤ 100,000, batchSize ≤ 1,000).
        targets: [
          {
            type: 'schedulehub',
            name: 'schedulehub',
            connection: 'schedulehub',
            resource: 'bench_items',
            rpmCap: 100_000,
            batchSize: 1000,
          },
        ],
      }),
      { mode: 'live' },
    );
    extraProcesses = [{ role: 'schedulehub sandbox', pid: sandbox.pid }];
    const label = `ScheduleHub (HTTP), ${fmt(SCHEDULEHUB_ROWS)} rows`;
    const r = await runSync('schedulehub', label, 'full', name, SCHEDULEHUB_ROWS);
    extraProcesses = [];
    const stored = Number(
      (await pool.query(`SELECT count(*) AS n FROM sandbox_schedulehub.records WHERE resource = 'bench_items'`)).rows[0]
        .n,
    );
    schedulehub = record({ ...r, rows: SCHEDULEHUB_ROWS, recordsStored: stored });
    log(
      `  ScheduleHub: ${fmt(stored)} records stored; ${fmt(r.rowsPerSecond)} rows/s against ` +
        `${fmt(full.rowsPerSecond)} into PostgreSQL (×${r.ratioToFloorPerRow ?? r.ratioToFloor} the floor per row)`,
    );
    await sandbox.stop();
  }

  // The full sync again, into a fresh table, with a second worker process on the task queue.
  let twoWorkers: (SyncResult & { speedupOverOneWorker: number }) | undefined;
  if (runs('two-workers')) {
    const name = `${ENTITY}_two_workers`;
    await saveEntity(
      prisma,
      entityConfig({
        name,
        targets: [{ type: 'postgres', name: 'main', connection: 'bench', schema: 'bench', table: 'items_two_workers' }],
      }),
      { mode: 'live' },
    );
    const second = startWorkerChild({
      env: {
        DATABASE_URL: infra.database.url,
        TEMPORAL_ADDRESS: infra.temporal.address,
        TEMPORAL_NAMESPACE: infra.temporal.namespace,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        TEMPORAL_WORKER_METRICS_PORT: '0',
        SYNCFLOW_SECRET_KEY: secretKey,
        SYNCFLOW_LOG_LEVEL: 'warn',
      },
      onUnexpectedExit: (description) => log(`  ${description}`),
    });
    cleanups.push(() => second.stop());
    await second.ready;
    extraProcesses = [{ role: 'second worker', pid: second.pid }];
    const r = await runSync('two-workers', 'full sync, two workers', 'full', name);
    extraProcesses = [];
    await second.stop();
    twoWorkers = record({ ...r, speedupOverOneWorker: Math.round((full.wallMs / r.wallMs) * 100) / 100 });
    log(
      `  two worker processes: ×${twoWorkers.speedupOverOneWorker} the speed of one ` +
        `(pages per worker: ${r.pagesByWorker?.map((p) => p.pages).join(' / ') ?? 'all on one'})`,
    );
  }

  const dltReport =
    'skipped' in dltSetup
      ? { skipped: dltSetup.skipped }
      : {
          backend: dltRuns.defaults.full?.backend ?? dltRuns.compressionOff.full?.backend ?? null,
          backendFallback: dltRuns.defaults.full?.backendFallback ?? null,
          dltVersion: dltRuns.defaults.full?.dltVersion ?? null,
          python: dltRuns.defaults.full?.python ?? null,
          // full and rerun read the whole table (merge on part_no, plant); incremental reads row_version
          // above the watermark (dlt.sources.incremental) after the same 1% UPDATE SyncFlow's incremental saw.
          configs: dltRuns,
          ...(dltErrors.length > 0 ? { errors: dltErrors } : {}),
        };
  const report = {
    rows: ROWS,
    pageSize: PAGE_SIZE,
    node: process.version,
    cores: availableParallelism(),
    date: new Date().toISOString(),
    skipped: [...SKIP],
    floorMs: Math.round(floor),
    floorRunsMs: floorMs.map(Math.round),
    runs: results,
    reconcile: reconcile ?? null,
    dlt: dltReport,
  };
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/sync-${ROWS}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  // latest.json is the committed copy (the README quotes it); sync-<rows>.json files stay local.
  if (WRITE_LATEST) await writeFile('bench/results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
  log(`\nstage totals of the full sync (ms, summed over pages; pages overlap, so they exceed the wall time):`);
  for (const [stage, s] of Object.entries(full.stages as Record<string, { ms: number }>)) {
    log(`  ${stage.padEnd(10)} ${fmt(s.ms).padStart(8)} ms`);
  }
  log(`\nsummary (${fmt(ROWS)} rows; floor ${seconds(floor)}):`);
  const line = (label: string, ms: number, extra = '') =>
    log(`  ${label.padEnd(50)} ${seconds(ms).padStart(9)}  ×${ratio(ms, floor).toFixed(2).padStart(5)} floor${extra}`);
  for (const r of results) {
    const extra =
      r.name === 'two-workers' && twoWorkers
        ? `  (×${twoWorkers.speedupOverOneWorker} the speed of one worker)`
        : r.name === 'schedulehub' && schedulehub
          ? `  (${fmt(schedulehub.rows)} rows, ${fmt(r.rowsPerSecond)} rows/s, ×${r.ratioToFloorPerRow ?? r.ratioToFloor} per row)`
          : r.name === 'incremental-unchanged'
            ? `  (goal < 0.30 s: ${r.wallMs < 300 ? 'met' : 'not met'})`
            : '';
    line(`SyncFlow ${r.label}`, r.wallMs, extra);
  }
  if (reconcile) {
    for (const r of [reconcile.clean, reconcile.injected]) {
      const target =
        r.targetMs === null ? '' : `  (target side ${seconds(r.targetMs)}, ×${r.targetRatioToFloor} floor)`;
      line(`SyncFlow ${r.label}`, r.wallMs, target);
    }
    log(
      `  reconcile of the clean target: ${reconcile.clean.clean ? 'clean' : 'NOT clean'}; ` +
        `the 100 injected differences: ${reconcile.injected.allFound ? 'all found' : 'NOT all found'}`,
    );
  }
  if ('skipped' in dltReport) {
    log(`  dlt: skipped (${dltReport.skipped})`);
  } else {
    for (const [config, byRun] of Object.entries(dltRuns)) {
      for (const [name, r] of Object.entries(byRun)) {
        const label = `${DLT_LABELS[config as DltConfigName]}, ${DLT_LABELS[name as DltRunName]}`;
        line(label, r.wallMs, `  RSS ${Math.round(r.peakRssMb)} MB (${r.backend})`);
      }
    }
    for (const e of dltErrors) log(`  dlt failed: ${e.split('\n')[0]}`);
  }
  log(`\nwritten to ${file}${WRITE_LATEST ? ' and bench/results/latest.json' : ''}`);
  worker.shutdown();
  await workerDone;
  await connection.close();
} finally {
  clearInterval(rssSampler);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await prisma.$disconnect();
  await pool.end();
  await infra.stop();
}
