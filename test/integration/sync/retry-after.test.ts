import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { startSync } from '../../../control/syncs.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import type { SchedulehubSandbox } from '../../../sandbox/index.ts';
import { createHarness, type Harness, startSchedulehubTarget } from '../../support/harness.ts';
import {
  balanced,
  createItemSource,
  itemEntity,
  itemRows,
  registerEntity,
  waitForBatch,
} from '../../support/sync-fixtures.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Issue 11, fault cases: a target that answers 429 with `Retry-After: 40`. The HTTP client waits a
 * Retry-After in-process only up to 5 s (connectors/http/backoff.ts, maxRetryAfterMs); 40 s is beyond that,
 * so the 429 leaves the INGEST activity at once as a retryable ConnectorRateLimited failure whose
 * nextRetryDelay is the server's 40 s (activities/failures.ts), and Temporal runs the next attempt then:
 * not earlier (Temporal's own backoff would be 1 s), not again in-process (no retry storm), and the page
 * is not redone from FETCH. The batch completes with the target equal to the source.
 *
 * The 429 is the sandbox's `rateLimitNext` fault, armed once the batch has made its only earlier ScheduleHub
 * call (the target's ensure in beginBatch): the source table is locked until then, so the next call the
 * sandbox sees is the first batch write, deterministically.
 */
describe('a target answering 429 with Retry-After: 40', () => {
  let h: Harness;
  let pool: pg.Pool;
  let sandbox: SchedulehubSandbox;
  const id = randomUUID().slice(0, 8);
  const schema = `rtaft_${id}`;
  const entity = `items_rtaft_${id}`;
  const connection = `planning-${id}`;
  const ROWS = 250; // three pages of 100: 100, 100, 50
  const PAGES = 3;
  const RETRY_AFTER_S = 40;
  const deps = () => ({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue });

  beforeAll(async () => {
    h = await createHarness('retry-after');
    pool = createPool(h.databaseUrl);
    sandbox = await startSchedulehubTarget(h, connection, { schema: `sh_${id}` });
    await createItemSource(pool, schema, itemRows(ROWS));
    await registerEntity(
      h,
      itemEntity(entity, schema, {
        pageSize: 100,
        targets: [
          {
            type: 'schedulehub',
            name: 'planning',
            role: 'primary',
            connection,
            resource: entity,
            rpmCap: 6000,
            batchSize: 100, // one batch call per page
          },
        ],
      }),
    );
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
    await sandbox?.stop();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.query(`DROP SCHEMA IF EXISTS sh_${id} CASCADE`);
    await pool?.end();
  });

  it('waits the 40 s in Temporal (nextRetryDelay), not in-process and not earlier, and completes exactly', async () => {
    // Hold the source until the batch has made its ensure call, then arm the 429 for the next call: the first write.
    const lock = await pool.connect();
    let batchUid: string;
    try {
      await lock.query('BEGIN');
      await lock.query(`LOCK TABLE ${schema}.items IN ACCESS EXCLUSIVE MODE`);
      sandbox.clearRequests();
      const [started] = await startSync(deps(), { entities: [entity], syncType: 'full', execute: true });
      batchUid = started!.batchUid;
      const deadline = Date.now() + 30_000;
      while (sandbox.requests().length === 0) {
        if (Date.now() > deadline) throw new Error('the batch never called ScheduleHub (ensure)');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(sandbox.requests()).toMatchObject([{ method: 'GET' }]); // the ensure's lookup, nothing written yet
      sandbox.setFaults({ rateLimitNext: 1, retryAfterSeconds: RETRY_AFTER_S });
    } finally {
      await lock.query('COMMIT').catch(() => {});
      lock.release();
    }

    // While the page waits: the Web UI (describe's pending activities) shows INGEST's last failure and its next attempt.
    const status0 = await h.prisma.syncBatch.findUniqueOrThrow({ where: { uid: batchUid } });
    const handle = h.client.workflow.getHandle(status0.workflowId!);
    let pendingIngest: temporal.api.workflow.v1.IPendingActivityInfo | undefined;
    for (const until = Date.now() + 30_000; !pendingIngest && Date.now() < until; ) {
      const described = await handle.describe();
      pendingIngest = described.raw.pendingActivities?.find(
        (a) => a.activityType?.name === 'ingestPage' && (a.attempt ?? 0) >= 2,
      );
      if (!pendingIngest) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pendingIngest).toBeDefined();
    expect(pendingIngest!.lastFailure?.message).toMatch(/^schedulehub .*: rate limited \(429\), retry after 40000 ms$/);
    expect(pendingIngest!.lastFailure?.applicationFailureInfo?.type).toBe('ConnectorRateLimited');
    expect(pendingIngest!.lastFailure?.applicationFailureInfo?.nonRetryable).toBeFalsy();

    // …and GET /sync/status says the batch is running and why it is not moving: INGEST waits for its retry.
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    const { key } = await createApiKey(h.prisma, `retry-after-${id}`, 'viewer');
    const waiting = await app.request(`/api/v1/sync/status/${batchUid}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(waiting.status).toBe(200);
    const view = (await waiting.json()) as {
      status: string;
      retrying: Array<{ activity: string; attempt: number; lastFailure: string; nextAttemptAt: string | null }>;
    };
    expect(view.status).toBe('running');
    expect(view.retrying).toEqual([
      {
        activity: 'ingestPage',
        attempt: 2,
        lastFailure: expect.stringMatching(/^schedulehub .*: rate limited \(429\), retry after 40000 ms$/),
        nextAttemptAt: expect.any(String),
      },
    ]);
    // The next attempt is the server's Retry-After away, not the retry policy's 1 s.
    expect(Date.parse(view.retrying[0]!.nextAttemptAt!) - Date.now()).toBeGreaterThan(25_000);

    const done = await waitForBatch(h, batchUid, 120_000);
    expect(done).toMatchObject({ status: 'completed', fetched: ROWS, inserted: ROWS, updated: 0, failed: 0 });
    expect(balanced(done)).toBe(true);

    // What the sandbox saw: the ensure, one 429, one write per page and one more for the retried page. No storm.
    expect(sandbox.stats().faults.rateLimited).toBe(1);
    const requests = sandbox.requests();
    const writes = requests.filter((r) => r.method === 'POST');
    expect(writes.every((r) => r.path.endsWith('/batch/insert'))).toBe(true);
    expect(writes).toHaveLength(PAGES + 1);
    expect(requests.filter((r) => r.method !== 'POST')).toHaveLength(1);
    const refusedAt = writes[0]!.at; // the first write is the one the sandbox answered 429
    const early = writes.slice(1).filter((r) => r.at < refusedAt + RETRY_AFTER_S * 1000);
    const late = writes.slice(1).filter((r) => r.at >= refusedAt + RETRY_AFTER_S * 1000);
    expect(early).toHaveLength(PAGES - 1); // the other pages' writes went on meanwhile
    expect(late).toHaveLength(1); // the refused page's second attempt, after the Retry-After…
    expect(late[0]!.at - refusedAt).toBeLessThan((RETRY_AFTER_S + 10) * 1000); // …and not long after
    console.log(`the refused page was written again ${late[0]!.at - refusedAt} ms after the 429`);

    // The history: the page's INGEST retried by Temporal (attempt 2, after ConnectorRateLimited); nothing redone.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = (name: string) =>
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name);
    expect(scheduled('fetchPage')).toHaveLength(PAGES); // no page redone from FETCH
    expect(scheduled('ingestPage')).toHaveLength(PAGES);
    expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toHaveLength(0);
    expect(events.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(0);
    const startedOf = (s: HistoryEvent) =>
      events.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === s.eventId?.toString())
        ?.activityTaskStartedEventAttributes;
    const ingests = scheduled('ingestPage').map((s) => ({
      page: (
        defaultPayloadConverter.fromPayload(s.activityTaskScheduledEventAttributes!.input!.payloads![0]!) as {
          page: number;
        }
      ).page,
      started: startedOf(s),
    }));
    const retried = ingests.filter((i) => (i.started?.attempt ?? 1) > 1);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ page: 0, started: { attempt: 2 } });
    expect(retried[0]!.started?.lastFailure?.applicationFailureInfo?.type).toBe('ConnectorRateLimited');
    expect(retried[0]!.started?.lastFailure?.message).toContain('retry after 40000 ms');

    // The target equals the source: every key once, each with the source's current row version.
    const stored = await sandbox.store.all(entity);
    expect(stored).toHaveLength(ROWS);
    expect(new Set(stored.map((r) => r.bk_hash)).size).toBe(ROWS);
    const source = await pool.query<{ key: string; rv: string }>(
      `SELECT upper(part_no) || '|' || plant AS key, row_version::text AS rv FROM ${schema}.items`,
    );
    const target = new Map(
      stored.map((r) => {
        const data = r.data as { part_no: string; plant: string; rv: unknown };
        return [`${data.part_no}|${data.plant}`, String(data.rv)];
      }),
    );
    expect(target.size).toBe(ROWS);
    for (const row of source.rows) expect(target.get(row.key)).toBe(row.rv);
    const dlq = await h.prisma.failedRecord.count({ where: { batchUid } });
    expect(dlq).toBe(0);
  }, 120_000);
});
