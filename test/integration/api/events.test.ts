import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../../db/api-keys.ts';
import { recordEvent } from '../../../db/events.ts';
import { openStream } from './sse-client.ts';
import { type ApiTestContext, createApiTestContext } from './support.ts';

const NAME = 'api_events_items';

describe('events API', () => {
  let t: ApiTestContext;
  let url: string;
  let firstId: bigint;
  beforeAll(async () => {
    t = await createApiTestContext('events');
    url = (await t.serve()).url;
    await t.prisma.syncEvent.deleteMany({ where: { entityName: NAME } });
    firstId = await recordEvent(t.prisma, { type: 'sync.started', entityName: NAME, payload: { n: 0 } });
    for (let n = 1; n < 5; n++) {
      await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME, payload: { n } });
    }
  });
  afterAll(async () => {
    await t.prisma.syncEvent.deleteMany({ where: { entityName: NAME } });
    await t.close();
  });

  it('polls events after a cursor, oldest first, with the next cursor', async () => {
    const since = Number(firstId) - 1;
    const first = await t.call('GET', `/events?since=${since}&entity=${NAME}&limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.events.map((e: { payload: { n: number } }) => e.payload.n)).toEqual([0, 1, 2]);
    expect(first.body.events[0]).toMatchObject({ type: 'sync.started', entityName: NAME, id: Number(firstId) });
    const rest = await t.call('GET', `/events?since=${first.body.nextSince}&entity=${NAME}`);
    expect(rest.body.events.map((e: { payload: { n: number } }) => e.payload.n)).toEqual([3, 4]);
    const none = await t.call('GET', `/events?since=${rest.body.nextSince}&entity=${NAME}`);
    expect(none.body).toEqual({ events: [], nextSince: rest.body.nextSince });
  });

  it('rejects a bad cursor or limit with 400 naming it, and needs a key', async () => {
    const bad = await t.call('GET', '/events?since=-1&limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(['since', 'limit']);
    expect((await t.call('GET', '/events', { key: null })).status).toBe(401);
    const stream = await fetch(`${url}/api/v1/events/stream`);
    expect(stream.status).toBe(401);
    await stream.body?.cancel();
  });

  it('streams events as SSE and resumes after a reconnect with Last-Event-ID, with no gaps', async () => {
    const since = String(Number(firstId) - 1);
    const first = await openStream(`${url}/api/v1/events/stream?since=${since}&entity=${NAME}`, t.key);
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('content-type')).toContain('text/event-stream');
    const received = await first.waitFor(5);
    expect(received.map((e) => JSON.parse(e.data!).payload.n)).toEqual([0, 1, 2, 3, 4]);
    expect(received[0]).toMatchObject({ id: firstId.toString(), event: 'sync.started' });

    // Live: an event written while connected arrives.
    await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME, payload: { n: 5 } });
    await first.waitFor(6);
    const lastSeen = first.events.at(-1)!.id!;
    await first.close();

    // Written while disconnected: the reconnecting client must get all of them, in order, once.
    for (let n = 6; n < 9; n++) {
      await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME, payload: { n } });
    }
    await recordEvent(t.prisma, { type: 'sync.completed', entityName: NAME, payload: { n: 9 } });
    const second = await openStream(`${url}/api/v1/events/stream?since=0&entity=${NAME}`, t.key, {
      'last-event-id': lastSeen,
    });
    const resumed = await second.waitFor(4);
    await new Promise((r) => setTimeout(r, 300));
    expect(second.events.map((e) => JSON.parse(e.data!).payload.n)).toEqual([6, 7, 8, 9]);
    expect(resumed.at(-1)?.event).toBe('sync.completed');
    const ids = [...first.events, ...second.events].map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    await second.close();
  });

  it('sends heartbeats on an idle stream; with no cursor it starts at new events', async () => {
    const stream = await openStream(`${url}/api/v1/events/stream?entity=${NAME}`, t.key);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stream.events).toHaveLength(0);
    expect(stream.comments()).toBeGreaterThanOrEqual(2); // ': connected' and at least one heartbeat
    await recordEvent(t.prisma, { type: 'circuit.opened', entityName: NAME, payload: { n: 10 } });
    const [event] = await stream.waitFor(1);
    expect(event).toMatchObject({ event: 'circuit.opened' });
    await stream.close();
  });

  it('closes an open stream within seconds once its key is revoked (and keeps nothing flowing to it)', async () => {
    const viewer = await createApiKey(t.prisma, 'test-events-viewer', 'viewer');
    const stream = await openStream(`${url}/api/v1/events/stream?entity=${NAME}`, viewer.key);
    expect(stream.response.status).toBe(200);
    await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME, payload: { n: 'before' } });
    await stream.waitFor(1);
    await revokeApiKey(t.prisma, viewer.uid);
    // The test app checks keys with every heartbeat (400 ms here; at most every 5 s by default).
    const [, closing] = await stream.waitFor(2, 5_000);
    expect(closing).toMatchObject({ event: 'error' });
    expect(JSON.parse(closing!.data!).error.code).toBe('unauthorized');
    await recordEvent(t.prisma, { type: 'sync.page_completed', entityName: NAME, payload: { n: 'after' } });
    await new Promise((r) => setTimeout(r, 800));
    expect(stream.events.map((e) => e.event)).toEqual(['sync.page_completed', 'error']);
    await stream.close();
  });

  it('rejects a malformed Last-Event-ID with 400', async () => {
    const response = await fetch(`${url}/api/v1/events/stream`, {
      headers: { authorization: `Bearer ${t.key}`, 'last-event-id': 'yesterday' },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { details: Array<{ field: string }> } };
    expect(body.error.details[0]!.field).toBe('Last-Event-ID');
  });
});
