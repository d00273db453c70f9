import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { silentLogger } from '../../../connectors/logger.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { PostgresSource } from '../../../connectors/postgres/source.ts';

/**
 * Issue 10, finding 1: a source query is SQL from an API caller. Whatever its
 * text, the source must run it as one read-only statement. These sources are
 * built directly, past any config-time check, to prove the database-side
 * defences alone (extended protocol, READ ONLY transaction, statement timeout).
 */
const databaseUrl = inject('databaseUrl');
const schema = 'conn_pg_inject';
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.victim (k int PRIMARY KEY)`);
  await admin.query(`INSERT INTO ${schema}.victim SELECT generate_series(1, 3)`);
  // A function that writes, so a plain SELECT can try to: only the READ ONLY transaction stops it.
  await admin.query(`CREATE FUNCTION ${schema}.evil() RETURNS int LANGUAGE sql AS
      'DELETE FROM ${schema}.victim; SELECT 1'`);
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

function sourceFor(query: string, statementTimeoutMs?: number) {
  return new PostgresSource({
    pool: createPool(databaseUrl),
    schema,
    query,
    unknownTypes: 'as_string',
    logger: silentLogger,
    ownsPool: true,
    statementTimeoutMs,
  });
}

async function victimRows(): Promise<number> {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.victim`);
  return rows[0].n;
}

/** Calls every read path and returns how each ended: nothing may write, whatever the outcome. */
async function everyRead(source: PostgresSource): Promise<Record<string, string>> {
  const outcome = async (run: () => Promise<unknown>) =>
    run().then(
      () => 'ok',
      (error: Error) => error.message,
    );
  const results: Record<string, string> = {};
  results.describe = await outcome(() => source.describe());
  expect(await victimRows()).toBe(3);
  const health = await source.health();
  results.health = health.ok ? 'ok' : (health.detail ?? 'down');
  expect(await victimRows()).toBe(3);
  results.estimate = await outcome(() => source.estimateRowCount());
  expect(await victimRows()).toBe(3);
  results.max = await outcome(() => source.maxRowversion('k'));
  expect(await victimRows()).toBe(3);
  results.page = await outcome(() => source.fetchPage({ mode: 'full', keyColumns: ['k'], cursor: null, pageSize: 10 }));
  expect(await victimRows()).toBe(3);
  results.stream = await outcome(async () => {
    for await (const _ of source.stream({ mode: 'full', keyColumns: ['k'], pageSize: 10 })) {
      // drain
    }
  });
  expect(await victimRows()).toBe(3);
  return results;
}

describe('PostgreSQL source query: one read-only statement, whatever the text', () => {
  it('the subquery-closing injection drops nothing, through any method', async () => {
    const source = sourceFor(`SELECT 1 AS k) AS x; DROP TABLE ${schema}.victim; SELECT * FROM (SELECT 1 AS k`);
    const results = await everyRead(source);
    for (const [method, result] of Object.entries(results)) {
      expect(result, method).toMatch(/cannot insert multiple commands into a prepared statement|syntax error/);
    }
    await source.close();
  });

  it('a second statement after the query cannot delete', async () => {
    const source = sourceFor(`SELECT k FROM ${schema}.victim; DELETE FROM ${schema}.victim`);
    const results = await everyRead(source);
    for (const [method, result] of Object.entries(results)) expect(result, method).not.toBe('ok');
    await source.close();
  });

  it('a data-modifying WITH cannot delete', async () => {
    const source = sourceFor(`WITH d AS (DELETE FROM ${schema}.victim RETURNING k) SELECT k FROM d`);
    const results = await everyRead(source);
    for (const [method, result] of Object.entries(results)) expect(result, method).not.toBe('ok');
    await source.close();
  });

  it('a function that writes, called from a plain SELECT, meets the READ ONLY transaction', async () => {
    const source = sourceFor(`SELECT ${schema}.evil() AS k`);
    const results = await everyRead(source);
    // describe reads no row (LIMIT 0) and EXPLAIN runs nothing; every path that executes the function is refused.
    for (const method of ['health', 'max', 'page', 'stream']) {
      expect(results[method], method).toMatch(/read-only transaction/);
    }
    await source.close();
  });

  it('a legitimate query, trailing comment and semicolon included, reads every path', async () => {
    const source = sourceFor(`SELECT k FROM ${schema}.victim WHERE k > 1; -- the last two`);
    expect(await everyRead(source)).toMatchObject({ describe: 'ok', health: 'ok', page: 'ok', stream: 'ok' });
    expect(await source.maxRowversion('k')).toBe('3');
    const page = await source.fetchPage({ mode: 'full', keyColumns: ['k'], cursor: null, pageSize: 10 });
    expect(page.rows).toEqual([{ k: 2 }, { k: 3 }]);
    await source.close();
    const table = new PostgresSource({
      pool: createPool(databaseUrl),
      schema,
      table: 'victim',
      unknownTypes: 'as_string',
      logger: silentLogger,
      ownsPool: true,
    });
    expect(await everyRead(table)).toEqual({
      describe: 'ok',
      health: 'ok',
      estimate: 'ok',
      max: 'ok',
      page: 'ok',
      stream: 'ok',
    });
    await table.close();
    const commented = sourceFor(`SELECT k FROM ${schema}.victim -- no semicolon, the comment ends the text`);
    expect((await commented.health()).ok).toBe(true);
    await commented.close();
  });

  it('a read longer than statementTimeoutMs is cancelled', async () => {
    const source = sourceFor('SELECT k FROM pg_sleep(5), (VALUES (1)) AS v(k)', 300);
    const started = Date.now();
    const health = await source.health();
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(/statement timeout/);
    await expect(source.fetchPage({ mode: 'full', keyColumns: ['k'], cursor: null, pageSize: 10 })).rejects.toThrow(
      /statement timeout/,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    await source.close();
  });
});
