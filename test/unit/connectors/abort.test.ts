import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { abortableSleep } from '../../../connectors/abort.ts';
import { JsonHttpClient } from '../../../connectors/http/json-client.ts';
import { silentLogger } from '../../../connectors/logger.ts';

/** Issue 11, items 1 and 3: a cancelled activity's signal stops HTTP requests and retry waits at once. */
describe('JsonHttpClient with an AbortSignal', () => {
  let server: Server;
  let baseUrl: string;
  let requests = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url?.startsWith('/busy')) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
        res.end('{"error":{"message":"busy"}}');
      }
      // /hang: never answers (a target stuck in a long write)
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // A long Retry-After is waited for in-process here (by default it goes up to Temporal as nextRetryDelay).
  const client = () =>
    new JsonHttpClient({ connector: 'test', baseUrl, logger: silentLogger, retry: { maxRetryAfterMs: 60_000 } });
  const ask = (http: JsonHttpClient, path: string, signal: AbortSignal) =>
    http.request({ operation: 'test', method: 'POST', path, body: {}, schema: z.unknown(), signal });

  it('stops a request in flight with the signal’s reason, without retrying', async () => {
    const http = client();
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const before = requests;
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 100);
    await expect(ask(http, '/hang', controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(requests - before).toBe(1);
    await http.close();
  });

  it('stops a Retry-After wait between attempts', async () => {
    const http = client();
    const controller = new AbortController();
    const before = requests;
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await expect(ask(http, '/busy', controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2_000); // not the 30 s the server asked for
    expect(requests - before).toBe(1);
    await http.close();
  });

  it('sends nothing when the signal has already fired', async () => {
    const http = client();
    const before = requests;
    await expect(ask(http, '/busy', AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests).toBe(before);
    await http.close();
  });
});

describe('abortableSleep', () => {
  it('ends early with an abort error', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(abortableSleep(10_000, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
