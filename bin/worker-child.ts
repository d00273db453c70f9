import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InfraError } from '../infra/errors.ts';
import { logger } from '../log/logger.ts';

const workerEntry = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface WorkerChild {
  readonly pid: number;
  /** Resolves once the child polls; rejects (naming the exit) if it ends or stalls before. */
  readonly ready: Promise<void>;
  /** Drains it: SIGTERM, then waits for its exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `npm start`'s worker: bin/worker.ts in a child Node process (same runtime and loader, e.g. tsx), so
 * the pipeline's synchronous work (normalize, validate, hash a page) never runs on the API's event
 * loop. Configured through its environment; an IPC channel carries its readiness, and its closing
 * (this process gone, even by SIGKILL) makes the child shut down. Its own process group: a terminal's
 * Ctrl-C reaches this process only, which drains the worker in its turn, before Temporal stops.
 * `onUnexpectedExit` is called if it ends after `ready` without `stop()`.
 */
export function startWorkerChild(options: {
  env: Record<string, string>;
  onUnexpectedExit: (description: string) => void;
  readyTimeoutMs?: number;
}): WorkerChild {
  const child = fork(workerEntry, [], {
    execPath: process.execPath,
    execArgv: process.execArgv,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  let stopping = false;
  let isReady = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new InfraError(
          `The worker process (pid ${child.pid}) did not start polling within ${readyTimeoutMs / 1000} s.`,
          'Its output is above; check that Temporal is reachable.',
        ),
      );
    }, readyTimeoutMs);
    child.on('message', (message: { ready?: boolean }) => {
      if (message?.ready !== true) return;
      clearTimeout(timer);
      isReady = true;
      resolve();
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((how) => {
      clearTimeout(timer);
      if (!isReady) {
        reject(
          new InfraError(
            `The worker process (pid ${child.pid}) ended before it was ready (${how}).`,
            'Its output is above.',
          ),
        );
      } else if (!stopping) {
        options.onUnexpectedExit(`the worker process (pid ${child.pid}) ended unexpectedly (${how})`);
      }
    });
  });
  ready.catch(() => {}); // awaited by the caller later; an early failure must not count as unhandled
  return {
    pid: child.pid ?? 0,
    ready,
    async stop(graceMs = 60_000) {
      stopping = true;
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        logger('process').warn(
          { workerPid: child.pid, graceMs },
          `the worker did not drain within ${graceMs / 1000} s: killing it`,
        );
        child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
