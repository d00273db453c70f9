import { InfraError } from '../infra/errors.ts';

/**
 * Runs an entry point: prints an operator-fixable error as one paragraph (no
 * stack), and turns the first SIGINT/SIGTERM into an orderly shutdown; a
 * second signal forces the exit.
 */
export async function runMain(main: (onShutdown: (stop: () => Promise<void>) => void) => Promise<void>) {
  const stops: Array<() => Promise<void>> = [];
  let shutdownStartedAt = 0;
  const shutdown = async (signal: string) => {
    if (shutdownStartedAt) {
      // Ctrl-C reaches both npm/tsx and this process, and tsx relays it: the same keypress can arrive twice.
      if (Date.now() - shutdownStartedAt < 2_000) return;
      console.error(`\n${signal} again: exiting now.`);
      process.exit(130);
    }
    shutdownStartedAt = Date.now();
    console.log(`\n${signal}: shutting down…`);
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        console.error(`  shutdown step failed: ${(error as Error).message}`);
      }
    }
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await main((stop) => stops.push(stop));
  } catch (error) {
    if (error instanceof InfraError) {
      console.error(`\nSyncFlow cannot start: ${error.describe()}`);
    } else {
      console.error('\nSyncFlow stopped on an unexpected error:', error);
    }
    for (const stop of stops.reverse()) await stop().catch(() => {});
    process.exit(1);
  }
}
