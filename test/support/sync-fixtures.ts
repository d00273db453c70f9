import type pg from 'pg';
import type { BatchSummary } from '../../activities/contract.ts';
import { startSync } from '../../control/syncs.ts';
import { waitForSync } from '../../control/wait.ts';
import { saveEntity } from '../../db/entities.ts';
import { unaccounted } from '../../pipeline/accounting.ts';
import { type EntityConfigInput, entityConfigSchema } from '../../pipeline/entity-config.ts';
import { type Harness, LOCAL_CONNECTION } from './harness.ts';

/** Helpers for sync tests: a source table in the test database, entity registration, one sync run to its end. */
export interface ItemRow {
  part_no: string;
  plant: string;
  descr: string | null;
  price: string | null;
  due: string | null;
}

export async function createItemSource(pool: pg.Pool, schema: string, rows: ItemRow[]): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await pool.query(`CREATE SEQUENCE IF NOT EXISTS ${schema}.rv`);
  await pool.query(`CREATE TABLE ${schema}.items (
      part_no text NOT NULL, plant text NOT NULL, descr text, price text, due text,
      row_version bigint NOT NULL DEFAULT nextval('${schema}.rv'), PRIMARY KEY (part_no, plant))`);
  await insertItems(pool, schema, rows);
}

export async function insertItems(pool: pg.Pool, schema: string, rows: ItemRow[]): Promise<void> {
  if (rows.length === 0) return;
  await pool.query(
    `INSERT INTO ${schema}.items (part_no, plant, descr, price, due)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`,
    [
      rows.map((r) => r.part_no),
      rows.map((r) => r.plant),
      rows.map((r) => r.descr),
      rows.map((r) => r.price),
      rows.map((r) => r.due),
    ],
  );
}

export function itemRows(n: number, from = 0): ItemRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      part_no: `p-${String(i).padStart(6, '0')}`,
      plant: i % 2 === 0 ? 'DE01' : 'US02',
      descr: `  item\r\nnumber ${i}  `,
      price: i % 3 === 0 ? `(${i}.50)` : `${(i * 1000).toLocaleString('en-US')}.25`,
      due: i % 2 === 0 ? '2025-12-08' : '08.12.2025',
    };
  });
}

export function itemEntity(
  name: string,
  schema: string,
  overrides: Partial<EntityConfigInput> = {},
): EntityConfigInput {
  return {
    name,
    source: { type: 'postgres', connection: LOCAL_CONNECTION, schema, table: 'items' },
    targets: [{ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${name}_target` }],
    businessKey: ['part_no', 'plant'],
    rowversionField: 'rv',
    deletePolicy: 'hard',
    pageSize: 100,
    fields: [
      { source: 'part_no', target: 'part_no', transformation: 'uppercase', required: true },
      { source: 'plant', target: 'plant', required: true },
      { source: 'descr', target: 'description' },
      { source: 'price', target: 'price', type: 'NUMBER', range: { min: -1_000_000, max: 1_000_000_000 } },
      { source: 'due', target: 'due_date', type: 'DATE', required: true },
      { source: 'row_version', target: 'rv', type: 'bigint' },
    ],
    ...overrides,
  };
}

export async function registerEntity(h: Harness, input: EntityConfigInput) {
  return saveEntity(h.prisma, entityConfigSchema.parse(input));
}

export interface SyncRun {
  summary: BatchSummary;
  batchUid: string;
}

/** Starts a sync through the control layer (as the API does) and waits for its end. */
export async function runSync(
  h: Harness,
  entities: string[],
  syncType: 'full' | 'incremental',
  execute: boolean,
): Promise<SyncRun[]> {
  const started = await startSync(
    { prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue },
    { entities, syncType, execute },
  );
  const runs: SyncRun[] = [];
  for (const s of started) {
    const batch = await waitForBatch(h, s.batchUid);
    runs.push({ batchUid: s.batchUid, summary: batch });
  }
  return runs;
}

export async function waitForBatch(h: Harness, batchUid: string, timeoutMs = 120_000): Promise<BatchSummary> {
  const status = await waitForSync({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue }, batchUid, {
    timeoutMs,
    intervalMs: 100,
  });
  if (status.status === 'failed' && process.env.SYNC_TEST_DEBUG) console.error(status.error);
  const metrics = status.metrics as { rowsPerSecond?: number; elapsedMs?: number; estimatedCost?: number };
  return {
    batchUid,
    entityName: status.entityName,
    status: status.status as BatchSummary['status'],
    dryRun: status.dryRun,
    ...status.counts,
    rowsPerSecond: metrics.rowsPerSecond ?? 0,
    elapsedMs: metrics.elapsedMs ?? 0,
    estimatedCost: metrics.estimatedCost ?? 0,
  };
}

export const balanced = (s: BatchSummary) => unaccounted(s) === 0;
