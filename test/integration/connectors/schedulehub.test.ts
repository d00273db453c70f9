import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import type { RetryEvent } from '../../../connectors/http/json-client.ts';
import { silentLogger } from '../../../connectors/logger.ts';
import { SchedulehubClient } from '../../../connectors/schedulehub/client.ts';
import { SchedulehubTarget } from '../../../connectors/schedulehub/target.ts';
import type { HttpTuning } from '../../../connectors/types.ts';
import type { TargetRecord } from '../../../pipeline/target-record.ts';
import { type SchedulehubSandbox, startSchedulehubSandbox } from '../../../sandbox/index.ts';
import { excessOverCap } from '../../support/request-rate.ts';

const databaseUrl = inject('databaseUrl');
let sandbox: SchedulehubSandbox;
const retries: RetryEvent[] = [];
const renewals: string[] = [];
const tuning: HttpTuning = {
  retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20 },
  refreshSkewMs: 0,
  onRetry: (e) => retries.push(e),
  onTokenRenew: (h) => renewals.push(h),
};

const hash = (n: number) => n.toString(16).padStart(32, '0');
const record = (n: number, data: Record<string, unknown> = {}): TargetRecord => ({
  bkHash: hash(n),
  dataHash: `d${n}`,
  rowversion: String(n),
  refStr: `items[item_number=I-${n}]`,
  data: { item_number: `I-${n}`, qty: n, ...data },
});

/** Built directly (not through the factory, whose connections are configuration's business). */
function target(overrides: { batchSize?: number; rpmCap?: number; http?: Partial<HttpTuning> } = {}) {
  return new SchedulehubTarget({
    client: new SchedulehubClient({
      baseUrl: sandbox.url,
      credentials: sandbox.credentials,
      rpmCap: overrides.rpmCap ?? 60_000,
      logger: silentLogger,
      tuning: { ...tuning, ...overrides.http },
    }),
    resource: 'items',
    batchSize: overrides.batchSize ?? 200,
    logger: silentLogger,
  });
}

async function state() {
  return (await sandbox.store.all('items')).map(({ uid, bk_hash, data_hash, rowversion, ref, data }) => ({
    uid,
    bk_hash,
    data_hash,
    rowversion,
    ref,
    data,
  }));
}

beforeAll(async () => {
  sandbox = await startSchedulehubSandbox({
    databaseUrl,
    schema: 'conn_sh_records',
    resources: { items: { required: ['item_number'] } },
    tokenTtlSeconds: 60,
    log: () => {},
  });
});
afterAll(async () => {
  await sandbox.stop();
});
beforeEach(async () => {
  sandbox.setFaults({});
  retries.length = 0;
  renewals.length = 0;
  await sandbox.store.pool.query('DELETE FROM conn_sh_records.records');
});

describe('ScheduleHub target against the sandbox', () => {
  it('inserts, updates and deletes in batches with a result per record, idempotently', async () => {
    const t = target({ batchSize: 3 });
    expect(await t.ensure([])).toEqual({ created: false, addedFields: [] });
    const batch = { inserts: [1, 2, 3, 4, 5].map((n) => record(n)), updates: [], deletes: [] };
    const first = await t.apply(batch);
    expect(first.every((r) => r.ok && r.op === 'insert' && typeof r.targetUid === 'string')).toBe(true);
    const before = await state();
    const again = await t.apply(batch); // a retried activity: every insert finds its record and updates it
    expect(again.map((r) => r.targetUid)).toEqual(first.map((r) => r.targetUid));
    expect(await state()).toEqual(before);

    const mixed = {
      inserts: [record(6)],
      updates: [record(1, { qty: 100 }), record(7)],
      deletes: [
        { bkHash: hash(2), refStr: 'x' },
        { bkHash: hash(99), refStr: 'y' },
      ],
    };
    const results = await t.apply(mixed);
    expect(results.map((r) => [r.op, r.ok])).toEqual([
      ['insert', true],
      ['update', true],
      ['update', true],
      ['delete', true],
      ['delete', true],
    ]);
    const after = await state();
    await t.apply(mixed);
    expect(await state()).toEqual(after);
    expect(after.map((r) => r.data.item_number)).toEqual(['I-1', 'I-3', 'I-4', 'I-5', 'I-6', 'I-7']);
    expect(after[0]!.data.qty).toBe(100);
    // A reconcile looks up every key: 1,200 bk_hashes of 32 characters. In chunks of 500 the URL was 16.5 KB and
    // the server answered 431 (found by `syncflow reconcile items` on the demo); chunked by URL length, all found.
    const many = [...Array.from({ length: 1197 }, (_, i) => hash(10_000 + i)), hash(1), hash(3), hash(7)];
    expect((await t.fetchByBkHash(many)).map((f) => f.bkHash).sort()).toEqual([hash(1), hash(3), hash(7)]);
    const fetched = await t.fetchByBkHash([hash(1), hash(2), hash(7)]);
    expect(fetched.map((f) => f.bkHash).sort()).toEqual([hash(1), hash(7)]);
    expect(fetched.find((f) => f.bkHash === hash(7))).toMatchObject({
      dataHash: 'd7',
      refStr: 'items[item_number=I-7]',
      rowversion: '7',
    });
    await t.close();
  });

  it('reports a permanent 4xx per record and writes the rest', async () => {
    const t = target();
    sandbox.setFaults({ rejectBkHashes: [hash(12)] });
    const results = await t.apply({
      inserts: [record(11), record(12), record(13, { item_number: '  ' })],
      updates: [],
      deletes: [],
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(results[1]!.error).toMatchObject({ type: 'validation_failed', permanent: true });
    expect(results[2]!.error).toMatchObject({
      type: 'validation_failed',
      permanent: true,
      message: expect.stringContaining('item_number'),
    });
    expect((await state()).map((r) => r.bk_hash)).toEqual([hash(11)]);
    await t.close();
  });

  it('retries 5xx, 429 (Retry-After) and dropped connections on batch calls, without duplicating', async () => {
    const t = target();
    sandbox.setFaults({ serverErrorNext: 1, rateLimitNext: 1, retryAfterSeconds: 1, dropNext: 1 });
    const results = await t.apply({ inserts: [record(21), record(22)], updates: [], deletes: [] });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(retries.map((r) => r.error.code).sort()).toEqual(['connection', 'rate_limited', 'server_error']);
    expect(retries.find((r) => r.error.code === 'rate_limited')?.delayMs).toBe(1000);
    expect(await state()).toHaveLength(2);
    await t.close();
  });

  it('renews tokens: expiry mid-run and a 401', async () => {
    await fetch(`${sandbox.url}/__sandbox/tokens/ttl`, { method: 'PUT', body: JSON.stringify({ ttlSeconds: 1 }) });
    const t = target({ batchSize: 2 });
    sandbox.setFaults({ latencyMs: 120 });
    const results = await t.apply({
      inserts: Array.from({ length: 24 }, (_, i) => record(100 + i)),
      updates: [],
      deletes: [],
    });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(renewals.length).toBeGreaterThan(1);
    await fetch(`${sandbox.url}/__sandbox/tokens/ttl`, { method: 'PUT', body: JSON.stringify({ ttlSeconds: 60 }) });
    sandbox.setFaults({});
    sandbox.revokeTokens();
    const rejected = sandbox.stats().tokens.rejected;
    expect(await t.fetchByBkHash([hash(100)])).toHaveLength(1);
    expect(sandbox.stats().tokens.rejected).toBe(rejected + 1);
    await t.close();
  });

  it('caps requests per minute with a token bucket', async () => {
    const t = target({ rpmCap: 600, batchSize: 1 }); // 10 per second, burst 10
    sandbox.clearRequests();
    await t.apply({ inserts: Array.from({ length: 25 }, (_, i) => record(200 + i)), updates: [], deletes: [] });
    expect(await state()).toHaveLength(25);
    const times = sandbox
      .requests()
      .filter((r) => r.path.endsWith('/batch/insert'))
      .map((r) => r.at);
    expect(times).toHaveLength(25);
    // 25 calls at 10/s after a burst of 10: at least 1.5 s from the first to the last (unlimited: ~0.1 s).
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1400);
    // No window of calls exceeds burst + rate × span (one call of slack for arrival jitter).
    expect(excessOverCap(times, 10, 10)).toBeLessThanOrEqual(1);
    await t.close();
  });

  it('single-record calls answer 201 / 409 / 422 / 404 as outcomes', async () => {
    const client = new SchedulehubClient({
      baseUrl: sandbox.url,
      credentials: sandbox.credentials,
      rpmCap: 6000,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const input = { bk_hash: hash(300), data_hash: 'd', rowversion: '1', ref: 'r', data: { item_number: 'X' } };
    const created = await client.insert('items', input);
    expect(created.ok).toBe(true);
    expect(await client.insert('items', input)).toMatchObject({ ok: false, status: 409, code: 'exists' });
    expect(await client.insert('items', { ...input, bk_hash: hash(301), data: {} })).toMatchObject({
      ok: false,
      status: 422,
      code: 'validation_failed',
    });
    const uid = created.ok ? created.record!.uid : '';
    expect(await client.update('items', uid, { ...input, data: { item_number: 'Y' } })).toMatchObject({
      ok: true,
      record: { data: { item_number: 'Y' } },
    });
    expect((await client.getByBkHash('items', hash(300)))?.uid).toBe(uid);
    expect(await client.remove('items', uid)).toEqual({ ok: true, record: null });
    expect(await client.remove('items', uid)).toMatchObject({ ok: false, status: 404 });
    expect(await client.getByBkHash('items', hash(300))).toBeNull();
    await client.close();
  });

  it('serves its contract document and labels itself a sandbox', async () => {
    const response = await fetch(`${sandbox.url}/api/v1/openapi.json`);
    expect(response.headers.get('x-sandbox')).toBe('true');
    const doc = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/resources/{resource}/batch/insert');
  });

  describe('an answer that does not say what happened (issue 10, finding 11)', () => {
    it('a batch applied but answered 200 text/html is read back: every record counts as written', async () => {
      const t = target();
      const before = sandbox.stats().faults.unknownOutcomes;
      sandbox.setFaults({ unknownOutcomeNext: 1 });
      const inserted = await t.apply({ inserts: [record(401), record(402), record(403)], updates: [], deletes: [] });
      expect(inserted.map((r) => [r.op, r.ok])).toEqual([
        ['insert', true],
        ['insert', true],
        ['insert', true],
      ]);
      const stored = await state();
      expect(inserted.map((r) => r.targetUid)).toEqual(stored.map((r) => r.uid));
      expect(sandbox.stats().faults.unknownOutcomes).toBe(before + 1);

      sandbox.setFaults({ unknownOutcomeNext: 1 });
      const updated = await t.apply({
        inserts: [],
        updates: [{ ...record(401, { qty: 1000 }), dataHash: 'd401-v2' }],
        deletes: [{ bkHash: hash(402), refStr: 'x' }],
      });
      expect(updated.map((r) => r.ok)).toEqual([true, true]);
      sandbox.setFaults({ unknownOutcomeNext: 1 });
      expect((await t.apply({ inserts: [], updates: [], deletes: [{ bkHash: hash(403), refStr: 'y' }] }))[0]!.ok).toBe(
        true,
      );
      expect(await state()).toMatchObject([{ bk_hash: hash(401), data_hash: 'd401-v2', data: { qty: 1000 } }]);
      expect(sandbox.stats().faults.unknownOutcomes).toBe(before + 3);
      await t.close();
    });

    it('records not found after an unknown answer are sent again and keep their real reason', async () => {
      const t = target();
      sandbox.setFaults({ unknownOutcomeNext: 1, rejectBkHashes: [hash(412)] });
      const results = await t.apply({ inserts: [record(411), record(412)], updates: [], deletes: [] });
      expect(results[0]).toMatchObject({ ok: true });
      // Sent again, ScheduleHub answers properly: the refusal is the record's own.
      expect(results[1]).toMatchObject({ ok: false, error: { type: 'validation_failed', permanent: true } });

      sandbox.setFaults({ unknownOutcomeNext: 2, rejectBkHashes: [hash(414)] });
      const twice = await t.apply({ inserts: [record(413), record(414)], updates: [], deletes: [] });
      expect(twice[0]).toMatchObject({ ok: true });
      // Unknown twice: not called landed, not called invalid; retryable, with what happened.
      expect(twice[1]).toMatchObject({
        ok: false,
        error: { type: 'unknown_outcome', permanent: false, message: expect.stringContaining('text/html') },
      });
      expect((await state()).map((r) => r.bk_hash)).toEqual([hash(411), hash(413)]);
      await t.close();
    });
  });
});
