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
 * 5. an incremental sync after 1% of the rows changed.
 * Prints wall time, rows/s, the ratio to the floor, the worker's peak RSS
 * and the workflow history per batch; writes bench/results/sync-<N>.json and latest.json (committed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { connectionConfigSchema } from '../connectors/connections.ts';
import { createPool } from '../connectors/postgres/pool.ts';
import { createSecretBox, newSecretKey } from '../connectors/secret-box.ts';
import { startSync } from '../control/syncs.ts';
import { saveConnection } from '../db/connections.ts';
import { saveEntity } from '../db/entities.ts';
import { createPrisma } from '../db/prisma.ts';
import { startInfrastructure } from '../infra/index.ts';
import { entityConfigSchema } from '../pipeline/entity-config.ts';
import { createWorker } from '../worker/create-worker.ts';
import { syncWorkflowId } from '../workflows/contract.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';

const ROWS = Number(process.argv[2] ?? process.env.BENCH_ROWS ?? 1_000_000);
const PAGE_SIZE = Number(process.env.BENCH_PAGE_SIZE ?? 10_000);
const TASK_QUEUE = 'bench';
const ENTITY = 'bench_items';

const log = (m: string) => console.log(m);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

log(`SyncFlow sync benchmark: ${fmt(ROWS)} rows, pages of ${fmt(PAGE_SIZE)}, node ${process.version}`);
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
  const secrets = createSecretBox(newSecretKey());
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
  await saveEntity(
    prisma,
    entityConfigSchema.parse({
      name: ENTITY,
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
    }),
    { mode: 'live' },
  );

  const runSync = async (label: string, syncType: 'full' | 'incremental') => {
    peakRss = process.memoryUsage().rss;
    const started = performance.now();
    const [sync] = await startSync(
      { prisma, temporal: client, taskQueue: TASK_QUEUE },
      { entities: [ENTITY], syncType },
    );
    const handle = client.workflow.getHandle(syncWorkflowId(ENTITY));
    await handle.result();
    const wallMs = performance.now() - started;
    const batch = await prisma.syncBatch.findUniqueOrThrow({ where: { uid: sync!.batchUid } });
    const runs: Array<{ historyLength: number; historySizeBytes: number }> = [];
    for await (const execution of client.workflow.list({ query: `SyncBatchId = "${sync!.batchUid}"` })) {
      const d = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      runs.push({ historyLength: d.historyLength, historySizeBytes: Number(d.historySize ?? 0) });
    }
    const fetched = Number(batch.totalFetched);
    const result = {
      label,
      syncType,
      wallMs: Math.round(wallMs),
      rowsPerSecond: Math.round((Math.max(fetched, 1) / wallMs) * 1000),
      ratioToFloor: Math.round((wallMs / floor) * 100) / 100,
      fetched,
      inserted: Number(batch.inserted),
      updated: Number(batch.updated),
      skipped: Number(batch.skipped),
      failed: Number(batch.failed),
      pages: batch.pagesCompleted,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      workflowRuns: runs.length,
      historyEvents: runs.reduce((a, r) => a + r.historyLength, 0),
      maxHistoryBytesPerRun: Math.max(0, ...runs.map((r) => r.historySizeBytes)),
      stages: (batch.metrics as { stages?: unknown }).stages,
    };
    log(
      `  ${label.padEnd(26)} ${seconds(wallMs).padStart(9)}  ${fmt(result.rowsPerSecond).padStart(9)} rows/s  ` +
        `${String(result.ratioToFloor).padStart(5)}× floor  ins ${fmt(result.inserted)} upd ${fmt(result.updated)} ` +
        `skip ${fmt(result.skipped)} fail ${fmt(result.failed)}  RSS ${result.peakRssMb} MB  ` +
        `history ${fmt(result.historyEvents)} events / ${result.workflowRuns} runs`,
    );
    return result;
  };

  const full = await runSync('full sync (fused stages)', 'full');
  const resync = await runSync('resync, nothing changed', 'full');
  await pool.query(
    `UPDATE bench.items SET price = '1.00', row_version = nextval('bench.rv') WHERE (hashtext(part_no) & 1023) < 10`,
  );
  const incremental = await runSync('incremental, ~1% changed', 'incremental');

  // The same full sync with each stage its own activity (split), into a fresh table.
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
  const split = await runSync('full sync, split stages', 'full');
  log(
    `  six stage activities instead of one (split vs fused) cost ${Math.round((split.wallMs / full.wallMs - 1) * 100)}% of wall time`,
  );

  const report = {
    rows: ROWS,
    pageSize: PAGE_SIZE,
    node: process.version,
    cores: (await import('node:os')).availableParallelism(),
    date: new Date().toISOString(),
    floorMs: Math.round(floor),
    floorRunsMs: floorMs.map(Math.round),
    runs: [full, resync, incremental, split],
  };
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/sync-${ROWS}.json`;
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  // latest.json is the committed copy (the README quotes it); sync-<rows>.json files stay local.
  await writeFile('bench/results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
  log(`\nstage totals of the full sync (ms, summed over pages; pages overlap, so they exceed the wall time):`);
  for (const [stage, s] of Object.entries(full.stages as Record<string, { ms: number }>)) {
    log(`  ${stage.padEnd(10)} ${fmt(s.ms).padStart(8)} ms`);
  }
  log(`\nwritten to ${file}`);
  worker.shutdown();
  await workerDone;
  await connection.close();
} finally {
  clearInterval(rssSampler);
  await prisma.$disconnect();
  await pool.end();
  await infra.stop();
}
