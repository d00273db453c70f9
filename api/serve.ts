import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { InfraError } from '../infra/errors.ts';
import type { App } from './app.ts';

/** Listens on host:port; a taken port is an operator error with a fix, not a stack trace. */
export function listen(app: App, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, () => {
      // Port 0 (tests) means "any free port": report the one the system chose.
      const bound = (server.address() as AddressInfo | null)?.port ?? port;
      resolve({
        url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    }) as Server;
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new InfraError(`Port ${port} (the API) is taken by another program.`, 'Stop that program or set PORT.')
          : error,
      );
    });
  });
}
