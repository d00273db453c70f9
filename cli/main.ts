import { Command, Option } from 'commander';
import { version } from '../api/version.ts';
import { CliError, createApiClient } from './api-client.ts';
import { registerBackground } from './commands/background.ts';
import { registerConnections } from './commands/connections.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerEntities } from './commands/entities.ts';
import { registerKeys } from './commands/keys.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerReconcile } from './commands/reconcile.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerSync } from './commands/sync.ts';
import { registerTrace } from './commands/trace.ts';

/**
 * The `syncflow` CLI. Every command but `keys` talks HTTP to the control API
 * (--url / SYNCFLOW_URL, --key / SYNCFLOW_API_KEY), so it works against a
 * remote SyncFlow as well as a local `npm start`.
 */
export function buildProgram(): Command {
  const program = new Command('syncflow')
    .description('Operate SyncFlow: connections, entities, syncs, reconciles, the dead-letter queue and API keys.')
    .version(version)
    .addOption(new Option('--url <url>', 'the SyncFlow API').env('SYNCFLOW_URL').default('http://127.0.0.1:3000'))
    // From the environment without showing its value in --help (and better kept out of `ps` that way).
    .addOption(new Option('--key <key>', 'an API key').env('SYNCFLOW_API_KEY'))
    .showHelpAfterError();
  const api = () => {
    const { url, key } = program.opts<{ url: string; key?: string }>();
    return createApiClient({ url, key });
  };
  registerConnections(program, api);
  registerEntities(program, api);
  registerSync(program, api);
  registerBackground(program, api);
  registerSchedule(program, api);
  registerDlq(program, api);
  registerReconcile(program, api);
  registerMigrate(program, api);
  registerTrace(program, api);
  registerKeys(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const message = error instanceof CliError ? error.message : `Unexpected error: ${(error as Error).message}`;
    process.stderr.write(`syncflow: ${message}\n`);
    process.exitCode = 1;
  }
}
