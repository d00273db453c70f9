import type { LogMetadata } from '@temporalio/common';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { LevelWithSilent } from 'pino';
import { logger, rootLogger } from '../log/logger.ts';
import { temporalLogger } from '../log/temporal.ts';

let installed = false;

/** A page-stage worker polls activities only; the SDK warns about that on every start. It is by design. */
const expectedNoise = (message: string, _meta?: LogMetadata) => message.startsWith('No workflows registered');

/** The SDK's own lines at WARN (INFO prints every bundle and state change) unless SyncFlow logs at debug or trace. */
export const sdkLevelFor = (level: LevelWithSilent): LevelWithSilent =>
  level === 'debug' || level === 'trace' ? level : level === 'info' ? 'warn' : level;

const coreFilterLevel = (level: LevelWithSilent) =>
  level === 'trace' ? 'TRACE' : level === 'debug' ? 'DEBUG' : level === 'warn' || level === 'info' ? 'WARN' : 'ERROR';

/**
 * Installs the Temporal SDK runtime once per process: every line of the SDK, its Rust core included
 * (forwarded), and of SyncFlow's workflows (`log` from @temporalio/workflow) and activities
 * (`Context.current().log`) goes through SyncFlow's logger (log/logger.ts, field `logger: "temporal"`) with
 * the SDK's metadata as fields; the SDK's own lines at WARN unless the log level is debug or trace. No signal
 * handlers of its own, so SyncFlow's shutdown decides the order, and, when a port is given, the SDK's own
 * worker metrics (task latencies, slots, polls, sticky cache) in Prometheus format at
 * http://127.0.0.1:<port>/metrics.
 */
export function installWorkerRuntime(
  logLevel: LevelWithSilent = rootLogger.level as LevelWithSilent,
  metricsPort: number | undefined = undefined,
) {
  if (installed) return;
  installed = true;
  const sdkLevel = sdkLevelFor(logLevel);
  const base = logger('temporal');
  base.level = logLevel;
  Runtime.install({
    logger: temporalLogger(base, { sdkLevel, drop: expectedNoise }),
    shutdownSignals: [],
    telemetryOptions: {
      logging: {
        forward: {},
        filter: makeTelemetryFilterString({ core: coreFilterLevel(sdkLevel), other: 'ERROR' }),
      },
      ...(metricsPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } : {}),
    },
  });
}
