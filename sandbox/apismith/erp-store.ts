import type pg from 'pg';
import { createPool, qualified, quoteIdent } from '../../connectors/postgres/pool.ts';
import { storageType } from './erp-types.ts';

export interface ErpColumn {
  name: string;
  /** The ERP type, e.g. VARCHAR2(40), NUMBER(12,2), DATE, TIMESTAMP, CLOB, RAW(16). */
  type: string;
  nullable?: boolean;
}

export interface ErpTableDefinition {
  name: string;
  columns: ErpColumn[];
  primaryKey: string[];
}

export interface ApiRegistration {
  slug: string;
  table: string;
  name?: string;
  description?: string;
  connectorId?: string;
}

export interface RegisteredApi {
  slug: string;
  name: string;
  connector_id: string;
  description: string | null;
  table_name: string;
  key_columns: string[];
  rowversion_column: string | null;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
}

export type ErpRow = Record<string, unknown>;

/** Every ERP table gets this column, bumped on every insert and update (like SQL Server rowversion / Oracle ORA_ROWSCN). */
export const ROWVERSION_COLUMN = 'row_version';
export const DEFAULT_CONNECTOR = {
  id: 'erp-sandbox',
  name: 'ERP (sandbox)',
  type: 'oracle',
  status: 'active' as const,
};

/**
 * The APISmith sandbox's data, in PostgreSQL: ERP tables in `erpSchema`
 * (sandbox_erp by default) and the catalogue of connectors and APIs in
 * `catalogSchema` (sandbox_apismith). The demo and the tests seed through
 * this API; the HTTP routes only read.
 */
export class ErpStore {
  readonly pool: pg.Pool;

  constructor(
    databaseUrl: string,
    readonly erpSchema = 'sandbox_erp',
    readonly catalogSchema = 'sandbox_apismith',
  ) {
    this.pool = createPool(databaseUrl, 6);
  }

  async init(): Promise<void> {
    const erp = quoteIdent(this.erpSchema);
    const cat = quoteIdent(this.catalogSchema);
    await this.pool.query(`
      CREATE SCHEMA IF NOT EXISTS ${erp};
      CREATE SCHEMA IF NOT EXISTS ${cat};
      CREATE SEQUENCE IF NOT EXISTS ${erp}.rowversion_seq;
      CREATE OR REPLACE FUNCTION ${erp}.bump_rowversion() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.${ROWVERSION_COLUMN} := nextval('${this.erpSchema}.rowversion_seq'); RETURN NEW; END $$;
      CREATE TABLE IF NOT EXISTS ${cat}.connectors (id text PRIMARY KEY, name text NOT NULL, type text NOT NULL, status text NOT NULL);
      CREATE TABLE IF NOT EXISTS ${cat}.apis (
        slug text PRIMARY KEY, name text NOT NULL, connector_id text NOT NULL REFERENCES ${cat}.connectors(id),
        description text, table_name text NOT NULL);
      CREATE TABLE IF NOT EXISTS ${cat}.columns (
        table_name text NOT NULL, position int NOT NULL, name text NOT NULL, erp_type text NOT NULL, nullable boolean NOT NULL,
        PRIMARY KEY (table_name, name));
      CREATE TABLE IF NOT EXISTS ${cat}.tables (table_name text PRIMARY KEY, primary_key text[] NOT NULL);
    `);
    await this.addConnector(DEFAULT_CONNECTOR);
  }

  async addConnector(connector: {
    id: string;
    name: string;
    type: string;
    status: 'active' | 'inactive';
  }): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${quoteIdent(this.catalogSchema)}.connectors (id, name, type, status) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, status = EXCLUDED.status`,
      [connector.id, connector.name, connector.type, connector.status],
    );
  }

  /** Creates (or re-creates, emptied) an ERP table with typed columns plus the rowversion column. */
  async createTable(definition: ErpTableDefinition): Promise<void> {
    const table = qualified(this.erpSchema, definition.name);
    const columns = definition.columns.map(
      (c) => `${quoteIdent(c.name)} ${storageType(c.type)}${c.nullable === false ? ' NOT NULL' : ''}`,
    );
    const cat = quoteIdent(this.catalogSchema);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.query(
        `CREATE TABLE ${table} (${columns.join(', ')},
           ${ROWVERSION_COLUMN} bigint NOT NULL DEFAULT nextval('${this.erpSchema}.rowversion_seq'),
           PRIMARY KEY (${definition.primaryKey.map(quoteIdent).join(', ')}))`,
      );
      await client.query(`CREATE INDEX ON ${table} (${ROWVERSION_COLUMN})`);
      await client.query(
        `CREATE TRIGGER bump_rowversion BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(this.erpSchema)}.bump_rowversion()`,
      );
      await client.query(`DELETE FROM ${cat}.columns WHERE table_name = $1`, [definition.name]);
      const all = [...definition.columns, { name: ROWVERSION_COLUMN, type: 'INTEGER', nullable: false }];
      await client.query(
        `INSERT INTO ${cat}.columns (table_name, position, name, erp_type, nullable)
         SELECT $1, p, n, t, nl FROM unnest($2::text[], $3::text[], $4::bool[]) WITH ORDINALITY AS x(n, t, nl, p)`,
        [definition.name, all.map((c) => c.name), all.map((c) => c.type), all.map((c) => c.nullable !== false)],
      );
      await client.query(
        `INSERT INTO ${cat}.tables (table_name, primary_key) VALUES ($1, $2) ON CONFLICT (table_name) DO UPDATE SET primary_key = EXCLUDED.primary_key`,
        [definition.name, definition.primaryKey],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  /** Inserts rows in one statement (json_populate_recordset: one round trip for any number of rows). */
  async insert(table: string, rows: ErpRow[]): Promise<void> {
    if (rows.length === 0) return;
    const columns = Object.keys(rows[0]!).map(quoteIdent).join(', ');
    await this.pool.query(
      `INSERT INTO ${qualified(this.erpSchema, table)} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${qualified(this.erpSchema, table)}, $1)`,
      [JSON.stringify(rows)],
    );
  }

  /** Updates the rows matching `where` (column = value); the trigger bumps their rowversion. Returns the count. */
  async update(table: string, where: ErpRow, changes: ErpRow): Promise<number> {
    const sets = Object.keys(changes).map((c, i) => `${quoteIdent(c)} = $${i + 1}`);
    const offset = sets.length;
    const conditions = Object.keys(where).map((c, i) => `${quoteIdent(c)} = $${offset + i + 1}`);
    const result = await this.pool.query(
      `UPDATE ${qualified(this.erpSchema, table)} SET ${sets.join(', ')}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`,
      [...Object.values(changes), ...Object.values(where)],
    );
    return result.rowCount ?? 0;
  }

  async delete(table: string, where: ErpRow): Promise<number> {
    const conditions = Object.keys(where).map((c, i) => `${quoteIdent(c)} = $${i + 1}`);
    const result = await this.pool.query(
      `DELETE FROM ${qualified(this.erpSchema, table)} WHERE ${conditions.join(' AND ')}`,
      Object.values(where),
    );
    return result.rowCount ?? 0;
  }

  async rows(table: string): Promise<ErpRow[]> {
    return (await this.pool.query(`SELECT * FROM ${qualified(this.erpSchema, table)}`)).rows;
  }

  /** Publishes an APISmith API (slug) over an ERP table: its columns, key and rowversion come from the table. */
  async registerApi(registration: ApiRegistration): Promise<RegisteredApi> {
    const cat = quoteIdent(this.catalogSchema);
    await this.pool.query(
      `INSERT INTO ${cat}.apis (slug, name, connector_id, description, table_name) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, connector_id = EXCLUDED.connector_id, description = EXCLUDED.description, table_name = EXCLUDED.table_name`,
      [
        registration.slug,
        registration.name ?? registration.slug,
        registration.connectorId ?? DEFAULT_CONNECTOR.id,
        registration.description ?? null,
        registration.table,
      ],
    );
    const api = await this.api(registration.slug);
    if (!api) throw new Error(`API ${registration.slug} could not be registered`);
    return api;
  }

  async connectors() {
    return (
      await this.pool.query(
        `SELECT id, name, type, status FROM ${quoteIdent(this.catalogSchema)}.connectors ORDER BY id`,
      )
    ).rows;
  }

  async apis(): Promise<Array<Pick<RegisteredApi, 'slug' | 'name' | 'connector_id' | 'description'>>> {
    return (
      await this.pool.query(
        `SELECT slug, name, connector_id, description FROM ${quoteIdent(this.catalogSchema)}.apis ORDER BY slug`,
      )
    ).rows;
  }

  async api(slug: string): Promise<RegisteredApi | null> {
    const cat = quoteIdent(this.catalogSchema);
    const { rows } = await this.pool.query(
      `SELECT a.slug, a.name, a.connector_id, a.description, a.table_name, t.primary_key AS key_columns,
              coalesce(json_agg(json_build_object('name', c.name, 'type', c.erp_type, 'nullable', c.nullable) ORDER BY c.position) FILTER (WHERE c.name IS NOT NULL), '[]') AS columns
         FROM ${cat}.apis a JOIN ${cat}.tables t ON t.table_name = a.table_name LEFT JOIN ${cat}.columns c ON c.table_name = a.table_name
        WHERE a.slug = $1 GROUP BY a.slug, t.primary_key`,
      [slug],
    );
    const row = rows[0];
    return row ? { ...row, rowversion_column: ROWVERSION_COLUMN } : null;
  }

  async maxRowversion(table: string): Promise<string | null> {
    const sql = `SELECT max(${quoteIdent(ROWVERSION_COLUMN)})::text AS v FROM ${qualified(this.erpSchema, table)}`;
    return (await this.pool.query(sql)).rows[0].v ?? null;
  }

  async countRows(table: string): Promise<number> {
    return Number((await this.pool.query(`SELECT count(*) AS n FROM ${qualified(this.erpSchema, table)}`)).rows[0].n);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
