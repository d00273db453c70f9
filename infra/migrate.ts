import path from 'node:path';
import { InfraError } from './errors.ts';
import { repoRoot } from './paths.ts';
import { run } from './process.ts';

/** Applies pending Prisma migrations (`prisma migrate deploy`) to the database at `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  const prismaCli = path.join(repoRoot, 'node_modules', 'prisma', 'build', 'index.js');
  const result = await run(process.execPath, [prismaCli, 'migrate', 'deploy'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  if (result.code !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join('\n  ');
    throw new InfraError(
      `Applying the database migrations failed:\n  ${output}`,
      'Check that DATABASE_URL points at a database SyncFlow may own, then run `npx prisma migrate status`.',
    );
  }
}
