import type pg from 'pg';
import type { ApplyBatch } from '../../pipeline/target-record.ts';
import { abortError, onAbort, throwIfAborted } from '../abort.ts';
import { ConnectorError } from '../errors.ts';
import { probe } from '../health.ts';
import type { ConnectorLogger } from '../logger.ts';
import type {
  ApplyOptions,
  ApplyResult,
  EnsureResult,
  RecordError,
  SegmentChecksumRequest,
  StoredRecord,
  Target,
  TargetField,
} from '../types.ts';
import { planBatch } from './batch-plan.ts';
import { bisectFailures } from './bisect.ts';
import { databaseError, isRowLevelError, sqlState } from './errors.ts';
import { qualified, quoteIdent } from './pool.ts';
import { type SegmentQuery, segmentChecksumsOf, segmentRowsOf } from './segments.ts';
import {
  copyIntoStage,
  copyIntoTable,
  createStageSql,
  directColumnList,
  encodeDirectRows,
  encodeStagedRows,
  type StagedRow,
  stageName,
} from './staging.ts';
import { type DataColumn, ensureTable, isSystemColumn, readDataColumns } from './target-schema.ts';

export interface PostgresTargetOptions {
  pool: pg.Pool;
  schema: string;
  table: string;
  logger: ConnectorLogger;
  ownsPool: boolean;
}

const CONNECTOR = 'postgres';
/** A reconcile's checksum scan of one target table (1M rows take a couple of seconds). */
const SEGMENT_STATEMENT_TIMEOUT_MS = 300_000;

/**
 * A table keyed by bk_hash, written in bulk: each batch's inserts are COPYed
 * straight into the table; its updates and deletes are COPYed into a staging
 * table, then ONE `INSERT … ON CONFLICT (erp_key_hash) DO UPDATE` and ONE
 * `DELETE` (or soft-delete UPDATE) apply them, all in one transaction. An
 * insert the table already holds sends the whole batch the staged way. A row the
 * database refuses (bad value, constraint) is found by bisection and reported
 * on its own record; the rest of the batch still lands.
 */
export class PostgresTarget implements Target {
  readonly kind = 'postgres' as const;
  private columns: DataColumn[] | null = null;
  private readonly table: string;

  constructor(private readonly options: PostgresTargetOptions) {
    this.table = qualified(options.schema, options.table);
  }

  async ensure(fields: TargetField[]): Promise<EnsureResult> {
    try {
      const result = await ensureTable(this.options.pool, this.options.schema, this.options.table, fields);
      this.columns = null;
      if (result.created || result.addedFields.length > 0) {
        this.options.logger.info(`postgres target ${this.options.schema}.${this.options.table} ensured`, { ...result });
      }
      return result;
    } catch (error) {
      throw databaseError(error, CONNECTOR, 'ensure');
    }
  }

  async apply(batch: ApplyBatch, options: ApplyOptions = {}): Promise<ApplyResult[]> {
    const columns = await this.dataColumns();
    const plan = planBatch(batch, new Set(columns.map((c) => c.name)));
    if (plan.staged.length > 0) {
      const failures = await this.write(
        plan.staged,
        plan.insertCount,
        plan.upsertCount,
        columns,
        options.softDelete === true,
        options.signal,
      );
      for (const [seq, error] of failures) plan.failStaged(seq, recordError(error));
    }
    return plan.results();
  }

  async fetchByBkHash(bkHashes: string[]): Promise<StoredRecord[]> {
    if (bkHashes.length === 0) return [];
    try {
      const { rows } = await this.options.pool.query(
        `SELECT * FROM ${this.table} WHERE erp_key_hash = ANY($1::text[])`,
        [bkHashes],
      );
      return rows.map((row: Record<string, unknown>) => ({
        bkHash: row.erp_key_hash as string,
        dataHash: (row.erp_data_hash as string | null) ?? null,
        rowversion: (row.erp_rowversion as string | null) ?? null,
        refStr: (row.erp_ref_str as string | null) ?? null,
        targetUid: row.erp_key_hash as string,
        deletedAt: (row.erp_deleted_at as string | null) ?? null,
        data: Object.fromEntries(Object.entries(row).filter(([name]) => !isSystemColumn(name))),
      }));
    } catch (error) {
      throw databaseError(error, CONNECTOR, 'fetch by bk_hash');
    }
  }

  segmentChecksums(request: SegmentChecksumRequest) {
    return this.readOnly('segment checksums', request.signal, (client) =>
      segmentChecksumsOf(client, this.segmentQuery(), request.prefixLength, request.within),
    );
  }

  segmentRows(prefixes: string[], options: { signal?: AbortSignal } = {}) {
    return this.readOnly('segment rows', options.signal, (client) =>
      segmentRowsOf(client, this.segmentQuery(), prefixes),
    );
  }

  private segmentQuery(): SegmentQuery {
    return {
      from: this.table,
      keyColumn: 'erp_key_hash',
      dataColumn: 'erp_data_hash',
      refColumn: 'erp_ref_str',
      where: ['erp_deleted_at IS NULL'],
      params: [],
    };
  }

  /**
   * A client of the pool, and how to cancel the statement it runs now (on abort: the transaction then rolls back;
   * the caller starts no further statement).
   */
  private async connect(operation: string, signal: AbortSignal | undefined) {
    throwIfAborted(signal);
    const client = await this.options.pool.connect().catch((error) => {
      throw databaseError(error, CONNECTOR, operation);
    });
    const cancelStatement = () => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) this.options.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    return { client, cancelStatement };
  }

  /** A read-only transaction under a statement timeout; an abort cancels the statement running. */
  private async readOnly<T>(
    operation: string,
    signal: AbortSignal | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ) {
    const { client, cancelStatement } = await this.connect(operation, signal);
    let broken = false;
    try {
      return await onAbort(signal, cancelStatement, async () => {
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL statement_timeout = '${SEGMENT_STATEMENT_TIMEOUT_MS}'`);
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      });
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => {});
      if (signal?.aborted) throw abortError(signal);
      throw databaseError(error, CONNECTOR, operation);
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  health() {
    return probe(async () => {
      const { rows } = await this.options.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
        this.table,
      ]);
      if (!rows[0]?.t)
        throw new Error(`${this.options.schema}.${this.options.table} does not exist yet (ensure creates it)`);
    });
  }

  async close(): Promise<void> {
    if (this.options.ownsPool) await this.options.pool.end();
  }

  private async dataColumns(): Promise<DataColumn[]> {
    if (this.columns) return this.columns;
    const columns = await readDataColumns(this.options.pool, this.options.schema, this.options.table).catch((error) => {
      throw databaseError(error, CONNECTOR, 'apply');
    });
    if (!columns) {
      throw new ConnectorError(
        `${this.options.schema}.${this.options.table} does not exist: call ensure(fields) first`,
        {
          connector: CONNECTOR,
          operation: 'apply',
          code: 'config',
          transient: false,
        },
      );
    }
    this.columns = columns;
    return columns;
  }

  /**
   * One transaction: the inserts COPYed straight into the table, the rest COPYed to the stage, upsert, delete.
   * Returns the staged rows the database refused, by seq.
   *
   * An insert the table already holds (a page redone after its worker died between INGEST and TRACK, so DELTA
   * says INSERT again; a child released twice) makes the direct COPY fail with a unique violation: the direct
   * part is rolled back to its savepoint and the whole batch goes through the staged upsert, as before issue 15.
   */
  private async write(
    staged: StagedRow[],
    insertCount: number,
    upsertCount: number,
    columns: DataColumn[],
    softDelete: boolean,
    signal?: AbortSignal,
  ) {
    const stage = stageName(this.table, columns);
    const stageRef = quoteIdent(stage);
    const { client, cancelStatement } = await this.connect('apply', signal);
    let broken = false;
    try {
      return await onAbort(signal, cancelStatement, async () => {
        await client.query('BEGIN');
        const inSavepoint = async (work: () => Promise<unknown>) => {
          throwIfAborted(signal);
          await client.query('SAVEPOINT sf_rows');
          try {
            await work();
            await client.query('RELEASE SAVEPOINT sf_rows');
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT sf_rows');
            throw error;
          }
        };
        const direct =
          insertCount > 0 ? await this.copyInserts(client, staged, insertCount, columns, inSavepoint) : null;
        // The seqs the stage takes: the updates and deletes, or everything when the direct COPY fell back.
        const from = direct ? insertCount : 0;
        if (from >= staged.length) {
          throwIfAborted(signal);
          await client.query('COMMIT');
          return direct ?? new Map();
        }
        await client.query(createStageSql(stage, columns));
        const lines = encodeStagedRows(from === 0 ? staged : staged.slice(from), columns);
        const failures = await bisectFailures(
          from,
          staged.length - 1,
          (lo, hi) => inSavepoint(() => copyIntoStage(client, stage, columns, lines, lo - from, hi - from)),
          isRowLevelError,
        );
        const upsertSql = this.upsertSql(stageRef, columns);
        const upsertFailures = await bisectFailures(
          from,
          upsertCount - 1,
          (lo, hi) => inSavepoint(() => client.query(upsertSql, [lo, hi])),
          isRowLevelError,
        );
        const deleteSql = softDelete ? this.softDeleteSql(stageRef) : this.deleteSql(stageRef);
        const deleteFailures = await bisectFailures(
          upsertCount,
          staged.length - 1,
          (lo, hi) => inSavepoint(() => client.query(deleteSql, [lo, hi])),
          isRowLevelError,
        );
        throwIfAborted(signal);
        await client.query('COMMIT');
        return new Map([...(direct ?? []), ...failures, ...upsertFailures, ...deleteFailures]);
      });
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => {});
      if (signal?.aborted) throw abortError(signal);
      throw databaseError(error, CONNECTOR, 'apply');
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  /**
   * COPYs staged rows 0..insertCount-1 straight into the table, a row-level failure found per record by
   * bisection. Returns those failures, or null when a row was already there (unique violation): everything the
   * direct COPY wrote is then rolled back and the caller stages the inserts with the updates.
   */
  private async copyInserts(
    client: pg.PoolClient,
    staged: StagedRow[],
    insertCount: number,
    columns: DataColumn[],
    inSavepoint: (work: () => Promise<unknown>) => Promise<void>,
  ): Promise<Map<number, unknown> | null> {
    // synced_at as the upsert writes it: the transaction's now().
    const { rows } = await client.query<{ now: string }>('SELECT now()::text AS now');
    const lines = encodeDirectRows(
      insertCount === staged.length ? staged : staged.slice(0, insertCount),
      columns,
      rows[0]!.now,
    );
    const columnList = directColumnList(columns);
    await client.query('SAVEPOINT sf_direct');
    try {
      const failures = await bisectFailures(
        0,
        insertCount - 1,
        (lo, hi) => inSavepoint(() => copyIntoTable(client, this.table, columnList, lines, lo, hi)),
        // A row already in the table is not the record's fault: not bisected, the whole batch is staged instead.
        (error) => isRowLevelError(error) && !isUniqueViolation(error),
      );
      await client.query('RELEASE SAVEPOINT sf_direct');
      return failures;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT sf_direct');
      await client.query('RELEASE SAVEPOINT sf_direct');
      this.options.logger.debug(
        `postgres target ${this.options.schema}.${this.options.table}: inserts already present, upserted instead`,
      );
      return null;
    }
  }

  private upsertSql(stage: string, columns: DataColumn[]): string {
    const names = columns.map((c) => quoteIdent(c.name));
    const set = names.map((n) => `${n} = EXCLUDED.${n}`);
    return `INSERT INTO ${this.table} AS t (erp_key_hash, ${[...names, 'erp_data_hash', 'erp_rowversion', 'erp_ref_str', 'synced_at', 'erp_deleted_at'].join(', ')})
      SELECT bk_hash, ${[...names, 'data_hash', 'rowversion', 'ref_str', 'now()', 'NULL::timestamptz'].join(', ')}
        FROM ${stage} WHERE op = 'u' AND seq BETWEEN $1 AND $2
      ON CONFLICT (erp_key_hash) DO UPDATE SET ${[...set, 'erp_data_hash = EXCLUDED.erp_data_hash', 'erp_rowversion = EXCLUDED.erp_rowversion', 'erp_ref_str = EXCLUDED.erp_ref_str', 'synced_at = EXCLUDED.synced_at', 'erp_deleted_at = NULL'].join(', ')}
      -- Unchanged records are left alone: a replayed batch writes nothing (idempotent, no dead tuples).
      WHERE t.erp_data_hash IS DISTINCT FROM EXCLUDED.erp_data_hash
         OR t.erp_rowversion IS DISTINCT FROM EXCLUDED.erp_rowversion
         OR t.erp_ref_str IS DISTINCT FROM EXCLUDED.erp_ref_str
         OR t.erp_deleted_at IS NOT NULL`;
  }

  private deleteSql(stage: string): string {
    return `DELETE FROM ${this.table} AS t USING ${stage} AS s
      WHERE s.op = 'd' AND s.seq BETWEEN $1 AND $2 AND t.erp_key_hash = s.bk_hash`;
  }

  private softDeleteSql(stage: string): string {
    return `UPDATE ${this.table} AS t SET erp_deleted_at = now(), synced_at = now() FROM ${stage} AS s
      WHERE s.op = 'd' AND s.seq BETWEEN $1 AND $2 AND t.erp_key_hash = s.bk_hash AND t.erp_deleted_at IS NULL`;
  }
}

const isUniqueViolation = (error: unknown) => sqlState(error) === '23505';

function recordError(error: unknown): RecordError {
  const state = sqlState(error) ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const detail = (error as { detail?: string }).detail;
  if (state === '23503') {
    // The referenced row may arrive later (a parent in a later batch): worth retrying.
    return { type: 'foreign_key_violation', message, permanent: false };
  }
  const type = state.startsWith('23') ? 'constraint_violation' : 'invalid_value';
  return { type, message: detail ? `${message} (${detail})` : message, permanent: true };
}
