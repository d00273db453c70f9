import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * Installs the Temporal SDK runtime once per process: its logger at WARN
 * (INFO prints every bundle and state change) unless LOG_LEVEL=debug, and no
 * signal handlers of its own, so SyncFlow's shutdown decides the order.
 */
export function installWorkerRuntime(logLevel: string = process.env.LOG_LEVEL ?? 'info') {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(logLevel === 'debug' ? 'DEBUG' : 'WARN'),
    shutdownSignals: [],
  });
}
