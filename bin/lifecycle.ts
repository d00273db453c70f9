import { InfraError } from '../infra/errors.ts';
import { logger } from '../log/logger.ts';

const log = logger('process');

/** Registers a step to run on shutdown; steps run in reverse order of registration. */
export type OnShutdown = (stop: () => Promise<void>) => void;
/** Starts the orderly shutdown from within (a child gone, a parent gone); `exitCode` is the process's. */
export type Shutdown = (reason: string, exitCode?: number) => void;

/**
 * Runs an entry point: logs an operator-fixable error as its message and fix
 * (no stack), and turns the first SIGINT/SIGTERM (or a `shutdown(reason)` call)
 * into an orderly shutdown; a second signal forces the exit. `quiet` leaves
 * out the "shutting down" / "stopped" lines (a child whose parent logs its own).
 */
export async function runMain(
  main: (onShutdown: OnShutdown, shutdown: Shutdown) => Promise<void>,
  options: { quiet?: boolean } = {},
) {
  const stops: Array<() => Promise<void>> = [];
  const say = options.quiet
    ? () => {}
    : (message: string, fields: Record<string, unknown> = {}) => log.info(fields, message);
  let shutdownStartedAt = 0;
  const shutdown = async (reason: string, exitCode = 0) => {
    if (shutdownStartedAt) {
      if (exitCode !== 0) return; // a failure noticed while already stopping changes nothing
      // Ctrl-C reaches both npm/tsx and this process, and tsx relays it: the same keypress can arrive twice.
      if (Date.now() - shutdownStartedAt < 2_000) return;
      log.warn({ reason }, `${reason} again: exiting now`);
      process.exit(130);
    }
    shutdownStartedAt = Date.now();
    say(`${reason}: shutting down`, { reason });
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log.error({ err: error }, `shutdown step failed: ${(error as Error).message}`);
      }
    }
    say('stopped', { exitCode });
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await main(
      (stop) => stops.push(stop),
      (reason, exitCode) => void shutdown(reason, exitCode),
    );
  } catch (error) {
    if (error instanceof InfraError) {
      log.fatal({ fix: error.fix }, `SyncFlow cannot start: ${error.message}`);
    } else {
      log.fatal({ err: error }, 'SyncFlow stopped on an unexpected error');
    }
    for (const stop of stops.reverse()) await stop().catch(() => {});
    process.exit(1);
  }
}
