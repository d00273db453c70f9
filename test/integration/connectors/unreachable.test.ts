import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../connectors/logger.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { PostgresSource } from '../../../connectors/postgres/source.ts';
import { SchedulehubClient } from '../../../connectors/schedulehub/client.ts';

/**
 * Issue 10, finding 14: a server that refuses connections or a host that does
 * not resolve is a non-transient `unreachable` ConnectorError at once, naming
 * the cause; the activities turn it into a non-retryable failure
 * (activities/failures.ts, unit-tested) instead of minutes of retries.
 */
const source = (url: string) =>
  new PostgresSource({
    pool: createPool(url),
    schema: 'public',
    table: 'items',
    unknownTypes: 'as_string',
    logger: silentLogger,
    ownsPool: true,
  });

describe('unreachable servers', () => {
  it('PostgreSQL: a refused connection', async () => {
    const s = source('postgresql://nobody:secret@127.0.0.1:1/none');
    const started = Date.now();
    await expect(s.describe()).rejects.toMatchObject({
      code: 'unreachable',
      transient: false,
      message: expect.stringMatching(
        /^postgres describe: cannot reach the database \(ECONNREFUSED\): .*127\.0\.0\.1:1/,
      ),
    });
    await expect(s.fetchPage({ mode: 'full', keyColumns: ['k'], cursor: null, pageSize: 1 })).rejects.toMatchObject({
      code: 'unreachable',
    });
    expect((await s.health()).detail).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await s.close();
  });

  it('PostgreSQL: a host name that does not resolve', async () => {
    const s = source('postgresql://nobody:secret@syncflow-no-such-host.invalid:5432/none');
    await expect(s.describe()).rejects.toMatchObject({
      code: 'unreachable',
      transient: false,
      message: expect.stringMatching(/\((ENOTFOUND|EAI_AGAIN)\).*syncflow-no-such-host\.invalid/),
    });
    await s.close();
  });

  it('HTTP: a refused connection, not retried by the client', async () => {
    const retries: unknown[] = [];
    const client = new SchedulehubClient({
      baseUrl: 'http://127.0.0.1:1',
      credentials: { username: 'u', password: 'p' },
      rpmCap: 6000,
      logger: silentLogger,
      tuning: { retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 1000 }, onRetry: (e) => retries.push(e) },
    });
    const started = Date.now();
    await expect(client.getManyByBkHash('items', ['00000000'])).rejects.toMatchObject({
      code: 'unreachable',
      transient: false,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(retries).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    await client.close();
  });
});
