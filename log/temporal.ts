import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import type { Level, LevelWithSilent, Logger } from 'pino';
import { atLeast } from './logger.ts';

/** The SDK's levels as pino's. */
export const SDK_LEVELS: Record<LogLevel, Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's components whose lines are SyncFlow's own (`log` in workflow code, `Context.current().log`). */
const USER_COMPONENTS = new Set(['workflow', 'activity', 'nexus']);

export interface TemporalLoggerOptions {
  /**
   * The SDK's own lines (its worker and its Rust core) below this level are dropped: at INFO it prints every
   * bundle and state change. Lines of SyncFlow's workflows and activities follow the logger's level only.
   */
  sdkLevel?: LevelWithSilent;
  /** Lines never printed (expected noise). */
  drop?: (message: string, meta: LogMetadata) => boolean;
}

/**
 * The Temporal SDK's `Logger` (Runtime.install({ logger }), MockActivityEnvironment) writing into pino. The SDK's
 * metadata become fields: for an activity workflowId, workflowRunId, workflowType, activityType, activityId,
 * attempt, taskQueue, namespace; for a workflow workflowId, runId, workflowType, taskQueue, namespace; for the
 * core its `target`. `sdkComponent` says which (workflow, activity, worker, core); an `error` is serialized as
 * an error; the activity's task token (a capability, and noise) is left out.
 */
export function temporalLogger(base: Logger, options: TemporalLoggerOptions = {}): SdkLogger {
  const sdkLevel = options.sdkLevel ?? (base.level as LevelWithSilent);
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    const lvl = SDK_LEVELS[level] ?? 'info';
    const component = typeof meta.sdkComponent === 'string' ? meta.sdkComponent : undefined;
    if (!(component && USER_COMPONENTS.has(component)) && !atLeast(lvl, sdkLevel)) return;
    if (!base.isLevelEnabled(lvl)) return;
    if (options.drop?.(message, meta)) return;
    // Object spread copies symbol keys (the SDK's LogTimestamp): pino's for…in skips them.
    const { taskToken: _taskToken, spanContexts, ...fields } = meta;
    if (Array.isArray(spanContexts) && spanContexts.length > 0) fields.spanContexts = spanContexts;
    base[lvl](fields, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
