/**
 * Records real workflow histories for the replay test (`npm run record:histories`).
 *
 * Brings up a throwaway PostgreSQL and Temporal dev server (the project's own infra), runs a handful of small
 * syncs through the real worker and control layer, and writes each workflow's history to
 * test/fixtures/histories/<name>.json. test/unit/workflows/replay.test.ts replays every file there against the
 * current workflow code: a change that is not deterministic against them fails.
 *
 * Re-record after an intended change of the workflows (guarded by `patched()`, see Versioning in the README), and
 * keep the old files as long as the old branch is in the code: rename them first (e.g.
 * `sync-entity-full.before-<patch-id>.json`), since this script overwrites files of the same name.
 * Pass file names to record only those (`npm run record:histories -- sync-entity-full`); default: all.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { connectionConfigSchema } from '../connectors/connections.ts';
import { createPool } from '../connectors/postgres/pool.ts';
import { createSecretBox, newSecretKey } from '../connectors/secret-box.ts';
import { setBackground, startBackground } from '../control/background.ts';
import { approveMigration, getMigration, startMigration } from '../control/migrations.ts';
import { startReconcile } from '../control/reconciles.ts';
import { startReplay } from '../control/replays.ts';
import { deleteSchedules, setSchedule, triggerSchedule } from '../control/schedules.ts';
import { type ControlDeps, startSync } from '../control/syncs.ts';
import { waitForSync } from '../control/wait.ts';
import { saveConnection } from '../db/connections.ts';
import { saveEntity, setEntityMode } from '../db/entities.ts';
import { createPrisma } from '../db/prisma.ts';
import { startInfrastructure } from '../infra/index.ts';
import { clockTimeAt } from '../pipeline/background/window.ts';
import { type EntityConfigInput, entityConfigSchema } from '../pipeline/entity-config.ts';
import { historyToJSON } from '../test/support/history-json.ts';
import { createWorker } from '../worker/create-worker.ts';
import {
  backgroundWorkflowId,
  PAUSE_SIGNAL,
  pauseUpdate,
  RESUME_SIGNAL,
  SYNC_ENTITY_WORKFLOW,
  type SyncEntityInput,
  stopUpdate,
} from '../workflows/contract.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';

const OUT = new URL('../test/fixtures/histories/', import.meta.url);
const TASK_QUEUE = 'record-histories';
const SCHEMA = 'rec';
const only = new Set(process.argv.slice(2));
const log = (m: string) => console.log(m);

const infra = await startInfrastructure({
  throwaway: true,
  searchAttributes: searchAttributeKeys,
  log: (m) => log(`  ${m}`),
});
const pool = createPool(infra.database.url, 4);
const prisma = createPrisma(infra.database.url);
const secrets = createSecretBox(newSecretKey());
const connection = await Connection.connect(infra.temporal.connectionOptions);
const client = new Client({ connection, namespace: infra.temporal.namespace });
const deps: ControlDeps = { prisma, temporal: client, taskQueue: TASK_QUEUE };
const worker = await createWorker({
  connectionOptions: infra.temporal.connectionOptions,
  namespace: infra.temporal.namespace,
  taskQueue: TASK_QUEUE,
  deps: { prisma, databaseUrl: infra.database.url, secrets },
});
const workerDone = worker.run();

const written: string[] = [];
/** Writes one execution's history (the run given, or the latest run of the id). */
async function record(name: string, handle: { workflowId: string; runId?: string }) {
  if (only.size > 0 && !only.has(name)) return;
  const history = await client.workflow.getHandle(handle.workflowId, handle.runId).fetchHistory();
  const file = new URL(`${name}.json`, OUT);
  await writeFile(file, historyToJSON(history));
  written.push(`${name}.json: ${history.events?.length ?? 0} events`);
  log(`  recorded ${name} (${history.events?.length ?? 0} events)`);
}

async function runOne(entity: string, syncType: 'full' | 'incremental') {
  const [sync] = await startSync(deps, { entities: [entity], syncType, execute: true });
  const status = await waitForSync(deps, sync!.batchUid, { timeoutMs: 120_000, intervalMs: 100 });
  log(`  ${entity} ${syncType}: ${status.status} ${JSON.stringify(status.counts)}`);
  if (status.status !== 'completed') throw new Error(`the ${entity} sync ended ${status.status}`);
  return sync!;
}

/** A full sync of items started directly (not through startSync), two pages per execution: continue-as-new in the history. */
const startItemsInSmallRuns = (batchUid: string) =>
  client.workflow.start(SYNC_ENTITY_WORKFLOW, {
    taskQueue: TASK_QUEUE,
    workflowId: 'sync-items',
    args: [
      { batchUid, entityName: 'items', syncType: 'full', dryRun: false, pagesPerRun: 2 } satisfies SyncEntityInput,
    ],
  });

const itemRow = (i: number) => [
  `p-${String(i).padStart(4, '0')}`,
  i % 2 === 0 ? 'DE01' : 'US02',
  `item ${i}`,
  `${i}.25`,
  i % 2 === 0 ? '2025-12-08' : '08.12.2025',
];
const addItems = (from: number, to: number) => {
  const rows = Array.from({ length: to - from }, (_, k) => itemRow(from + k));
  return pool.query(
    `INSERT INTO ${SCHEMA}.items (part_no, plant, descr, price, due)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`,
    [0, 1, 2, 3, 4].map((c) => rows.map((r) => r[c])),
  );
};
const addOrders = (rows: Array<[string, string, string, number]>) =>
  pool.query(
    `INSERT INTO ${SCHEMA}.orders (order_no, part_no, plant, qty)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])`,
    [0, 1, 2, 3].map((c) => rows.map((r) => r[c])),
  );
const saveConfig = (config: EntityConfigInput) =>
  saveEntity(prisma, entityConfigSchema.parse(config), { mode: 'live' });

try {
  await mkdir(OUT, { recursive: true });
  // The throwaway database holds SyncFlow's tables and the sources and targets, behind one connection.
  await saveConnection(
    prisma,
    {
      name: 'local',
      config: connectionConfigSchema.parse({ type: 'postgres', url: { value: infra.database.url }, maxConnections: 4 }),
    },
    secrets,
  );
  await pool.query(`CREATE SCHEMA ${SCHEMA}; CREATE SEQUENCE ${SCHEMA}.rv`);
  await pool.query(`CREATE TABLE ${SCHEMA}.items (part_no text NOT NULL, plant text NOT NULL, descr text, price text,
      due text, row_version bigint NOT NULL DEFAULT nextval('${SCHEMA}.rv'), PRIMARY KEY (part_no, plant))`);
  await pool.query(`CREATE TABLE ${SCHEMA}.orders (order_no text PRIMARY KEY, part_no text, plant text, qty int,
      row_version bigint NOT NULL DEFAULT nextval('${SCHEMA}.rv'))`);
  await addItems(0, 350);
  await addOrders([
    ...Array.from(
      { length: 150 },
      (_, i) => [`o-${i}`, itemRow(i)[0]!, itemRow(i)[1]!, i + 1] as [string, string, string, number],
    ),
    ['o-orphan', 'p-9999', 'DE01', 1],
  ]);
  const items: EntityConfigInput = {
    name: 'items',
    source: { type: 'postgres', connection: 'local', schema: SCHEMA, table: 'items' },
    targets: [{ type: 'postgres', name: 'main', connection: 'local', schema: SCHEMA, table: 'items_target' }],
    businessKey: ['part_no', 'plant'],
    rowversionField: 'rv',
    deletePolicy: 'hard',
    pageSize: 100,
    fields: [
      { source: 'part_no', target: 'part_no', transformation: 'uppercase', required: true },
      { source: 'plant', target: 'plant', required: true },
      { source: 'descr', target: 'description' },
      { source: 'price', target: 'price', type: 'NUMBER' },
      { source: 'due', target: 'due_date', type: 'DATE', required: true },
      { source: 'row_version', target: 'rv', type: 'bigint' },
    ],
  };
  await saveConfig(items);
  await saveConfig({
    name: 'orders',
    source: { type: 'postgres', connection: 'local', schema: SCHEMA, table: 'orders' },
    targets: [{ type: 'postgres', name: 'main', connection: 'local', schema: SCHEMA, table: 'orders_target' }],
    businessKey: ['order_no'],
    rowversionField: 'rv',
    pageSize: 100,
    stageActivities: 'split', // items runs fused (the default): both page paths are recorded
    childRetryBaseSeconds: 0.2,
    maxChildRetries: 3,
    childWaitSeconds: 10,
    fields: [
      { source: 'order_no', target: 'order_no', required: true },
      { source: 'part_no', target: 'part_no', transformation: 'uppercase' },
      { source: 'plant', target: 'plant' },
      { source: 'qty', target: 'qty', type: 'integer' },
      { source: 'row_version', target: 'rv', type: 'bigint' },
    ],
    parents: [{ entity: 'items', fields: { part_no: 'part_no', plant: 'plant' } }],
  });

  // 1. A full sync of 350 rows in pages of 100 (the smallest; fused stages): four pages, nothing to delete.
  const full = await runOne('items', 'full');
  await record('sync-entity-full', { workflowId: full.workflowId });

  // 2. A full sync after two rows left the source and one changed: deletes propagated.
  await pool.query(`DELETE FROM ${SCHEMA}.items WHERE part_no IN ('p-0348', 'p-0349')`);
  await pool.query(
    `UPDATE ${SCHEMA}.items SET price = '7.00', row_version = nextval('${SCHEMA}.rv') WHERE part_no = 'p-0001'`,
  );
  const deletes = await runOne('items', 'full');
  await record('sync-entity-full-deletes', { workflowId: deletes.workflowId });

  // 3. An incremental sync after ten new rows.
  await addItems(350, 360);
  const incremental = await runOne('items', 'incremental');
  await record('sync-entity-incremental', { workflowId: incremental.workflowId });

  // 4. Paused, resumed and continued as new: two pages per execution (the first and the last execution recorded).
  await addItems(360, 400);
  const pausedBatch = crypto.randomUUID();
  const started = await startItemsInSmallRuns(pausedBatch);
  await started.signal(PAUSE_SIGNAL);
  for (let i = 0; i < 100; i++) {
    const row = await prisma.syncBatch.findUnique({ where: { uid: pausedBatch } });
    if (row?.status === 'paused') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await started.signal(RESUME_SIGNAL);
  await started.result();
  await record('sync-entity-paused-continued', { workflowId: started.workflowId, runId: started.firstExecutionRunId });
  await record('sync-entity-continued', { workflowId: started.workflowId }); // the last run: it starts from `resume`

  // 4b. Paused by the update, then stopped by the stop update while paused (the batch closes cancelled).
  await addItems(400, 440);
  const stopping = await startItemsInSmallRuns(crypto.randomUUID());
  await stopping.executeUpdate(pauseUpdate);
  const stopped = await stopping.executeUpdate(stopUpdate);
  log(`  stopped: ${stopped.phase}, ${JSON.stringify(stopped.counts)}`);
  await stopping.result();
  await record('sync-entity-paused-stopped', { workflowId: stopping.workflowId });

  // 5. Parents and children in one request (syncEntities, parents first); the orphan order waits for its parent
  //    with backoff (timers in the child's history) and goes to the DLQ after the retry limit.
  const group = await startSync(deps, { entities: ['orders', 'items'], syncType: 'full', execute: true });
  for (const s of group) {
    const status = await waitForSync(deps, s.batchUid, { timeoutMs: 120_000, intervalMs: 100 });
    log(`  group ${s.entityName}: ${status.status} ${JSON.stringify(status.counts)}`);
  }
  let groupId: string | undefined;
  for (let i = 0; i < 50 && !groupId; i++) {
    for await (const execution of client.workflow.list({ query: `WorkflowType = 'syncEntities'` })) {
      groupId = execution.workflowId;
    }
    if (!groupId) await new Promise((r) => setTimeout(r, 200));
  }
  if (!groupId) throw new Error('the syncEntities execution was not found');
  await client.workflow.getHandle(groupId).result();
  await record('sync-entities', { workflowId: groupId });
  await record('sync-entity-children-waiting', { workflowId: 'sync-orders' });

  // 6. The background retry of waiting children: an orphan left waiting by a sync that does not wait for it.
  await pool.query(
    `UPDATE entities SET config = config || '{"childWaitSeconds": 0}'::jsonb, config_version = config_version + 1
      WHERE name = 'orders'`,
  );
  await addOrders([['o-orphan-late', 'p-8888', 'DE01', 1]]);
  await runOne('orders', 'incremental');
  await new Promise((r) => setTimeout(r, 500)); // past the first retry's due time
  const retry = await client.workflow.start('retryWaitingChildren', {
    taskQueue: TASK_QUEUE,
    workflowId: 'retry-waiting-children',
    args: [],
  });
  log(`  retry: ${JSON.stringify(await retry.result())}`);
  await record('retry-waiting-children', { workflowId: retry.workflowId });

  // 7. A background load of items in a window open now: one night reads it all (one day planned) and completes;
  //    its night's batch is a syncEntity child of type background.
  await setBackground(deps, 'items', {
    windowStart: clockTimeAt(Date.now() - 60_000, 'UTC'),
    windowEnd: clockTimeAt(Date.now() + 10 * 60_000, 'UTC'),
    timeZone: 'UTC',
    targetDays: 1,
  });
  await startBackground(deps, 'items');
  const loadResult = await client.workflow.getHandle(backgroundWorkflowId('items')).result();
  log(`  background: ${JSON.stringify(loadResult)}`);
  await record('background-sync', { workflowId: backgroundWorkflowId('items') });
  await record('sync-entity-background', { workflowId: 'sync-items' });

  // 8. A scheduled incremental sync of items, triggered: scheduledSync runs the entity's syncEntity as its child.
  await setSchedule(deps, 'items', { kind: 'incremental', every: '1h', paused: true });
  await triggerSchedule(deps, 'items', 'incremental');
  let scheduled: string | undefined;
  while (!scheduled) {
    for await (const execution of client.workflow.list({ query: `WorkflowType = 'scheduledSync'` })) {
      scheduled = execution.workflowId;
    }
    if (!scheduled) await new Promise((r) => setTimeout(r, 200));
  }
  log(`  scheduled: ${JSON.stringify(await client.workflow.getHandle(scheduled).result())}`);
  await record('scheduled-sync', { workflowId: scheduled });
  await deleteSchedules(deps, 'items');

  // 9. A replay of items' dead letters: one row whose date does not parse fails NORMALIZE again on replay (an
  //    attempt recorded); replayDeadLetters runs the entity's syncEntity (type replay) as its child.
  await pool.query(
    `INSERT INTO ${SCHEMA}.items (part_no, plant, descr, price, due) VALUES ('p-bad-date', 'DE01', 'x', '1', 'soon')`,
  );
  await runOne('items', 'incremental');
  const replay = await startReplay(deps, { entity: 'items', all: true });
  log(`  replay: ${JSON.stringify(await client.workflow.getHandle(replay.workflowId).result())}`);
  await record('replay-dead-letters', { workflowId: replay.workflowId });
  await record('sync-entity-replay', { workflowId: replay.syncWorkflowId });

  // 10. A reconcile of items with repair: a row deleted from its target by hand is found missing (segment
  //     checksums), queued for the write path, re-sent by the entity's syncEntity (full) as the reconcile's child,
  //     and verified.
  await pool.query(
    `DELETE FROM ${SCHEMA}.items_target WHERE erp_key_hash = (SELECT min(erp_key_hash) FROM ${SCHEMA}.items_target)`,
  );
  const reconcile = await startReconcile(deps, { entity: 'items', repair: true });
  log(`  reconcile: ${JSON.stringify(await client.workflow.getHandle(reconcile.workflowId).result())}`);
  await record('reconcile', { workflowId: reconcile.workflowId });

  // 11. A store migration of items from its table to another, approved step by step (each approval an Update):
  //     shadow, the backfill's full sync (a scheduledSync child), verify's reconcile with repair, cutover, one
  //     soak reconcile of both, retire.
  await setEntityMode(prisma, 'items', 'live');
  const migration = await startMigration(deps, {
    entity: 'items',
    from: 'main',
    to: { type: 'postgres', name: 'moved', connection: 'local', schema: SCHEMA, table: 'items_moved' },
    soakMinutes: 0,
  });
  for (;;) {
    const view = await getMigration(deps, migration.id);
    if (view.status !== 'running') {
      log(`  migration: ${view.status} ${view.steps.map((st) => `${st.step}:${st.status}`).join(' ')}`);
      break;
    }
    if (view.waitingFor) await approveMigration(deps, migration.id, { step: view.waitingFor.step });
    else await new Promise((r) => setTimeout(r, 200));
  }
  await record('migrate-target', { workflowId: migration.workflowId });

  log(`\nwritten to ${OUT.pathname}:\n${written.map((w) => `  ${w}`).join('\n')}`);
} finally {
  worker.shutdown();
  await workerDone.catch((e) => log(`worker: ${(e as Error).message}`));
  await connection.close();
  await prisma.$disconnect();
  await pool.end();
  await infra.stop();
}
