import type pg from 'pg';
import { columnMeta } from '../columns.ts';
import type { ColumnMeta } from '../types.ts';

/** Columns of a table or view as the catalogue declares them (format_type: `numeric(12,2)`, `character varying(40)`...). */
export async function describeRelation(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  table: string,
): Promise<ColumnMeta[]> {
  const { rows } = await db.query<{ name: string; type: string; not_null: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  return rows.map((r) => columnMeta(r.name, r.type, !r.not_null));
}

/**
 * Columns of an arbitrary query: run it with LIMIT 0 and name each field's type OID and modifier.
 * The extended protocol (queryMode) keeps `relationSql`, which embeds a user's query, to one statement.
 */
export async function describeQuery(db: pg.Pool | pg.PoolClient, relationSql: string): Promise<ColumnMeta[]> {
  const select: pg.QueryConfig & { queryMode: 'extended' } = {
    text: `SELECT * FROM ${relationSql} LIMIT 0`,
    queryMode: 'extended',
  };
  const result = await db.query(select);
  if (result.fields.length === 0) return [];
  const { rows } = await db.query<{ i: number; type: string }>(
    `SELECT i, format_type(t, m) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(t, m, i)`,
    [result.fields.map((f) => f.dataTypeID), result.fields.map((f) => f.dataTypeModifier)],
  );
  const typeByIndex = new Map(rows.map((r) => [Number(r.i), r.type]));
  return result.fields.map((f, index) => columnMeta(f.name, typeByIndex.get(index + 1) ?? 'unknown'));
}
