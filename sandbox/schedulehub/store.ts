import type pg from 'pg';
import { createPool, quoteIdent } from '../../connectors/postgres/pool.ts';
import type { RecordInput, StoredWireRecord } from '../../connectors/schedulehub/protocol.ts';

/**
 * ScheduleHub's planning records, in PostgreSQL (schema sandbox_schedulehub
 * by default): one table keyed by (resource, bk_hash). Batch writes are one
 * statement each; the outcome per record comes from what the statement
 * returned (a bk_hash not returned was already there / was not found).
 */
const RECORDSET = `jsonb_to_recordset($2::jsonb) AS x(bk_hash text, data_hash text, rowversion text, ref text, data jsonb)`;
const COLUMNS = `uid::text, bk_hash, data_hash, rowversion, ref, data, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;

export class PlanningStore {
  readonly pool: pg.Pool;
  private readonly table: string;

  constructor(
    databaseUrl: string,
    readonly schema = 'sandbox_schedulehub',
  ) {
    this.pool = createPool(databaseUrl, 6);
    this.table = `${quoteIdent(schema)}.records`;
  }

  async init(): Promise<void> {
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)};
      CREATE TABLE IF NOT EXISTS ${this.table} (
        uid uuid PRIMARY KEY DEFAULT gen_random_uuid(), resource text NOT NULL, bk_hash text NOT NULL,
        data_hash text, rowversion text, ref text NOT NULL, data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (resource, bk_hash));`);
  }

  async byBkHashes(resource: string, bkHashes: string[]): Promise<StoredWireRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE resource = $1 AND bk_hash = ANY($2::text[]) ORDER BY bk_hash`,
      [resource, bkHashes],
    );
    return rows;
  }

  async byUid(resource: string, uid: string): Promise<StoredWireRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE resource = $1 AND uid::text = $2`,
      [resource, uid],
    );
    return rows[0] ?? null;
  }

  /** Inserts; answers the uid per bk_hash inserted (absent = it existed). */
  async insert(resource: string, records: RecordInput[]): Promise<Map<string, string>> {
    if (records.length === 0) return new Map();
    const { rows } = await this.pool.query(
      `INSERT INTO ${this.table} (resource, bk_hash, data_hash, rowversion, ref, data)
       SELECT $1, bk_hash, data_hash, rowversion, ref, data FROM ${RECORDSET}
       ON CONFLICT (resource, bk_hash) DO NOTHING RETURNING bk_hash, uid::text AS uid`,
      [resource, JSON.stringify(records)],
    );
    return new Map(rows.map((r) => [r.bk_hash, r.uid]));
  }

  /** Updates by bk_hash; answers the uid per bk_hash updated (absent = not found). */
  async update(resource: string, records: RecordInput[]): Promise<Map<string, string>> {
    if (records.length === 0) return new Map();
    const { rows } = await this.pool.query(
      `UPDATE ${this.table} AS r SET data_hash = x.data_hash, rowversion = x.rowversion, ref = x.ref, data = x.data, updated_at = now()
         FROM ${RECORDSET} WHERE r.resource = $1 AND r.bk_hash = x.bk_hash RETURNING r.bk_hash, r.uid::text AS uid`,
      [resource, JSON.stringify(records)],
    );
    return new Map(rows.map((r) => [r.bk_hash, r.uid]));
  }

  async updateByUid(resource: string, uid: string, record: RecordInput): Promise<StoredWireRecord | null> {
    const { rows } = await this.pool.query(
      `UPDATE ${this.table} SET bk_hash = $3, data_hash = $4, rowversion = $5, ref = $6, data = $7, updated_at = now()
        WHERE resource = $1 AND uid::text = $2 RETURNING ${COLUMNS}`,
      [resource, uid, record.bk_hash, record.data_hash, record.rowversion, record.ref, JSON.stringify(record.data)],
    );
    return rows[0] ?? null;
  }

  async delete(resource: string, bkHashes: string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query(
      `DELETE FROM ${this.table} WHERE resource = $1 AND bk_hash = ANY($2::text[]) RETURNING bk_hash, uid::text AS uid`,
      [resource, bkHashes],
    );
    return new Map(rows.map((r) => [r.bk_hash, r.uid]));
  }

  async deleteByUid(resource: string, uid: string): Promise<boolean> {
    const result = await this.pool.query(`DELETE FROM ${this.table} WHERE resource = $1 AND uid::text = $2`, [
      resource,
      uid,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async count(resource: string): Promise<number> {
    return Number(
      (await this.pool.query(`SELECT count(*) AS n FROM ${this.table} WHERE resource = $1`, [resource])).rows[0].n,
    );
  }

  /** Every record of a resource, for assertions and the demo. */
  async all(resource: string): Promise<StoredWireRecord[]> {
    return (
      await this.pool.query(`SELECT ${COLUMNS} FROM ${this.table} WHERE resource = $1 ORDER BY bk_hash`, [resource])
    ).rows;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
