import type pg from 'pg';
import { type DeclaredKind, resolveDeclaredType } from '../../pipeline/declared-type.ts';
import { ConnectorError } from '../errors.ts';
import type { EnsureResult, TargetField } from '../types.ts';
import { describeRelation } from './catalogue.ts';
import { qualified, quoteIdent } from './pool.ts';

/** The bookkeeping columns every SyncFlow PostgreSQL target table carries next to the mapped fields. */
export const SYSTEM_COLUMNS = {
  erp_key_hash: 'text NOT NULL PRIMARY KEY',
  erp_data_hash: 'text',
  erp_rowversion: 'text', // bigint, numeric or timestamp rowversions all fit; ordering happens in the identity store
  erp_ref_str: 'text',
  synced_at: 'timestamptz NOT NULL DEFAULT now()',
  erp_deleted_at: 'timestamptz', // set instead of deleting when a batch asks for soft deletes
} as const;
export type SystemColumn = keyof typeof SYSTEM_COLUMNS;
export const isSystemColumn = (name: string): name is SystemColumn => name in SYSTEM_COLUMNS;

const COLUMN_TYPE: Record<DeclaredKind, string> = {
  string: 'text',
  integer: 'bigint',
  number: 'numeric',
  date: 'date',
  timestamp: 'timestamptz',
  boolean: 'boolean',
  binary: 'bytea',
  json: 'jsonb',
};

export interface DataColumn {
  name: string;
  /** format_type of the existing column. */
  type: string;
  kind: DeclaredKind;
}

const CONNECTOR = 'postgres';

/** Reads the table's data columns (everything but the system columns); empty when the table does not exist. */
export async function readDataColumns(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  table: string,
): Promise<DataColumn[] | null> {
  const columns = await describeRelation(db, schema, table);
  if (columns.length === 0) return null;
  const missing = Object.keys(SYSTEM_COLUMNS).filter((name) => !columns.some((c) => c.name === name));
  if (missing.length > 0) {
    throw new ConnectorError(`${schema}.${table} exists but lacks SyncFlow's columns: ${missing.join(', ')}`, {
      connector: CONNECTOR,
      operation: 'ensure',
      code: 'schema_conflict',
      transient: false,
    });
  }
  return columns
    .filter((c) => !isSystemColumn(c.name))
    .map((c) => ({ name: c.name, type: c.sourceType, kind: c.kind }));
}

/**
 * Creates the table for the entity's fields, or checks an existing one:
 * missing fields are added (additive, never destructive), a field whose
 * existing column has another kind is a schema conflict.
 */
export async function ensureTable(
  pool: pg.Pool,
  schema: string,
  table: string,
  fields: TargetField[],
): Promise<EnsureResult> {
  const clash = fields.find((f) => isSystemColumn(f.name));
  if (clash) {
    throw new ConnectorError(`field "${clash.name}" collides with a SyncFlow system column`, {
      connector: CONNECTOR,
      operation: 'ensure',
      code: 'schema_conflict',
      transient: false,
    });
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Serialise concurrent ensures of the same table (two workers starting the same entity).
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`syncflow-ensure:${schema}.${table}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    const existing = await readDataColumns(client, schema, table);
    if (!existing) {
      const definitions = [
        `erp_key_hash ${SYSTEM_COLUMNS.erp_key_hash}`,
        ...fields.map((f) => `${quoteIdent(f.name)} ${COLUMN_TYPE[f.kind]}`),
        ...Object.entries(SYSTEM_COLUMNS)
          .filter(([name]) => name !== 'erp_key_hash')
          .map(([name, type]) => `${name} ${type}`),
      ];
      await client.query(`CREATE TABLE ${qualified(schema, table)} (${definitions.join(', ')})`);
      await client.query('COMMIT');
      return { created: true, addedFields: fields.map((f) => f.name) };
    }
    const conflicts = fields.flatMap((f) => {
      const column = existing.find((c) => c.name === f.name);
      return column && resolveDeclaredType(column.type) !== f.kind
        ? [`${f.name} is ${column.type}, the entity says ${f.kind}`]
        : [];
    });
    if (conflicts.length > 0) {
      throw new ConnectorError(`${schema}.${table} does not match the entity: ${conflicts.join('; ')}`, {
        connector: CONNECTOR,
        operation: 'ensure',
        code: 'schema_conflict',
        transient: false,
      });
    }
    const added = fields.filter((f) => !existing.some((c) => c.name === f.name));
    for (const field of added) {
      await client
        .query(
          `ALTER TABLE ${qualified(schema, table)} ADD COLUMN ${quoteIdent(field.name)} ${COLUMN_TYPE[field.kind]}`,
        )
        .catch((cause: unknown) => {
          // Not ours to alter (42501: not the owner): the table does not match the entity, and says which columns.
          if ((cause as { code?: unknown })?.code !== '42501') throw cause;
          const missing = added.map((f) => `${f.name} (${f.kind})`).join(', ');
          throw new ConnectorError(
            `${schema}.${table} does not match the entity: it lacks ${missing}, and this connection may not add ` +
              `columns (${(cause as Error).message}); add them as the table's owner, or map fewer fields`,
            { connector: CONNECTOR, operation: 'ensure', code: 'schema_conflict', transient: false, cause },
          );
        });
    }
    await client.query('COMMIT');
    return { created: false, addedFields: added.map((f) => f.name) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
