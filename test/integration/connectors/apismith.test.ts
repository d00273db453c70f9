import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { ApismithClient } from '../../../connectors/apismith/client.ts';
import { createSource } from '../../../connectors/factory.ts';
import type { RetryEvent } from '../../../connectors/http/json-client.ts';
import type { ConnectorLogger } from '../../../connectors/logger.ts';
import type { HttpTuning, Page, Source } from '../../../connectors/types.ts';
import { type ApismithSandbox, startApismithSandbox } from '../../../sandbox/index.ts';

const databaseUrl = inject('databaseUrl');
const ROWS = 230;
let sandbox: ApismithSandbox;
const retries: RetryEvent[] = [];
const renewals: string[] = [];
const logLines: string[] = [];
const logger: ConnectorLogger = {
  debug: (m, f) => logLines.push(m + JSON.stringify(f ?? {})),
  info: (m, f) => logLines.push(m + JSON.stringify(f ?? {})),
  warn: (m, f) => logLines.push(m + JSON.stringify(f ?? {})),
  error: (m, f) => logLines.push(m + JSON.stringify(f ?? {})),
};
const tuning: HttpTuning = {
  retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20 },
  refreshSkewMs: 0,
  onRetry: (e) => retries.push(e),
  onTokenRenew: (how) => renewals.push(how),
};

const erpConnection = (baseUrl: string, credentials: { username: string; password: string }) => ({
  name: 'erp',
  type: 'apismith' as const,
  baseUrl,
  ...credentials,
});

function source(overrides: Partial<HttpTuning> = {}): Source {
  return createSource(
    { type: 'apismith', connection: 'erp', apiSlug: 'erp-items', params: {}, unknownTypes: 'as_string' },
    erpConnection(sandbox.url, sandbox.credentials),
    { logger, http: { ...tuning, ...overrides } },
  );
}

async function readAll(src: Source, pageSize = 50) {
  const pages: Page[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor, pageSize });
    pages.push(page);
    if (page.done) return pages;
    cursor = page.nextCursor;
  }
}

beforeAll(async () => {
  sandbox = await startApismithSandbox({
    databaseUrl,
    erpSchema: 'conn_as_erp',
    catalogSchema: 'conn_as_catalog',
    tokenTtlSeconds: 60,
    log: () => {},
  });
  await sandbox.erp.createTable({
    name: 'items',
    columns: [
      { name: 'item_no', type: 'VARCHAR2(20)', nullable: false },
      { name: 'descr', type: 'VARCHAR2(200)' },
      { name: 'unit_cost', type: 'NUMBER(12,2)' },
      { name: 'created', type: 'DATE' },
      { name: 'guid', type: 'RAW(16)' },
      { name: 'shape', type: 'SDO_GEOMETRY' },
    ],
    primaryKey: ['item_no'],
  });
  await sandbox.erp.insert(
    'items',
    Array.from({ length: ROWS }, (_, i) => ({
      item_no: `IT-${String(i).padStart(4, '0')}`,
      descr: ` Item ${i} `,
      unit_cost: i * 0.25,
      created: '2024-01-15',
      guid: '\\xcafe',
      shape: 'POINT',
    })),
  );
  await sandbox.erp.registerApi({ slug: 'erp-items', table: 'items', name: 'Items', description: 'Item master' });
});

afterAll(async () => {
  await sandbox.stop();
});

beforeEach(() => {
  sandbox.setFaults({});
  retries.length = 0;
  renewals.length = 0;
});

describe('APISmith source against the sandbox', () => {
  it('lists connectors and APIs, and describes an API with its column types', async () => {
    const client = new ApismithClient({ baseUrl: sandbox.url, credentials: sandbox.credentials, logger });
    expect((await client.listConnectors()).map((c) => c.id)).toContain('erp-sandbox');
    expect((await client.listApis()).map((a) => a.slug)).toEqual(['erp-items']);
    await client.close();
    const src = source();
    const columns = await src.describe();
    expect(columns.find((c) => c.name === 'unit_cost')).toMatchObject({
      sourceType: 'NUMBER(12,2)',
      kind: 'number',
      knownType: true,
    });
    expect(columns.find((c) => c.name === 'shape')).toMatchObject({ kind: 'string', knownType: false });
    expect(await src.estimateRowCount()).toBe(ROWS);
    expect((await src.health()).ok).toBe(true);
    await src.close();
  });

  it('pages to the end in key order; the same cursor gives the same page', async () => {
    const src = source();
    const pages = await readAll(src);
    expect(pages.map((p) => p.rows.length)).toEqual([50, 50, 50, 50, 30]);
    const keys = pages.flatMap((p) => p.rows.map((r) => r.item_no as string));
    expect(new Set(keys).size).toBe(ROWS);
    expect(keys).toEqual([...keys].sort());
    expect(pages[0]!.rows[1]).toMatchObject({
      descr: ' Item 1 ',
      unit_cost: '0.25',
      created: '2024-01-15',
      guid: 'cafe',
    });
    const again = await src.fetchPage({
      mode: 'full',
      keyColumns: ['item_no'],
      cursor: pages[2]!.nextCursor,
      pageSize: 50,
    });
    expect(again.rows).toEqual(pages[3]!.rows);
    const streamed: number[] = [];
    for await (const page of src.stream({ mode: 'full', keyColumns: ['item_no'], pageSize: 100 }))
      streamed.push(page.rows.length);
    expect(streamed).toEqual([100, 100, 30]);
    await src.close();
  });

  it('reads incrementally above a watermark after ERP changes', async () => {
    const src = source();
    const all = (await readAll(src, 500)).flatMap((p) => p.rows);
    const watermark = String(Math.max(...all.map((r) => Number(r.row_version))));
    await sandbox.erp.update('items', { item_no: 'IT-0007' }, { descr: 'changed' });
    await sandbox.erp.insert('items', [
      { item_no: 'IT-9999', descr: 'new', unit_cost: 1, created: '2024-02-01', guid: null, shape: null },
    ]);
    const page = await src.fetchPage({
      mode: 'incremental',
      keyColumns: ['item_no'],
      rowversionColumn: 'row_version',
      watermark,
      cursor: null,
      pageSize: 10,
    });
    expect(page.rows.map((r) => r.item_no)).toEqual(['IT-0007', 'IT-9999']);
    expect(page.done).toBe(true);
    await sandbox.erp.delete('items', { item_no: 'IT-9999' });
    await src.close();
  });

  it('renews an expiring token in the middle of a run', async () => {
    await fetch(`${sandbox.url}/__sandbox/tokens/ttl`, { method: 'PUT', body: JSON.stringify({ ttlSeconds: 2 }) });
    const src = source({ refreshSkewMs: 1000 });
    sandbox.setFaults({ latencyMs: 150 });
    const pages = await readAll(src, 20); // 12 pages × ≥150 ms > several token lifetimes of 1 s usable
    expect(pages.flatMap((p) => p.rows)).toHaveLength(ROWS);
    expect(renewals.filter((r) => r === 'refresh').length).toBeGreaterThanOrEqual(1);
    await fetch(`${sandbox.url}/__sandbox/tokens/ttl`, { method: 'PUT', body: JSON.stringify({ ttlSeconds: 60 }) });
    await src.close();
  });

  it('answers a 401 by renewing the token once, then goes on', async () => {
    const src = source();
    await src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 5 });
    const rejectedBefore = sandbox.stats().tokens.rejected;
    sandbox.revokeTokens();
    const page = await src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 5 });
    expect(page.rows).toHaveLength(5);
    expect(sandbox.stats().tokens.rejected).toBe(rejectedBefore + 1);
    expect(renewals).toContain('login'); // the refresh token was revoked too, so the session logged in again
    await src.close();
  });

  it('fails with a typed auth error on wrong credentials', async () => {
    const src = createSource(
      { type: 'apismith', connection: 'erp', apiSlug: 'erp-items', params: {}, unknownTypes: 'as_string' },
      erpConnection(sandbox.url, { username: 'syncflow', password: 'wrong-password' }),
      { logger, http: tuning },
    );
    const error = await src.describe().catch((e) => e);
    expect(error).toMatchObject({
      name: 'ConnectorError',
      connector: 'apismith',
      operation: 'login',
      code: 'auth',
      transient: false,
    });
    expect(JSON.stringify(error.toJSON())).not.toContain('wrong-password');
    await src.close();
  });

  it('honours 429 Retry-After, retries 5xx and dropped connections, then succeeds', async () => {
    const src = source();
    sandbox.setFaults({ rateLimitNext: 1, retryAfterSeconds: 1, serverErrorNext: 2, dropNext: 1 });
    const page = await src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 });
    expect(page.rows).toHaveLength(10);
    expect(retries.map((r) => r.error.code)).toEqual(['connection', 'rate_limited', 'server_error', 'server_error']);
    expect(retries[1]).toMatchObject({ delayMs: 1000 }); // the server's Retry-After, not our backoff
    expect(sandbox.stats().faults).toMatchObject({ rateLimited: 1, serverErrors: 2, dropped: 1 });
    await src.close();
  });

  it('gives up with a transient typed error when 5xx persists', async () => {
    const src = source();
    sandbox.setFaults({ serverErrorNext: 10 });
    await expect(
      src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 }),
    ).rejects.toMatchObject({
      code: 'server_error',
      transient: true,
      status: 503,
      connector: 'apismith',
      operation: 'execute erp-items',
    });
    expect(retries).toHaveLength(4);
    await src.close();
  });

  it('turns malformed bodies, wrong content types and repeated cursors into typed errors', async () => {
    const src = source({ retry: { maxAttempts: 1 } });
    await src.describe();
    sandbox.setFaults({ malformedNext: 1 });
    await expect(
      src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 }),
    ).rejects.toMatchObject({ code: 'malformed_body', transient: true });
    sandbox.setFaults({ wrongContentTypeNext: 1 });
    await expect(
      src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 }),
    ).rejects.toMatchObject({ code: 'content_type', transient: false });
    const first = await src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 });
    sandbox.setFaults({ repeatCursorNext: 1 });
    await expect(
      src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: first.nextCursor, pageSize: 10 }),
    ).rejects.toMatchObject({ code: 'repeated_cursor', transient: false });
    sandbox.setFaults({ repeatCursorNext: 1 });
    const streaming = async () => {
      for await (const _ of src.stream({ mode: 'full', keyColumns: ['item_no'], pageSize: 10 })) {
      }
    };
    await expect(streaming()).rejects.toMatchObject({ code: 'repeated_cursor' });
    await src.close();
  });

  it('reports a refused connection as a typed error that is not worth retrying, naming the cause', async () => {
    const src = createSource(
      { type: 'apismith', connection: 'erp', apiSlug: 'erp-items', params: {}, unknownTypes: 'as_string' },
      erpConnection('http://127.0.0.1:9', { username: 'u', password: 'p-secret' }),
      { logger, http: { ...tuning, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } } },
    );
    await expect(
      src.fetchPage({ mode: 'full', keyColumns: ['item_no'], cursor: null, pageSize: 10 }),
    ).rejects.toMatchObject({
      code: 'unreachable',
      transient: false,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect((await src.health()).ok).toBe(false);
    await src.close();
  });

  it('never logs a credential', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(sandbox.credentials.password);
      expect(line).not.toContain('wrong-password');
    }
  });

  it('labels every answer as a sandbox', async () => {
    const response = await fetch(`${sandbox.url}/api/v1/health`);
    expect(response.headers.get('x-sandbox')).toBe('true');
    expect(await response.json()).toEqual({ status: 'ok', sandbox: true });
  });
});
