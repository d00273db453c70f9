import { type Command, Option } from 'commander';
import { type ApiKeyRole, apiKeyRoles, createApiKey, listApiKeys, revokeApiKey } from '../../db/api-keys.ts';
import { createPrisma, type Prisma } from '../../db/prisma.ts';
import { CliError } from '../api-client.ts';
import { print, table } from '../output.ts';

/**
 * `syncflow keys …` works on the database directly (DATABASE_URL): a key is
 * what the API needs, so the first one cannot come through the API. Without
 * DATABASE_URL it uses the embedded database `npm start` runs.
 */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  return `postgresql://syncflow:syncflow@127.0.0.1:${env.SYNCFLOW_PG_PORT || 54329}/syncflow`;
}

async function withDatabase<T>(run: (prisma: Prisma) => Promise<T>): Promise<T> {
  const url = databaseUrl();
  const prisma = createPrisma(url, { max: 1 });
  try {
    return await run(prisma);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const where = new URL(url);
    throw new CliError(
      `Cannot use the database at ${where.host}${where.pathname} (${(error as Error).message.split('\n').filter(Boolean).at(-1)}). Set DATABASE_URL to SyncFlow's database.`,
    );
  } finally {
    await prisma.$disconnect();
  }
}

export function registerKeys(program: Command) {
  const keys = program.command('keys').description('API keys (talks to the database through DATABASE_URL)');

  keys
    .command('create')
    .description('Create an API key; it is printed once and stored only as a hash')
    .argument('<name>', 'who or what the key is for')
    .addOption(
      new Option(
        '--role <role>',
        'viewer: read status, history, metrics, events; operator: also run syncs, replay, see record data; admin: also entities, connections',
      )
        .choices(apiKeyRoles)
        .default('viewer'),
    )
    .action(async (name: string, opts: { role: ApiKeyRole }) => {
      const key = await withDatabase((prisma) => createApiKey(prisma, name, opts.role));
      print(`Created ${key.role} API key "${key.name}" (prefix ${key.prefix}). It is shown only now:`);
      print(key.key);
    });

  keys
    .command('revoke')
    .description('Revoke an API key by its prefix or uid')
    .argument('<prefixOrUid>')
    .action(async (prefixOrUid: string) => {
      const revoked = await withDatabase((prisma) => revokeApiKey(prisma, prefixOrUid));
      if (revoked.length === 0) throw new CliError(`No active API key with prefix or uid "${prefixOrUid}".`);
      for (const k of revoked) print(`Revoked API key "${k.name}" (prefix ${k.prefix}).`);
    });

  keys
    .command('list')
    .description('API keys (prefixes only; keys themselves are never stored)')
    .action(async () => {
      const all = await withDatabase((prisma) => listApiKeys(prisma));
      print(
        table(
          ['PREFIX', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'REVOKED'],
          all.map((k) => [
            k.prefix,
            k.name,
            k.role,
            k.createdAt.toISOString(),
            k.lastUsedAt?.toISOString(),
            k.revokedAt?.toISOString(),
          ]),
        ),
      );
    });
}
