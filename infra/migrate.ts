import path from 'node:path';
import pg from 'pg';
import { InfraError } from './errors.ts';
import { repoRoot } from './paths.ts';
import { run } from './process.ts';

/** The advisory lock SyncFlow's processes take turns on to migrate (hashtext of this name). */
const MIGRATE_LOCK = 'syncflow-migrate';

/**
 * Applies pending Prisma migrations (`prisma migrate deploy`) to the database at `url`.
 *
 * Processes starting together (several workers after a deploy, `npm start` and a worker) take turns on an
 * advisory lock of SyncFlow's own, held for the whole run: Prisma's own lock gives up after 10 s ("The database
 * server was reached but timed out", P1002), so without this the second of two slow starts failed.
 */
export async function migrateDatabase(url: string): Promise<void> {
  const lock = new pg.Client({ connectionString: url });
  try {
    await lock.connect();
  } catch (error) {
    throw new InfraError(
      `Applying the database migrations failed: cannot connect (${(error as Error).message}).`,
      'Check that DATABASE_URL points at a database SyncFlow may own, then run `npx prisma migrate status`.',
    );
  }
  lock.on('error', () => {}); // a dropped lock connection ends the lock; the migration itself reports its own error
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATE_LOCK]);
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
  } finally {
    await lock.end().catch(() => {}); // ends the session: the lock goes with it
  }
}
