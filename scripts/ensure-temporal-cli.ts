import { InfraError } from '../infra/errors.ts';
import { resolveTemporalCli } from '../infra/temporal-cli.ts';

/** Makes sure a Temporal CLI is available (building and caching the pinned one when needed). Used by CI. */
try {
  const cli = await resolveTemporalCli({ log: console.log });
  if (!cli) {
    throw new InfraError(
      'No Temporal CLI found and Go is not installed to build one.',
      'Install Go, or the Temporal CLI (then set TEMPORAL_CLI_PATH).',
    );
  }
  console.log(`Temporal CLI: ${cli.path} (${cli.origin})`);
} catch (error) {
  console.error(error instanceof InfraError ? error.describe() : error);
  process.exit(1);
}
