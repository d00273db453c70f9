import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../../db/events.ts';
import { type ApiTestContext, createApiTestContext } from './support.ts';

const NAME = 'api_paging_items';

/**
 * Cursor paging on every paged route, against the real database: following
 * nextCursor (nextSince for events) with any page size lists exactly the rows
 * of one big page, in the same order. Rows are written in groups by one
 * statement each, so they share created_at to the microsecond (ties), which a
 * JS Date cannot even represent: the cause of finding 12 (14 of 36 listed).
 */
describe('cursor paging = one big page', () => {
  let t: ApiTestContext;
  beforeAll(async () => {
    t = await createApiTestContext('paging');
  });
  afterAll(async () => {
    await clear();
    await t.close();
  });

  async function clear() {
    await t.prisma.syncBatch.deleteMany({ where: { entityName: NAME } });
    await t.prisma.syncEvent.deleteMany({ where: { entityName: NAME } });
  }

  /** `groups[i]` rows written by one statement each (one created_at per group); a batch per group. */
  async function seed(groups: number[]) {
    await clear();
    for (const [g, size] of groups.entries()) {
      const batchUid = randomUUID();
      await t.prisma.syncBatch.create({ data: { uid: batchUid, entityName: NAME, syncType: 'full' } });
      await t.prisma.failedRecord.createMany({
        data: Array.from({ length: size }, (_, i) => ({
          batchUid,
          entityName: NAME,
          idempotencyKey: `${NAME}:${batchUid}:${i}`,
          stage: 'validate',
          errorType: 'validation_failed',
          errorMessage: `row ${g}.${i}`,
        })),
      });
      await t.prisma.pendingChild.createMany({
        data: Array.from({ length: size }, (_, i) => ({
          batchUid,
          entityName: NAME,
          childBkHash: `${g}-${i}-`.padEnd(32, '0'),
          parentEntity: 'api_paging_parent',
          parentBkHash: 'p'.padEnd(32, '0'),
          childPayload: {},
        })),
      });
      // Batches by one statement too, so they tie as well.
      await t.prisma.syncBatch.createMany({
        data: Array.from({ length: size }, () => ({ entityName: NAME, syncType: 'incremental' })),
      });
      for (let i = 0; i < size; i++) await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME });
    }
  }

  const routes = [
    { path: '/monitoring/failed-records', list: 'records' },
    { path: '/monitoring/pending-children', list: 'children' },
    { path: '/sync/history', list: 'batches' },
  ] as const;

  async function followCursors(path: string, list: string, pageSize: number) {
    const uids: string[] = [];
    let pages = 0;
    let cursor: string | null = null;
    do {
      const query: string = `${path}?entity=${NAME}&pageSize=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.call('GET', query);
      expect(page.status, query).toBe(200);
      uids.push(...page.body[list].map((r: { uid?: string; batchUid: string }) => r.uid ?? r.batchUid));
      cursor = page.body.pagination.nextCursor;
      pages++;
      expect(pages).toBeLessThan(200);
    } while (cursor);
    return { uids, pages };
  }

  async function followEvents(limit: number) {
    const ids: number[] = [];
    let since = 0;
    let pages = 0;
    for (;;) {
      const page = await t.call('GET', `/events?entity=${NAME}&since=${since}&limit=${limit}`);
      pages++;
      if (page.body.events.length === 0) return { ids, pages };
      ids.push(...page.body.events.map((e: { id: number }) => e.id));
      since = page.body.nextSince;
    }
  }

  it('for random row groups (ties on created_at) and random page sizes', async () => {
    let multiPage = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 12 }),
        async (groups, pageSize) => {
          runs++;
          await seed(groups);
          const total = groups.reduce((a, b) => a + b, 0);
          for (const { path, list } of routes) {
            const all = await t.call('GET', `${path}?entity=${NAME}&pageSize=100`);
            const expected = all.body[list].map((r: { uid?: string; batchUid: string }) => r.uid ?? r.batchUid);
            expect(expected.length, path).toBe(path === '/sync/history' ? total + groups.length : total);
            const followed = await followCursors(path, list, pageSize);
            expect(followed.uids, `${path} pageSize=${pageSize} groups=${groups}`).toEqual(expected);
            if (followed.pages > 1) multiPage++;
          }
          const allEvents = await t.call('GET', `/events?entity=${NAME}&since=0&limit=1000`);
          const events = await followEvents(pageSize);
          expect(events.ids).toEqual(allEvents.body.events.map((e: { id: number }) => e.id));
        },
      ),
      { numRuns: 25 },
    );
    // The generator must have produced cases that actually page.
    expect(runs).toBe(25);
    expect(multiPage).toBeGreaterThan(10);
  }, 240_000);

  it('answers 400 naming cursor, never 500, for a cursor whose uid is not a UUID (fuzz:api)', async () => {
    // `[0-9a-f-]{36}` passed the decoder, and PostgreSQL refused the text as a uuid: a 500.
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const uid of ['-'.repeat(36), '0'.repeat(36), 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa-']) {
      for (const path of ['/monitoring/failed-records', '/monitoring/pending-children', '/sync/history']) {
        const response = await t.call('GET', `${path}?cursor=${cursor(['2024-01-01T00:00:00.000Z', uid])}`);
        expect(response.status, `${path} ${uid}`).toBe(400);
        expect(response.body.error.details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
      }
    }
    // A well-formed cursor of a row that does not exist is an empty page, not an error.
    const unknown = await t.call('GET', `/sync/history?cursor=${cursor(['2024-01-01T00:00:00.000Z', randomUUID()])}`);
    expect(unknown.status).toBe(200);
    expect(unknown.body.batches).toEqual([]);
  });

  it('lists the 36 records of finding 12 with pageSize=7 and cursors', async () => {
    await seed([12, 12, 12]);
    const followed = await followCursors('/monitoring/failed-records', 'records', 7);
    expect(followed.pages).toBe(6);
    expect(new Set(followed.uids).size).toBe(36);
  });

  it('does not let a row that left the filter since take another row’s place', async () => {
    await seed([10]);
    const first = await t.call('GET', `/monitoring/failed-records?entity=${NAME}&pageSize=4`);
    const firstUids = first.body.records.map((r: { uid: string }) => r.uid);
    // The cursor row is resolved meanwhile: it no longer matches status=unresolved.
    await t.prisma.failedRecord.update({ where: { uid: firstUids.at(-1) }, data: { resolvedAt: new Date() } });
    const rest = await followCursors('/monitoring/failed-records', 'records', 4);
    const next = await t.call(
      'GET',
      `/monitoring/failed-records?entity=${NAME}&pageSize=100&cursor=${first.body.pagination.nextCursor}`,
    );
    expect(next.body.records).toHaveLength(6);
    expect(rest.uids).toHaveLength(9);
  });
});
