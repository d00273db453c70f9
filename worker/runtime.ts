import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';

let installed = false;

/** A page-stage worker polls activities only; the SDK warns about that on every start. It is by design. */
const expectedNoise = (entry: LogEntry) => entry.message.startsWith('No workflows registered');

/**
 * Installs the Temporal SDK runtime once per process: its logger at WARN
 * (INFO prints every bundle and state change) unless LOG_LEVEL=debug, no
 * signal handlers of its own, so SyncFlow's shutdown decides the order, and,
 * when a port is given, the SDK's own worker metrics (task latencies, slots,
 * polls, sticky cache) in Prometheus format at http://127.0.0.1:<port>/metrics.
 */
export function installWorkerRuntime(
  logLevel: string = process.env.LOG_LEVEL ?? 'info',
  metricsPort: number | undefined = undefined,
) {
  if (installed) return;
  installed = true;
  const level = logLevel === 'debug' ? 'DEBUG' : 'WARN';
  const print = new DefaultLogger(level);
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      if (!expectedNoise(entry)) print.log(entry.level, entry.message, entry.meta);
    }),
    shutdownSignals: [],
    ...(metricsPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } }
      : {}),
  });
}
