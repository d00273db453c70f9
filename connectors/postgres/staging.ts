import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type CopyEncoder, copyLine, encoderFor } from './copy-text.ts';
import { quoteIdent } from './pool.ts';
import type { DataColumn } from './target-schema.ts';

/**
 * The per-session temporary table a batch is COPYed into before one
 * set-based upsert. `ON COMMIT DELETE ROWS` empties it at every commit, so it
 * is created once per connection and reused (no catalogue churn per batch);
 * its name hashes the column list so a widened target gets a fresh one.
 */
export const STAGE_HEAD = ['seq', 'op', 'bk_hash', 'data_hash', 'rowversion', 'ref_str'] as const;

export interface StagedRow {
  seq: number;
  op: 'u' | 'd';
  bkHash: string;
  dataHash: string | null;
  rowversion: string | null;
  refStr: string | null;
  data: Record<string, unknown> | null;
}

export function stageName(targetKey: string, columns: DataColumn[]): string {
  const signature = [targetKey, ...columns.map((c) => `${c.name}:${c.type}`)].join('|');
  return `sf_stage_${createHash('sha1').update(signature).digest('hex').slice(0, 16)}`;
}

export function createStageSql(name: string, columns: DataColumn[]): string {
  const definitions = [
    'seq integer NOT NULL',
    'op "char" NOT NULL',
    'bk_hash text NOT NULL',
    'data_hash text',
    'rowversion text',
    'ref_str text',
    ...columns.map((c) => `${quoteIdent(c.name)} ${c.type}`),
  ];
  return `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(name)} (${definitions.join(', ')}) ON COMMIT DELETE ROWS`;
}

/** Encodes every staged row once; bisection then re-sends slices of these lines. */
export function encodeStagedRows(rows: StagedRow[], columns: DataColumn[]): string[] {
  const encoders: CopyEncoder[] = [
    String,
    String,
    String,
    ...[0, 0, 0].map(() => encoderFor('string')),
    ...columns.map((c) => encoderFor(c.kind)),
  ];
  const values: unknown[] = new Array(encoders.length);
  return rows.map((row) => {
    values[0] = row.seq;
    values[1] = row.op;
    values[2] = row.bkHash;
    values[3] = row.dataHash;
    values[4] = row.rowversion;
    values[5] = row.refStr;
    for (let i = 0; i < columns.length; i++) values[6 + i] = row.data ? row.data[columns[i]!.name] : null;
    return copyLine(values, encoders);
  });
}

/**
 * What a direct COPY into the target writes per row (issue 15: rows DELTA classed as INSERT skip the stage):
 * the data columns, then the system columns, synced_at being the transaction's now() as the upsert writes it.
 */
export function directColumnList(columns: DataColumn[]): string {
  return [
    'erp_key_hash',
    ...columns.map((c) => c.name),
    'erp_data_hash',
    'erp_rowversion',
    'erp_ref_str',
    'synced_at',
    'erp_deleted_at',
  ]
    .map(quoteIdent)
    .join(', ');
}

/** Encodes upsert rows for a direct COPY into the target ({@link directColumnList}'s order). */
export function encodeDirectRows(rows: StagedRow[], columns: DataColumn[], syncedAt: string): string[] {
  const text = encoderFor('string');
  const encoders: CopyEncoder[] = [String, ...columns.map((c) => encoderFor(c.kind)), text, text, text, text, text];
  const values: unknown[] = new Array(encoders.length);
  const tail = 1 + columns.length;
  return rows.map((row) => {
    values[0] = row.bkHash;
    for (let i = 0; i < columns.length; i++) values[1 + i] = row.data ? row.data[columns[i]!.name] : null;
    values[tail] = row.dataHash;
    values[tail + 1] = row.rowversion;
    values[tail + 2] = row.refStr;
    values[tail + 3] = syncedAt;
    values[tail + 4] = null;
    return copyLine(values, encoders);
  });
}

const CHUNK_LINES = 2000;

function* chunks(lines: readonly string[], lo: number, hi: number): Generator<string> {
  for (let start = lo; start <= hi; start += CHUNK_LINES) {
    yield lines.slice(start, Math.min(hi + 1, start + CHUNK_LINES)).join('');
  }
}

/** COPYs lines lo..hi into `table` (a quoted or qualified name), in the order of `columnList`, with backpressure. */
export async function copyIntoTable(
  client: pg.PoolClient,
  table: string,
  columnList: string,
  lines: readonly string[],
  lo: number,
  hi: number,
) {
  const sink = client.query(copyFrom(`COPY ${table} (${columnList}) FROM STDIN`));
  await pipeline(Readable.from(chunks(lines, lo, hi)), sink);
}

/** COPYs lines lo..hi into the stage (text format). */
export function copyIntoStage(
  client: pg.PoolClient,
  name: string,
  columns: DataColumn[],
  lines: string[],
  lo: number,
  hi: number,
) {
  const columnList = [...STAGE_HEAD, ...columns.map((c) => c.name)].map(quoteIdent).join(', ');
  return copyIntoTable(client, quoteIdent(name), columnList, lines, lo, hi);
}
