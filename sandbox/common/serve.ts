import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { freePort } from '../../infra/ports.ts';

export interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves a fetch handler on 127.0.0.1 (a free port unless one is given); close() also ends keep-alive connections. */
export async function serveOnPort(fetch: Parameters<typeof serve>[0]['fetch'], port?: number): Promise<Served> {
  const chosen = port || (await freePort()); // 0 too means "any free port"
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, port: chosen, hostname: '127.0.0.1' }, () => resolve(s as Server));
    (s as Server).once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${chosen}`,
    port: chosen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
