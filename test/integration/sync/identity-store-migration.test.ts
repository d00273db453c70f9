import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/paths.ts';
import { type Database, startDatabase } from '../../../infra/postgres.ts';

/**
 * Issue 15: the migration that narrows the identity store (integer stream ids, hashes as bytes) keeps every
 * record of a store written before it. Every earlier migration is applied to a throwaway cluster, records are
 * written in the old shape, then the narrowing migration runs.
 */
describe('the identity store migration', () => {
  const dir = path.join(repoRoot, 'prisma', 'migrations');
  const migrations = readdirSync(dir)
    .filter((d) => /^\d/.test(d))
    .sort();
  const narrowing = migrations.findIndex((d) => d.endsWith('_narrow_identity_store'));
  const sql = (d: string) => readFileSync(path.join(dir, d, 'migration.sql'), 'utf8');
  let db: Database;
  let client: pg.Client;

  beforeAll(async () => {
    db = await startDatabase({ throwaway: true, port: 0 });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.stop();
  });

  it('keeps every record, with its names, hashes and state', async () => {
    expect(narrowing).toBeGreaterThan(0);
    for (const d of migrations.slice(0, narrowing)) await client.query(sql(d));
    await client.query(`INSERT INTO identity_records
        (entity_name, target_name, bk_hash, data_hash, rowversion, ref_str, sync_status, sync_error, attempts, deleted_at)
      VALUES ('items', 'main', '00ff00ff00ff00ff00ff00ff00ff00ff', repeat('ab', 32), '7', 'items[P-1]', 'synced', NULL, 1, NULL),
             ('items', 'copy', '00ff00ff00ff00ff00ff00ff00ff00ff', repeat('cd', 32), NULL, 'items[P-1]', 'failed', 'x: y', 3, NULL),
             ('orders', 'main', '11111111111111111111111111111111', repeat('01', 32), NULL, NULL, 'synced', NULL, 1, now())`);
    for (const d of migrations.slice(narrowing)) await client.query(sql(d));

    const { rows } = await client.query(
      `SELECT entity_name, target_name, bk_hash, data_hash, source_hash, rowversion, ref_str, sync_status, sync_error,
              attempts, deleted_at IS NOT NULL AS deleted
         FROM identity_status ORDER BY entity_name, target_name`,
    );
    expect(rows).toEqual([
      {
        entity_name: 'items',
        target_name: 'copy',
        bk_hash: '00ff00ff00ff00ff00ff00ff00ff00ff',
        data_hash: 'cd'.repeat(32),
        source_hash: null,
        rowversion: null,
        ref_str: 'items[P-1]',
        sync_status: 'failed',
        sync_error: 'x: y',
        attempts: 3,
        deleted: false,
      },
      {
        entity_name: 'items',
        target_name: 'main',
        bk_hash: '00ff00ff00ff00ff00ff00ff00ff00ff',
        data_hash: 'ab'.repeat(32),
        source_hash: null,
        rowversion: '7',
        ref_str: 'items[P-1]',
        sync_status: 'synced',
        sync_error: null,
        attempts: 1,
        deleted: false,
      },
      {
        entity_name: 'orders',
        target_name: 'main',
        bk_hash: '11111111111111111111111111111111',
        data_hash: '01'.repeat(32),
        source_hash: null,
        rowversion: null,
        ref_str: null,
        sync_status: 'synced',
        sync_error: null,
        attempts: 1,
        deleted: true,
      },
    ]);
    const width = await client.query(
      `SELECT octet_length(bk_hash) AS bk, octet_length(data_hash) AS data FROM identity_records LIMIT 1`,
    );
    expect(width.rows[0]).toEqual({ bk: 16, data: 32 });
  }, 120_000);
});
